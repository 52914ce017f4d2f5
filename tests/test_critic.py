"""The realism critic: a fitted config draws several camera looks of each plate and keeps
the one that a CNN trained on the real crops finds most real-like; labels stay exact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import one_error_line, one_torch_thread
from kplate.augment.critic import (
    MARKER,
    Critic,
    load_network,
    save_weights,
    squeeze,
    written_by_kplate,
)
from kplate.augment.pipeline import build_augmenter
from kplate.augment.presets import load_spec
from kplate.cli import main
from kplate.errors import KplateError
from kplate.evaluate.critic_fit import draw_arrays, train_critic
from kplate.pipeline import GenerateConfig, PlateFactory

HEIGHT = 48
PLATES = 24


@pytest.fixture(scope="module")
def dark_critic(tmp_path_factory) -> tuple[Path, float]:
    """A critic taught that real crops are the light preset's draws made 4x darker."""
    folder = tmp_path_factory.mktemp("critic")
    drawn = draw_arrays(load_spec("light")[1], GenerateConfig(count=1, height=HEIGHT), 64)
    real = (drawn // 4).astype(np.uint8)
    with one_torch_thread():  # the same weights whatever thread count earlier tests left
        model, accuracy = train_critic(real, drawn, steps=60, seed=0)
    path = folder / "dark.critic.npz"
    save_weights(model, path)
    return path, accuracy


def _config(folder: Path, critic: str | None) -> Path:
    """dark.yaml in `folder`: light with a wide brightness range, and `critic` (if any)."""
    path = folder / "dark.yaml"
    path.write_text(
        "preset: light\n"
        "photometric:\n"
        "  brightness: {p: 1.0, amount: [-0.4, 0.3]}\n"
        + ("" if critic is None else f"critic: {critic}\n"),
        encoding="utf-8",
    )
    return path


def _draws(spec: str, count: int = PLATES) -> list[tuple[np.ndarray, dict]]:
    factory = PlateFactory(GenerateConfig(count=count, seed=3, height=HEIGHT, augment=spec))
    return [tuple(factory.make(index)) for index in range(count)]


def test_the_critic_learns_its_real_crops_and_keeps_draws_that_look_like_them(
    dark_critic, tmp_path
) -> None:
    """Of 6 draws per plate the kept one is darker, on average, than a plain draw of the
    same plate, and its logit is the best or near it; the plate's text never changes.

    The choice is drawn with odds exp(temper x logit), so a near tie may go either way:
    the kept draw is ranked over all plates, not held to the top three of each (a draw
    picked at random ranks 2.5 on average, of 0-5)."""
    path, accuracy = dark_critic
    assert accuracy > 0.9
    with_critic = _config(tmp_path, f"{{file: {path}, candidates: 6, temper: 4}}")
    plain = tmp_path / "plain.yaml"
    plain.write_text(
        "\n".join(with_critic.read_text(encoding="utf-8").splitlines()[:-1]) + "\n",
        encoding="utf-8",
    )
    chosen, drawn = _draws(str(with_critic)), _draws(str(plain))
    assert [e["text"] for _, e in chosen] == [e["text"] for _, e in drawn]
    dark = np.mean([squeeze(image).mean() for image, _ in chosen])
    light = np.mean([squeeze(image).mean() for image, _ in drawn])
    assert dark < light - 10, (dark, light)
    ranks = []
    for _, entry in chosen:
        kept = entry["augment"]["critic"]
        assert len(kept["logits"]) == 6
        ranks.append(sum(logit > kept["logits"][kept["chosen"]] for logit in kept["logits"]))
    assert np.mean(ranks) < 0.75 and ranks.count(0) >= 0.75 * len(ranks), ranks
    assert all("critic" not in entry["augment"] for _, entry in drawn)


def test_a_kept_draw_is_its_params_and_a_seed_gives_the_same_bytes(dark_critic, tmp_path) -> None:
    """The recorded params reproduce the kept image and its boxes exactly, and a second
    augmenter (a fresh process's) keeps the same draw."""
    path, _ = dark_critic
    config = str(_config(tmp_path, f"{{file: {path.name}, candidates: 4}}"))
    (tmp_path / path.name).write_bytes(path.read_bytes())  # found beside the config
    factory = PlateFactory(GenerateConfig(count=4, seed=8, height=HEIGHT))
    augmenter, again = build_augmenter(config), build_augmenter(config)
    for index in range(4):
        plate = factory.sample(index)
        seed = np.random.default_rng(plate.seed)
        image, record, params = augmenter(plate.image, plate.record, seed)
        image2, record2, params2 = again(
            plate.image, plate.record, np.random.default_rng(plate.seed)
        )
        assert np.array_equal(image, image2) and params == params2
        applied, applied_record = augmenter.apply(plate.image, plate.record, params)
        assert np.array_equal(applied, image)
        assert applied_record.to_dict() == record.to_dict() == record2.to_dict()


def test_weights_round_trip_and_foreign_files_are_refused(dark_critic, tmp_path) -> None:
    path, _ = dark_critic
    assert written_by_kplate(path)
    critic = Critic(path)
    images = [np.full((30, 100, 3), value, np.uint8) for value in (20, 200)]
    first = critic.logits(images)
    assert Critic(path).logits(images) == first and first[0] > first[1]
    foreign = tmp_path / "other.npz"
    np.savez(foreign, weights=np.zeros(3))
    text = tmp_path / "text.npz"
    text.write_text("not an archive", encoding="utf-8")
    assert not written_by_kplate(foreign) and not written_by_kplate(text)
    with pytest.raises(KplateError, match="not a kplate critic"):
        load_network(foreign)
    with pytest.raises(KplateError, match="cannot read"):
        load_network(text)
    assert MARKER not in np.load(foreign).files


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("{file: absent.npz}", "critic.file (line 4): no such file"),
        (
            "{file: dark.critic.npz, candidates: 1}",
            "critic.candidates (line 4): expected a whole number from 2 to 32, got 1",
        ),
        ("{file: dark.critic.npz, temper: 0}", "critic.temper (line 4): expected a number above 0"),
        ("{file: dark.critic.npz, size: 3}", "critic.size (line 4): unknown key"),
        ("yes", "critic (line 4): expected a mapping"),
    ],
)
def test_bad_critic_sections_are_one_line_errors_naming_the_line(
    dark_critic, tmp_path, capsys, section, expected
) -> None:
    path, _ = dark_critic
    (tmp_path / path.name).write_bytes(path.read_bytes())
    config = _config(tmp_path, section)
    with pytest.raises(KplateError, match="critic"):
        load_spec(str(config))
    out = tmp_path / "gen"
    argv = ["generate", "--count", "2", "--height", str(HEIGHT), "--augment-config", str(config)]
    assert main([*argv, "--out", str(out)]) == 2
    line = one_error_line(capsys, "generate")
    assert expected in line and str(config) in line, line
    assert not out.exists()


def test_fit_trains_a_critic_beside_its_config_and_generate_draws_through_it(
    tmp_path, capsys
) -> None:
    """`kplate fit` writes NAME.critic.npz beside NAME.yaml, names it in the config (by
    name, so the pair can move together) and says how it was trained; a foreign file in
    the critic's place stops the fit before anything is written."""
    real = tmp_path / "real"
    real.mkdir()
    from PIL import Image

    for index, (image, _) in enumerate(_draws("night", 24)):
        Image.fromarray(image).save(real / f"{index}.png")
    out = tmp_path / "cfg" / "fitted.yaml"
    out.parent.mkdir()
    argv = ["fit", "--real", str(real), "--out", str(out), "--height", str(HEIGHT),
            "--sample", "8", "--check", "0", "--evaluations", "2", "--base", "light",
            "--critic-draws", "32", "--critic-steps", "5", "--critic-guide", "1", "--guide-evaluations", "3"]  # fmt: skip
    assert main(argv) == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["fitted.critic.npz", "fitted.yaml"]
    text = out.read_text(encoding="utf-8")
    assert (
        "\n# guide: 3 more evaluations scored by the statistics plus 1 x a first critic's" in text
    )
    assert "\ncritic: {file: fitted.critic.npz, candidates: 4, temper: 1.0}\n" in text
    assert "# critic: of 4 camera draws per plate, one is kept" in text
    assert "trained 5 steps on the 24 real crops against 32 draws" in text
    gen = tmp_path / "gen"
    assert main(["generate", "--count", "3", "--height", str(HEIGHT), "--augment-config",
                 str(out), "--out", str(gen)]) == 0  # fmt: skip
    entries = [json.loads(line) for line in (gen / "metadata.jsonl").read_text().splitlines()]
    assert [len(e["augment"]["critic"]["logits"]) for e in entries] == [4, 4, 4]
    assert "(base light -> fitted -> with its critic); wrote" in capsys.readouterr().out
    assert "| fitted median (distance) | with its critic median (distance)\n" in text

    mine = tmp_path / "mine"
    mine.mkdir()
    foreign = mine / "fitted.critic.npz"
    foreign.write_bytes(b"my own file")
    argv[4] = str(mine / "fitted.yaml")
    assert main(argv) == 2
    assert "was not written by kplate fit" in one_error_line(capsys, "fit")
    assert sorted(p.name for p in mine.iterdir()) == ["fitted.critic.npz"]
    assert foreign.read_bytes() == b"my own file"


def test_the_fits_check_reads_the_config_through_its_critic_as_generate_draws_it(
    tmp_path,
) -> None:
    """After the critic is trained, the final check is made again on the same plates drawn
    through it, and the header gives that side beside the fitted one. Real crops darker
    than the draws teach a critic that keeps the darker of each plate's draws, so the side
    through it is darker than the fitted config's own draws of the same plates."""
    from PIL import Image

    from kplate.evaluate.fit import WITH_CRITIC, add_critic, fit_augmentation
    from kplate.evaluate.fit_config import write_fit_config

    real = tmp_path / "real"
    real.mkdir()
    for index, (image, _) in enumerate(_draws("light", 24)):
        Image.fromarray((image // 4).astype(np.uint8)).save(real / f"{index}.png")
    base = _config(tmp_path, None)
    out = tmp_path / "cfg" / "fitted.yaml"
    out.parent.mkdir()
    with one_torch_thread():
        result = fit_augmentation(real, base=str(base), height=HEIGHT,
                                  sample=8, check=16, evaluations=2, realism_steps=3)  # fmt: skip
        assert set(result.realism) == {"base", "fitted"}
        add_critic(result, out, candidates=4, temper=1.0, draws=32, steps=60)
    assert set(result.realism) == {"base", "fitted", WITH_CRITIC}
    assert result.realism[WITH_CRITIC]["test_images"] == result.realism["fitted"]["test_images"]
    chosen = result.summaries[WITH_CRITIC]["brightness"]["median"]
    assert chosen < result.summaries["fitted"]["brightness"]["median"] - 0.02
    text = write_fit_config(result, out).read_text(encoding="utf-8")
    accuracy = result.realism[WITH_CRITIC]["accuracy"]
    assert f" -> with its critic {accuracy:.3f} (16 held out)\n" in text
    row = next(line for line in text.splitlines() if line.startswith("#   brightness: "))
    cells = row.removeprefix("#   brightness: ").split(" | ")
    distance = result.distances[WITH_CRITIC]["brightness"]
    assert len(cells) == 4 and cells[3] == f"{chosen:.4f} ({distance:.2f})"


def _grey_crops(folder: Path) -> Path:
    """Ten flat grey crops: enough for `kplate fit` to read, before it refuses an option."""
    from PIL import Image

    folder.mkdir()
    for index in range(10):
        Image.fromarray(np.full((20, 60, 3), 40 * index % 255, np.uint8)).save(
            folder / f"{index}.png"
        )
    return folder


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--critic-candidates", "1", "--critic-candidates must be 0 (no critic) or 2 to 32, got 1"),
        ("--critic-temper", "0", "--critic-temper must be above 0 and at most 4, got 0.0"),
        ("--critic-temper", "nan", "--critic-temper must be above 0 and at most 4, got nan"),
        ("--critic-draws", "3", "--critic-draws must be 16 or more, got 3"),
        ("--critic-steps", "0", "--critic-steps must be 1 or more, got 0"),
        ("--critic-guide", "-1", "--critic-guide must be 0 (no guide) or more, got -1.0"),
        ("--critic-guide", "nan", "--critic-guide must be 0 (no guide) or more, got nan"),
        ("--guide-evaluations", "0", "--guide-evaluations must be 1 or more, got 0"),
    ],
)
def test_bad_critic_options_are_one_line_errors_before_the_fit(
    tmp_path, capsys, option, value, expected
) -> None:
    real = _grey_crops(tmp_path / "real")
    out = tmp_path / "fitted.yaml"
    argv = ["fit", "--real", str(real), "--out", str(out), "--evaluations", "2", option, value]
    assert main(argv) == 2
    assert expected in one_error_line(capsys, "fit")
    assert not out.exists() and not (tmp_path / "fitted.critic.npz").exists()


def test_the_guide_without_the_critic_is_a_one_line_error(tmp_path, capsys) -> None:
    real = _grey_crops(tmp_path / "real")
    out = tmp_path / "fitted.yaml"
    argv = ["fit", "--real", str(real), "--out", str(out), "--critic-guide", "1",
            "--critic-candidates", "0"]  # fmt: skip
    assert main(argv) == 2
    line = one_error_line(capsys, "fit")
    assert "--critic-guide needs the critic; --critic-candidates 0 leaves it out" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real"]


def test_workers_draw_through_a_critic_after_this_process_ran_torch(dark_critic, tmp_path) -> None:
    """This process trained the critic (torch's threads started): forked workers would hang
    at their first convolution, so a critic's run starts its workers fresh, and two
    workers write the bytes one does."""
    path, _ = dark_critic
    config = _config(tmp_path, f"{{file: {path}, candidates: 3}}")
    digests = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        argv = ["generate", "--count", "12", "--height", str(HEIGHT), "--seed", "6",
                "--augment-config", str(config), "--workers", workers, "--out", str(out)]  # fmt: skip
        assert main(argv) == 0
        images = sorted((out / "images").rglob("*.jpg"))
        digests.append(([p.read_bytes() for p in images], (out / "metadata.jsonl").read_text()))
    assert len(digests[0][0]) == 12 and digests[0] == digests[1]


def test_the_guide_searches_on_toward_what_the_critic_finds_real(dark_critic, tmp_path) -> None:
    """Guided by a critic that takes darkened light draws for real, the search goes on
    toward darker draws: the critic's odds of "drawn" fall, the result records the guide,
    and its moves, statistics and spec are the guided config's. A weight of 0 in the
    score would leave the statistics' optimum where it was."""
    from kplate.evaluate.critic_fit import draw_arrays as draws_of
    from kplate.evaluate.fit import drawn_odds, fit_augmentation, guide_search

    path, _ = dark_critic
    real = tmp_path / "real"
    real.mkdir()
    from PIL import Image

    light = draws_of(load_spec("light")[1], GenerateConfig(count=1, height=HEIGHT), 24)
    for index, image in enumerate(light):
        Image.fromarray(image).save(real / f"{index}.png")  # light draws: the statistics fit
    result = fit_augmentation(
        real, base="light", seed=1, height=HEIGHT, sample=16, check=0, evaluations=2
    )
    searched = result.spec
    critic = load_network(path)
    with one_torch_thread():
        guide_search(result, critic, weight=5.0, evaluations=24, say=lambda _: None)
    guide = result.guide
    assert guide["weight"] == 5.0 and 1 <= guide["evaluations"] <= 24
    assert guide["drawn"][1] < guide["drawn"][0] - 0.05, guide
    assert result.spec != searched and result.objective["fitted"] == guide["statistics"][1]
    config = GenerateConfig(count=1, height=HEIGHT)
    before, after = draws_of(searched, config, 24), draws_of(result.spec, config, 24)
    assert after.mean() < before.mean() - 3, (after.mean(), before.mean())
    with one_torch_thread():
        assert drawn_odds(critic, after) < drawn_odds(critic, before)
    assert result.moves and result.distances["fitted"]
