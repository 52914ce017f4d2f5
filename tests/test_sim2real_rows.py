"""The scoreboard's --row: retrain some rows, carry the others over from the last run.

A retrained row must never sit beside rows made with other settings, and a bad --row is
refused before anything is written.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path
from typing import ClassVar

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
import sim2real  # noqa: E402
from kplate.evaluate.recogniser import FORMAT_VERSION  # noqa: E402

#: The settings of the committed scoreboard run (its format: the recogniser's own).
SETTINGS = {"count": 6000, "recogniser_steps": 2000, "recogniser_format": FORMAT_VERSION,
            "seed": 0, "set_height": 110}  # fmt: skip


def _args(*rows: str, gan: bool = False, text: float = 0.0) -> argparse.Namespace:
    return argparse.Namespace(row=list(rows), gan=gan, gan_text=text)


def _scoreboard(*argv: str) -> subprocess.CompletedProcess[str]:
    """`python benchmarks/sim2real.py ARGV` as a user runs it (exit code and stderr)."""
    script = str(REPO / "benchmarks" / "sim2real.py")
    return subprocess.run(
        [sys.executable, script, *argv], capture_output=True, text=True, check=False
    )


def _last_run(results: Path, **changes: object) -> None:
    rows = [{"set": "mix", "accuracy": 0.4}, {"set": "real labels (3-fold ceiling)"}]
    last = {"when": "2026-12-01T0236Z", **SETTINGS, "test_images": 390, "rows": rows}
    results.mkdir()
    (results / "sim2real_latest.json").write_text(json.dumps({**last, **changes}))


def _kplate_copy(tmp_path: Path, monkeypatch, packages: tuple[str, ...]) -> Path:
    """A copy of some of kplate's sub-packages that the source digests read instead."""
    import shutil

    import kplate

    source, copy = Path(kplate.__file__).parent, tmp_path / "kplate"
    for package in packages:
        shutil.copytree(source / package, copy / package)
    shutil.copy(source / "__init__.py", copy / "__init__.py")
    monkeypatch.setattr(kplate, "__file__", str(copy / "__init__.py"))
    return copy


def test_rows_are_carried_over_marked_with_their_run(tmp_path, monkeypatch):
    monkeypatch.setattr(sim2real, "RESULTS", tmp_path / "results")
    _last_run(tmp_path / "results")
    wanted, carried = sim2real.chosen_rows(_args("light", "ceiling"), SETTINGS)
    assert wanted == {"light", "ceiling"}
    assert carried["test_images"] == 390
    assert carried["rows"]["mix"] == {
        "set": "mix",
        "accuracy": 0.4,
        "carried_from": "2026-12-01T0236Z",
    }


def test_the_translated_rows_name_the_text_loss_weight(tmp_path, monkeypatch):
    monkeypatch.setattr(sim2real, "RESULTS", tmp_path / "results")
    _last_run(tmp_path / "results")
    names = sim2real.gan_row_names(1.0)
    assert names == [
        "translated (CUT-lite, text 1)",
        "mix, then translated (CUT-lite, text 1)",
        "translated (CUT-lite, text 1), then mix",
    ]
    wanted, _ = sim2real.chosen_rows(_args(*names, gan=True, text=1.0), SETTINGS)
    assert wanted == set(names)
    with pytest.raises(SystemExit) as refused:  # no GAN in this run: no translated rows
        sim2real.chosen_rows(_args(names[0]), SETTINGS)
    assert refused.value.code == 2


@pytest.mark.parametrize(
    ("key", "value"),
    [("count", 500), ("recogniser_format", 3), ("set_height", 64), ("recogniser_steps", 4000)],
)
def test_rows_made_with_other_settings_are_refused(tmp_path, monkeypatch, capsys, key, value):
    monkeypatch.setattr(sim2real, "RESULTS", tmp_path / "results")
    _last_run(tmp_path / "results", **{key: value})
    with pytest.raises(SystemExit) as refused:
        sim2real.chosen_rows(_args("mix"), SETTINGS)
    assert refused.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.endswith(
        f"was made with {key} {value}, this run has {SETTINGS[key]}; run the whole scoreboard"
    )


def test_an_unknown_row_is_refused_in_one_line_before_anything_is_written(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "labels.csv").write_text("file,text,source,style\n")
    work = tmp_path / "work"
    done = _scoreboard("--real", str(real), "--work", str(work), "--row", "mix, even type")
    assert done.returncode == 2
    assert done.stderr.startswith("sim2real: --row: no row named 'mix, even type' in this run;")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not work.exists()


def test_a_run_that_recorded_no_set_height_is_not_carried(tmp_path, monkeypatch, capsys):
    """Runs up to 9 drew their sets at 64 px and did not record it."""
    monkeypatch.setattr(sim2real, "RESULTS", tmp_path / "results")
    _last_run(tmp_path / "results")
    latest = tmp_path / "results" / "sim2real_latest.json"
    last = json.loads(latest.read_text())
    del last["set_height"]
    latest.write_text(json.dumps(last))
    with pytest.raises(SystemExit):
        sim2real.chosen_rows(_args("mix"), SETTINGS)
    assert "was made with set_height None, this run has 110" in capsys.readouterr().err


def test_a_cached_set_drawn_at_another_height_is_drawn_again(tmp_path, monkeypatch):
    from PIL import Image

    out = tmp_path / "light"
    monkeypatch.setattr(sim2real, "SET_HEIGHT", 40)
    sim2real.generate(out, 3, 7, "light")
    assert Image.open(out / "images" / "000000.jpg").height == 40
    written = (out / "run.json").stat().st_mtime_ns
    sim2real.generate(out, 3, 7, "light")  # same height: the cached set is kept
    assert (out / "run.json").stat().st_mtime_ns == written
    monkeypatch.setattr(sim2real, "SET_HEIGHT", 56)
    sim2real.generate(out, 3, 7, "light")
    heights = {Image.open(path).height for path in (out / "images").iterdir()}
    assert heights == {56}
    assert json.loads((out / "run.json").read_text())["config"]["height"] == 56


def test_a_cached_set_drawn_by_other_drawing_code_is_drawn_again(tmp_path, monkeypatch):
    """A renderer or preset change must reach the scoreboard: the set's config is the same,
    but the code that drew it is not."""
    out = tmp_path / "light"
    monkeypatch.setattr(sim2real, "SET_HEIGHT", 40)
    monkeypatch.setattr(sim2real, "drawing_code_digest", lambda: "before")
    sim2real.generate(out, 3, 7, "light")
    marker = tmp_path / "light.code"
    assert marker.read_text() == "before"
    written = (out / "run.json").stat().st_mtime_ns
    sim2real.generate(out, 3, 7, "light")  # same code: kept
    assert (out / "run.json").stat().st_mtime_ns == written
    monkeypatch.setattr(sim2real, "drawing_code_digest", lambda: "after")
    sim2real.generate(out, 3, 7, "light")
    assert (out / "run.json").stat().st_mtime_ns != written
    assert marker.read_text() == "after"
    assert len(list((out / "images").iterdir())) == 3


def test_a_cached_set_drawn_from_a_config_file_that_changed_is_drawn_again(tmp_path, monkeypatch):
    """The fitted row's config is refitted in place (same path): its set must follow the
    file's content, not its name."""
    from PIL import Image

    config = tmp_path / "fitted_40px.yaml"
    config.write_text("camera:\n  blur: {p: 0.0, sigma: [0.3, 0.8]}\n")
    out = tmp_path / "fitted"
    monkeypatch.setattr(sim2real, "SET_HEIGHT", 40)
    monkeypatch.setattr(sim2real, "drawing_code_digest", lambda: "code")
    sim2real.generate(out, 2, 7, str(config))
    before = (out / "images" / "000000.jpg").read_bytes()
    written = (out / "run.json").stat().st_mtime_ns
    sim2real.generate(out, 2, 7, str(config))  # same content: kept
    assert (out / "run.json").stat().st_mtime_ns == written
    # Darker, not blurrier: at 40 px the legibility rule would leave a wide blur out.
    config.write_text(
        "camera:\n  blur: {p: 0.0, sigma: [0.3, 0.8]}\n"
        "photometric:\n  brightness: {p: 1.0, amount: [-0.3, -0.2]}\n"
    )
    sim2real.generate(out, 2, 7, str(config))
    assert (out / "images" / "000000.jpg").read_bytes() != before
    assert Image.open(out / "images" / "000000.jpg").height == 40
    assert (tmp_path / "fitted.code").read_text().startswith("code:")


def test_a_cached_fitted_config_gets_the_fits_critic_choice_and_keeps_the_rest(tmp_path):
    """A cached fitted config written with another number of draws or temper gets the
    fit's current ones in its critic line and header; every other byte (the search's
    values, the critic's file and its training) stays, and a config already current is
    not written again."""
    head = "# critic: of 4 camera draws per plate, one is kept by the odds of a CNN trained 600"
    body = "camera:\n  blur: {p: 0.2, sigma: [0.3, 0.8]}\n"
    line = "critic: {file: fitted_110px.critic.npz, candidates: 4, temper: 1.0}\n"
    config = tmp_path / "fitted_110px.yaml"
    config.write_text(f"{head}\n{body}{line}")
    sim2real.retune_critic(config, 16, 2.0)
    retuned = config.read_text()
    assert retuned == (
        "# critic: of 16 camera draws per plate, one is kept by the odds of a CNN trained 600\n"
        f"{body}critic: {{file: fitted_110px.critic.npz, candidates: 16, temper: 2.0}}\n"
    )
    written = config.stat()
    sim2real.retune_critic(config, 16, 2)  # an atomic write would give a new inode
    assert config.read_text() == retuned
    assert (config.stat().st_ino, config.stat().st_mtime_ns) == (
        written.st_ino,
        written.st_mtime_ns,
    )


def test_the_drawing_code_digest_follows_the_drawing_source(tmp_path, monkeypatch):
    copy = _kplate_copy(tmp_path, monkeypatch, sim2real.DRAWING_PACKAGES)

    def fresh_digest() -> str:  # the digest is read once per process: start anew
        sim2real.drawing_code_digest.cache_clear()
        return sim2real.drawing_code_digest()

    digest = fresh_digest()
    assert len(digest) == 16 and digest == fresh_digest()
    (copy / "cli").mkdir()
    (copy / "cli" / "extra.py").write_text("# not drawing code\n")
    assert fresh_digest() == digest
    plate = copy / "render" / "plate.py"
    plate.write_text(plate.read_text() + "\n# a renderer change\n")
    assert fresh_digest() != digest
    sim2real.drawing_code_digest.cache_clear()  # leave no copy's digest behind


def test_the_long_row_trains_more_steps_on_its_base_rows_set(tmp_path, monkeypatch):
    """The 4x-steps row is known to --row, trains LONG_STEPS_FACTOR x the recipe's steps,
    and trains and is judged on the even-types row's own images, so that the two rows
    differ only in steps; that row draws every type evenly (no weights)."""
    import kplate.evaluate

    monkeypatch.setattr(sim2real, "RESULTS", tmp_path / "results")
    _last_run(tmp_path / "results")  # not the committed run: its format may lag the code's
    wanted, _ = sim2real.chosen_rows(_args(*sim2real.LONG_ROWS), {**SETTINGS})
    assert sim2real.LONG_STEPS_FACTOR == 4
    assert wanted == {"mix, even types, 4x steps"}
    plan = [(name, [tmp_path / f"set{k}"], tmp_path / f"held{k}")
            for k, name in enumerate(sim2real.BASE_ROWS)]  # fmt: skip
    even = sim2real.BASE_ROWS.index("mix, even types")
    assert sim2real.long_rows(plan) == [
        ("mix, even types, 4x steps", [tmp_path / f"set{even}"], tmp_path / f"held{even}")
    ]
    monkeypatch.setattr(sim2real, "SET_HEIGHT", 40)
    drawn = sim2real.generate(tmp_path / "even", 3, 7, None, "all")
    assert json.loads((drawn / "run.json").read_text())["config"]["weights"] is None

    trained: list[int] = []

    class Stop(Exception):
        pass

    def train(sets, steps, seed, type_balance=0.0):
        trained.append(steps)
        raise Stop

    monkeypatch.setattr(kplate.evaluate, "train_recogniser", train)
    context = {"seed": 0, "steps": 7, "real_test": str(drawn), "work": str(tmp_path / "work")}
    for name in ("mix", "mix, even types, 4x steps", "heavy"):
        with pytest.raises(Stop):
            sim2real.run_job(("row", name, [str(drawn)], None, 0), context)
    assert trained == [7, 28, 7]


def test_the_fitted_row_is_drawn_at_the_types_it_was_fitted_at(tmp_path, monkeypatch):
    """`kplate fit` and the fitted row's sets use one type mix (up to run 36 the fit ran at
    even types and the sets were drawn at realistic shares); the other rows keep theirs."""
    import kplate.evaluate.fit
    import kplate.evaluate.fit_config

    asked: dict[str, object] = {}

    def fit_augmentation(real, **options):
        asked.update(options)
        return "result"

    def write_fit_config(result, out):
        Path(out).write_text("# kplate fit:\ncritic: {}\n")

    def add_critic(result, out, **options):
        asked["critic"] = options

    monkeypatch.setattr(kplate.evaluate.fit, "fit_augmentation", fit_augmentation)
    monkeypatch.setattr(kplate.evaluate.fit, "add_critic", add_critic)
    monkeypatch.setattr(kplate.evaluate.fit_config, "write_fit_config", write_fit_config)
    sim2real.fit(tmp_path, tmp_path, 0)
    assert asked["types"] == sim2real.row_types("fitted (kplate fit)") == "all"
    assert asked["critic"] == {"candidates": 4, "temper": 1.0}  # the fit's defaults
    assert sim2real.row_types("mix, even types") == "all"
    assert {sim2real.row_types(name) for name in ("clean", "heavy", "night", "mix")} == {
        "realistic"
    }


def test_a_cached_fitted_config_without_the_guide_is_fitted_again(tmp_path, monkeypatch):
    """With the fit's guide on, a cached fitted config whose critic came before the guide
    (session 38) is fitted again, guide and all, and one with the guide's header line is
    kept (its critic line retuned only); with the guide off (the default) a config with a
    critic is kept either way. A config fitted before the fit counted its infrared share
    (session 41) is fitted again whatever the guide."""
    import kplate.evaluate.defaults
    import kplate.evaluate.fit
    import kplate.evaluate.fit_config

    fits: list[str] = []
    monkeypatch.setattr(kplate.evaluate.fit, "fit_augmentation", lambda real, **_: "result")
    monkeypatch.setattr(kplate.evaluate.fit, "add_critic", lambda *_, **__: fits.append("fit"))
    share = "# infrared share: 0.78 of the plates, counted\n"
    critic = "critic: {file: c.npz, candidates: 4, temper: 1.0}\n"
    written = f"# kplate fit:\n{share}# guide: 150 more evaluations\n{critic}"
    monkeypatch.setattr(
        kplate.evaluate.fit_config, "write_fit_config", lambda r, out: Path(out).write_text(written)
    )
    config = tmp_path / f"fitted_{sim2real.SET_HEIGHT}px.yaml"
    searched_share = f"# kplate fit:\n{critic}"
    config.write_text(searched_share)
    sim2real.fit(tmp_path, tmp_path, 0)
    assert fits == ["fit"] and config.read_text() == written
    unguided = f"# kplate fit:\n{share}{critic}"
    config.write_text(unguided)
    sim2real.fit(tmp_path, tmp_path, 0)
    assert fits == ["fit"] and config.read_text() == unguided  # the guide is off by default
    monkeypatch.setattr(kplate.evaluate.defaults, "CRITIC_GUIDE", 1.0)
    sim2real.fit(tmp_path, tmp_path, 0)
    assert fits == ["fit", "fit"] and config.read_text() == written
    sim2real.fit(tmp_path, tmp_path, 0)
    assert fits == ["fit", "fit"] and config.read_text() == written


def _seed_run(seed: int, accuracy: float, learn: float, realism: float | None) -> dict:
    return {
        "set": "mix", "reader_seed": seed, "accuracy": accuracy, "learnability": learn,
        "realism_accuracy": realism, "realism_ci95": None if realism is None else [0.8, 0.9],
        "final_loss": 0.1 + seed, "restarts": seed % 2, "seconds": 100, "ci95": [accuracy - 0.05, accuracy + 0.05],
        "train_images": 6000, "greedy_accuracy": accuracy - 0.01, "cer": 1 - accuracy,
        "per_type": {"private_2digit": {"exact_accuracy": accuracy}},
        "error_kinds": {k: seed for k in ("length", "end_extra", "region", "hangul", "digit")},
        "reader_digest": f"{seed:016x}", "reader_reused": False,
    }  # fmt: skip


def test_a_row_of_several_reader_seeds_reports_their_medians():
    """--seeds: the median real and learnability accuracy; the other columns from the
    training whose real accuracy is the median; realism from the one that measured it."""
    runs = [_seed_run(2, 0.47, 0.90, None), _seed_run(0, 0.65, 0.91, 0.86),
            _seed_run(1, 0.53, 0.82, None)]  # fmt: skip
    row = sim2real.combine_seeds(runs)
    assert row["accuracy"] == 0.53 and row["learnability"] == 0.90
    assert row["reader_seed"] == 1 and row["error_kinds"]["region"] == 1  # the median reader
    assert row["per_type"]["private_2digit"]["exact_accuracy"] == 0.53
    assert row["realism_accuracy"] == 0.86 and row["realism_ci95"] == [0.8, 0.9]
    assert row["accuracy_range"] == [0.47, 0.65] and row["seconds"] == 300
    assert [s["reader_seed"] for s in row["seeds"]] == [0, 1, 2]
    assert [s["accuracy"] for s in row["seeds"]] == [0.65, 0.53, 0.47]
    assert [s["restarts"] for s in row["seeds"]] == [0, 1, 0]  # each training's own
    # an even count: the mean of the middle two, the columns of the lower one
    row = sim2real.combine_seeds(runs[:2])
    assert row["accuracy"] == pytest.approx(0.56) and row["reader_seed"] == 2
    # one seed: the training itself, as before --seeds
    assert sim2real.combine_seeds(runs[1:2]) == runs[1]


def test_the_table_shows_each_seed_only_when_a_row_has_several():
    one = _seed_run(0, 0.65, 0.91, 0.86)
    three = sim2real.combine_seeds(
        [one, _seed_run(1, 0.53, 0.8, None), _seed_run(2, 0.4, 0.8, None)]
    )
    plain = sim2real.markdown_table([one], ["private_2digit"])
    assert "by reader seed" not in plain
    table = sim2real.markdown_table([three, one], ["private_2digit"]).splitlines()
    head = [cell.strip() for cell in table[0].strip("|").split("|")]
    column = head.index("real % by reader seed")
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in table[2:]]
    assert cells[0][column] == "65.0 / 53.0 / 40.0" and cells[0][head.index("real %")] == "53.0"
    assert cells[1][column] == "-"


def test_the_realism_column_is_the_median_of_its_seeds_with_their_range():
    """The row keeps every realism seed's accuracy (through --seeds' combining too) and
    the table shows the median with the seeds' range; a row with one realism seed, or
    none, shows what it has."""
    measured = {**_seed_run(0, 0.65, 0.91, 0.772), "realism_accuracies": [0.81, 0.772, 0.74]}
    row = sim2real.combine_seeds([measured, _seed_run(1, 0.5, 0.9, None)])
    assert row["realism_accuracies"] == [0.81, 0.772, 0.74] and row["realism_accuracy"] == 0.772
    one = {**_seed_run(2, 0.4, 0.9, 0.8), "realism_accuracies": [0.8]}
    table = sim2real.markdown_table([row, one, _seed_run(3, 0.4, 0.9, None)], ["private_2digit"])
    lines = table.splitlines()
    head = [cell.strip() for cell in lines[0].strip("|").split("|")]
    column = head.index(f"realism (median of {sim2real.REALISM_REPEATS} seeds, range)")
    cells = [line.strip("|").split("|")[column].strip() for line in lines[2:]]
    assert cells == ["0.772 (0.74-0.81)", "0.800", "-"]


@pytest.mark.parametrize(
    ("option", "value"), [("--seeds", "0"), ("--jobs", "-1"), ("--steps", "0")]
)
def test_a_count_below_one_is_refused_in_one_line(tmp_path, option, value):
    work = tmp_path / "work"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "sim2real.py"), "--real", str(tmp_path),
         "--work", str(work), option, value],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == f"sim2real: {option} must be 1 or more, got {value}\n"
    assert not work.exists()


def test_a_malformed_option_is_refused_in_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "sim2real.py"), "--real", str(tmp_path),
         "--work", str(tmp_path / "work"), "--seeds", "three"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == "sim2real: argument --seeds: invalid int value: 'three'\n"
    assert not (tmp_path / "work").exists()


def _fake_real(folder: Path) -> Path:
    (folder / "images").mkdir(parents=True)
    for name in ("a.png", "b.png"):
        (folder / "images" / name).write_bytes(name.encode())
    rows = "file,text,source,style\nimages/a.png,12가3456,x,p\nimages/b.png,34나5678,x,p\n"
    (folder / "labels.csv").write_text(rows, encoding="utf-8")
    return folder


def test_the_ceiling_digest_follows_real_dev_the_seed_and_the_recogniser_code(
    tmp_path, monkeypatch
):
    real = _fake_real(tmp_path / "real")
    digest = sim2real.ceiling_digest(real, 0)
    assert len(digest) == 16 and digest == sim2real.ceiling_digest(real, 0)
    assert sim2real.ceiling_digest(real, 1) != digest
    (real / "images" / "b.png").write_bytes(b"another crop")
    crop_changed = sim2real.ceiling_digest(real, 0)
    assert crop_changed != digest
    labels = real / "labels.csv"
    labels.write_text(labels.read_text().replace("34나5678", "34다5678"), encoding="utf-8")
    assert sim2real.ceiling_digest(real, 0) not in (digest, crop_changed)
    # The recogniser's code: a copy of kplate whose evaluate package changes.
    copy = _kplate_copy(tmp_path, monkeypatch, ("evaluate", "spec"))
    before = sim2real.ceiling_digest(real, 0)
    (copy / "render").mkdir()
    (copy / "render" / "plate.py").write_text("# drawing code: not the ceiling's\n")
    assert sim2real.ceiling_digest(real, 0) == before
    recogniser = copy / "evaluate" / "recogniser.py"
    recogniser.write_text(recogniser.read_text() + "\n# a recipe change\n")
    assert sim2real.ceiling_digest(real, 0) != before


def test_a_whole_run_carries_over_only_a_ceiling_of_the_same_digest(tmp_path, monkeypatch):
    monkeypatch.setattr(sim2real, "RESULTS", tmp_path / "results")
    assert sim2real.same_ceiling(SETTINGS, "abc") is None  # no run yet
    ceiling = {"set": "real labels (3-fold ceiling)", "accuracy": 0.405, "ceiling_digest": "abc"}
    _last_run(tmp_path / "results", rows=[{"set": "mix", "accuracy": 0.4}, ceiling])
    kept = sim2real.same_ceiling(SETTINGS, "abc")
    assert kept == {**ceiling, "carried_from": "2026-12-01T0236Z"}
    assert sim2real.same_ceiling(SETTINGS, "other") is None
    assert sim2real.same_ceiling({**SETTINGS, "seed": 3}, "abc") is None
    # A ceiling from before the digest was recorded is trained again.
    latest = tmp_path / "results" / "sim2real_latest.json"
    old = json.loads(latest.read_text())
    old["rows"][1].pop("ceiling_digest")
    latest.write_text(json.dumps(old))
    assert sim2real.same_ceiling(SETTINGS, "abc") is None


def _held_folder(folder: Path) -> Path:
    """Three held-out records: augmented (the rule's heights, a hyphen's among them),
    augmented with one small syllable, and clean (box heights only)."""
    records = [
        {"file_name": "images/000000.jpg",
         "chars": [{"char": c, "box": [0, 0, 9, 9]} for c in "가1-2"],
         "augment": {"legibility": {"char_height_px": [25.0, 30.0, 2.0, 30.0]}}},
        {"file_name": "images/000001.jpg",
         "chars": [{"char": c, "box": [0, 0, 9, 9]} for c in "가12"],
         "augment": {"legibility": {"char_height_px": [11.0, 30.0, 30.0]}}},
        {"file_name": "images/000002.jpg",
         "chars": [{"char": "1", "box": [0, 5, 9, 45]}, {"char": "가", "box": [9, 8, 30, 30]}]},
    ]  # fmt: skip
    folder.mkdir()
    lines = [json.dumps(record, ensure_ascii=False) for record in records]
    (folder / "metadata.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_learnability_misses_count_those_of_characters_a_reader_can_resolve(tmp_path):
    held = _held_folder(tmp_path / "held")
    assert sim2real.smallest_heights(held) == {
        "000000.jpg": 25.0,  # the hyphen's 2 px is not a character
        "000001.jpg": 11.0,
        "000002.jpg": 22,  # clean: the smallest box
    }
    samples = [{"file": str(held / "images" / f"00000{k}.jpg"), "label": "가1",
                "predicted": "가1" if right else "나1"} for k, right in enumerate(
                    (False, False, True))]  # fmt: skip
    misses = sim2real.learnability_misses(samples, held)
    assert misses == {"count": 2, "legible": 1, "legible_px": 20.0}
    samples[2]["predicted"] = "가7"
    assert sim2real.learnability_misses(samples, held)["legible"] == 2


def test_the_real_split_is_scored_by_source_in_a_table_of_its_own():
    samples = [{"file": f"/x/images/{name}", "label": "가1", "predicted": pred}
               for name, pred in [("a.jpg", "가1"), ("b.jpg", "나1"), ("c.png", "가1"),
                                  ("d.png", "가1")]]  # fmt: skip
    sources = {"a.jpg": "cctv", "b.jpg": "cctv", "c.png": "phone"}
    scores = sim2real.per_source(samples, sources)
    assert scores == {
        "?": {"count": 1, "exact_accuracy": 1.0},
        "cctv": {"count": 2, "exact_accuracy": 0.5},
        "phone": {"count": 1, "exact_accuracy": 1.0},
    }
    row = {**_seed_run(0, 0.65, 0.91, 0.86), "per_source": scores}
    old = {**_seed_run(0, 0.4, 0.9, 0.8), "set": "old"}  # a row from before the column
    table = sim2real.source_table([row, old]).splitlines()
    assert table[0] == "| training set | cctv (2) % | ? (1) % | phone (1) % |"
    assert table[2].endswith("| 50.0 | 100.0 | 100.0 |")
    assert table[3] == "| old | - | - | - |"


def test_the_table_shows_how_many_learnability_misses_were_legible():
    row = {**_seed_run(0, 0.65, 0.91, 0.86),
           "learnability_misses": {"count": 36, "legible": 30, "legible_px": 20.0}}  # fmt: skip
    table = sim2real.markdown_table([row, _seed_run(1, 0.5, 0.9, 0.8)], ["private_2digit"])
    lines = table.splitlines()
    head = [cell.strip() for cell in lines[0].strip("|").split("|")]
    column = head.index("learn misses: legible (chars >= 20 px)")
    assert [line.strip("|").split("|")[column].strip() for line in lines[2:]] == ["30 of 36", "-"]


def test_the_ceiling_is_scored_by_source_on_the_test_split_only():
    # file, label, type, reading over views, best path, one view's grammar reading
    readings = [["a.jpg", "12가3456", "private_2digit", "12가3456", "12가3456", "12가3456"],
                ["b.jpg", "34나5678", "private_2digit", "34너5678", "34너5678", "34나5678"],
                ["c.jpg", "56다7890", "private_2digit", "56다7890", "56다7890", "56다7890"]]  # fmt: skip
    folds = [{"train_images": 2, "seconds": 1, "readings": readings}]
    sources = {"a.jpg": "cctv", "b.jpg": "cctv", "c.jpg": "phone"}
    row = sim2real.real_ceiling(folds, {"a.jpg", "b.jpg"}, "d", sources)
    assert row["per_source"] == {"cctv": {"count": 2, "exact_accuracy": 0.5}}
    assert row["accuracy"] == 0.5 and row["all_real_dev_accuracy"] == pytest.approx(2 / 3)
    assert row["one_view_accuracy"] == 1.0 and row["greedy_accuracy"] == 0.5
    assert sim2real.real_ceiling(folds, {"a.jpg"}, "d")["per_source"] is None


def test_a_type_balanced_run_and_a_plain_one_never_share_rows(tmp_path, monkeypatch, capsys):
    """--type-balance changes every reader: its rows (and ceiling) are not carried into a
    plain run, nor a plain run's into it; runs recorded before the option count as 0."""
    monkeypatch.setattr(sim2real, "RESULTS", tmp_path / "results")
    _last_run(tmp_path / "results", type_balance=0.5)
    balanced = {**SETTINGS, "type_balance": 0.5}
    assert sim2real.chosen_rows(_args("mix"), balanced)[1]["rows"]["mix"]["accuracy"] == 0.4
    with pytest.raises(SystemExit) as refused:
        sim2real.chosen_rows(_args("mix"), SETTINGS)
    assert refused.value.code == 2
    assert "was made with type_balance 0.5, this run has 0.0" in capsys.readouterr().err
    assert sim2real.changed_settings({**SETTINGS}, SETTINGS) == []
    assert sim2real.changed_settings({**SETTINGS}, balanced) == [("type_balance", 0.0, 0.5)]


def test_a_bad_type_balance_is_refused_in_one_line_before_anything_is_written(tmp_path):
    work = tmp_path / "work"
    done = _scoreboard("--real", str(tmp_path), "--work", str(work), "--type-balance", "1.5")
    assert done.returncode == 2
    assert done.stderr.strip() == "sim2real: --type-balance must be 0 to 1, got 1.5"
    assert not work.exists()


def _tiny_set(folder: Path, pixel: int = 0) -> Path:
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "000000.png").write_bytes(bytes([pixel, 1, 2, 3]))
    (folder / "metadata.jsonl").write_text('{"file_name": "images/000000.png"}\n')
    (folder / "run.json").write_text('{"seconds": 1.5}')
    return folder


def test_a_rows_digest_follows_its_sets_content_and_its_training(tmp_path):
    """The same content, seeds and steps give the same digest (a set drawn again, its
    timing files aside); a changed image, seed or step count gives another."""
    train, held = _tiny_set(tmp_path / "train"), _tiny_set(tmp_path / "held")
    real = _tiny_set(tmp_path / "real")
    context = {"real_test": str(real), "seed": 0, "type_balance": 0.0}
    shared = sim2real.shared_digest(context)
    first = sim2real.row_digest([train], held, shared, [0], 2000)
    (train / "run.json").write_text('{"seconds": 2.5}')  # drawn again, at another speed
    assert sim2real.row_digest([train], held, shared, [0], 2000) == first
    assert sim2real.row_digest([train], held, shared, [1], 2000) != first
    assert sim2real.row_digest([train], held, shared, [0], 8000) != first
    assert sim2real.row_digest([train], None, shared, [0], 2000) != first
    balanced = sim2real.shared_digest({**context, "type_balance": 0.5})
    assert sim2real.row_digest([train], held, balanced, [0], 2000) != first
    (train / "images" / "000000.png").write_bytes(bytes([9, 1, 2, 3]))
    assert sim2real.row_digest([train], held, shared, [0], 2000) != first
    (real / "metadata.jsonl").write_text('{"file_name": "images/000001.png"}\n')
    assert sim2real.folder_digest(real) != sim2real.folder_digest(held)


def test_a_whole_run_carries_over_only_rows_of_the_same_digest(tmp_path, monkeypatch):
    monkeypatch.setattr(sim2real, "RESULTS", tmp_path / "results")
    assert sim2real.same_rows(SETTINGS, {"mix": "abc"}) == {}  # no run yet
    rows = [{"set": "mix", "accuracy": 0.4, "row_digest": "abc"},
            {"set": "night", "accuracy": 0.6, "row_digest": "def"},
            {"set": "light", "accuracy": 0.5}]  # fmt: skip
    _last_run(tmp_path / "results", rows=rows)
    kept = sim2real.same_rows(SETTINGS, {"mix": "abc", "night": "xyz", "light": "abc"})
    assert kept == {"mix": {**rows[0], "carried_from": "2026-12-01T0236Z"}}
    assert sim2real.same_rows({**SETTINGS, "count": 100}, {"mix": "abc"}) == {}


def test_a_readers_digest_follows_its_training_not_its_reading(tmp_path, monkeypatch):
    """A reader's digest changes with its training set's content, steps, seed, type
    balance and training code (the recipe, data loading, io, spec), and not with the code
    that only reads and scores (decoding, views, reading, metrics, realism), nor with the
    drawing code."""
    train = _tiny_set(tmp_path / "train")
    copy = _kplate_copy(tmp_path, monkeypatch, ("evaluate", "spec", "io"))
    first = sim2real.reader_digest([train], 2000, 0, 0.0)
    assert len(first) == 16 and sim2real.reader_digest([train], 2000, 0, 0.0) == first
    assert sim2real.reader_digest([train], 8000, 0, 0.0) != first
    assert sim2real.reader_digest([train], 2000, 1, 0.0) != first
    assert sim2real.reader_digest([train], 2000, 0, 0.5) != first
    for reading in ("decoding.py", "metrics.py", "realism.py", "reading.py", "views.py"):
        module = copy / "evaluate" / reading
        module.write_text(module.read_text() + "\n# a reading change\n")
    assert sim2real.reader_digest([train], 2000, 0, 0.0) == first
    for training in (
        "evaluate/recogniser.py",
        "evaluate/data.py",
        "io/images.py",
        "spec/alphabet.py",
    ):
        module = copy / training
        original = module.read_text()
        module.write_text(original + "\n# a training change\n")
        assert sim2real.reader_digest([train], 2000, 0, 0.0) != first, training
        module.write_text(original)
    assert sim2real.reader_digest([train], 2000, 0, 0.0) == first
    (train / "images" / "000000.png").write_bytes(bytes([9, 1, 2, 3]))
    assert sim2real.reader_digest([train], 2000, 0, 0.0) != first


def test_a_trained_reader_is_kept_and_read_again_instead_of_trained_again(tmp_path, monkeypatch):
    """The first run trains and keeps the reader under --work/readers by its digest; the
    next run with the same training loads it (the same weights) and trains nothing; a kept
    file that does not load is trained again and replaced; another seed trains anew."""
    import torch

    import kplate.evaluate
    from kplate.evaluate.recogniser import CHARSET, CRNN, Recogniser

    trained: list[tuple[int, int]] = []

    def fake_training(sets, steps, seed, type_balance=0.0):
        trained.append((steps, seed))
        torch.manual_seed(seed)
        return Recogniser(CRNN(len(CHARSET) + 1).eval(), {"steps": steps}, [(steps, 0.5)])

    monkeypatch.setattr(kplate.evaluate, "train_recogniser", fake_training)
    monkeypatch.setattr(kplate.evaluate, "load_labelled", lambda folder: [])
    train = _tiny_set(tmp_path / "train")
    context = {"work": str(tmp_path / "work"), "type_balance": 0.0}
    reader, digest, reused = sim2real.trained_reader([train], 20, 0, context)
    kept = tmp_path / "work" / "readers" / f"{digest}.pt"
    assert (trained, reused, kept.is_file()) == ([(20, 0)], False, True)
    again, same, reused = sim2real.trained_reader([train], 20, 0, context)
    assert (trained, same, reused) == ([(20, 0)], digest, True)
    weights, loaded = reader.model.state_dict(), again.model.state_dict()
    assert all(torch.equal(weights[key], loaded[key]) for key in weights)
    assert again.history == [(20, 0.5)]
    kept.write_bytes(b"not a reader")
    _, _, reused = sim2real.trained_reader([train], 20, 0, context)
    assert (trained[-1], reused, kept.read_bytes()[:2]) == ((20, 0), False, b"PK")
    _, other, reused = sim2real.trained_reader([train], 20, 1, context)
    assert (trained[-1], reused, other != digest) == ((20, 1), False, True)


def test_only_readers_that_no_row_names_are_pruned(tmp_path):
    """After a run the readers its rows, their seeds and the ceiling's folds name stay;
    other readers go; files not named as readers are never touched."""
    rows = [
        {"set": "mix", "reader_digest": "a" * 16},
        {"set": "night", "reader_digest": "b" * 16,
         "seeds": [{"reader_digest": "b" * 16}, {"reader_digest": "c" * 16}]},
        {"set": "fitted (kplate fit)"},  # carried over from a run before reader digests
        {"set": "real labels (3-fold ceiling)", "reader_digests": ["d" * 16, "e" * 16, None]},
    ]  # fmt: skip
    keep = sim2real.reader_digests(rows)
    assert keep == {c * 16 for c in "abcde"}
    readers = tmp_path / "readers"
    readers.mkdir()
    for name in [*(c * 16 for c in "abcf"), "my_reader", "0" * 15]:
        (readers / f"{name}.pt").write_bytes(b"x")
    (readers / "notes.txt").write_text("mine")
    removed = sim2real.prune_readers(tmp_path, keep)
    assert removed == [readers / f"{'f' * 16}.pt"]
    left = sorted(path.name for path in readers.iterdir())
    assert left == sorted([*(f"{c * 16}.pt" for c in "abc"), "my_reader.pt", f"{'0' * 15}.pt",
                           "notes.txt"])  # fmt: skip


def test_the_note_says_how_many_readers_were_reused():
    """A run that read with earlier runs' readers says so, since its minutes are then not a
    whole run's; a run that trained every reader says nothing."""
    trained = {"mix": {"reader_reused": False}, "fold 0": {"reader_reused": False}}
    assert sim2real.reused_note(trained) == ""
    reused = {"mix": {"reader_reused": True},
              "night": {"seeds": [{"reader_reused": True}, {"reader_reused": False}]},
              "fold 0": {"reader_reused": True}}  # fmt: skip
    note = sim2real.reused_note(reused)
    assert note.startswith("; 3 of 4 readers reused from earlier runs")
    assert "not a whole run's" in note


def test_a_rows_realism_images_are_grouped_by_type_and_camera_and_real_source(tmp_path) -> None:
    """The realism test's groups: each synthetic plate's type, preset and camera from its
    set's manifest, each real crop's type and source (unknown sources as '?')."""
    from kplate.evaluate.data import LabelledImage
    from kplate.pipeline import GenerateConfig, WriteOptions, write_dataset
    from kplate.spec.types import PlateType

    config = GenerateConfig(count=6, seed=1, height=40, augment="cctv",
                            types=(PlateType.PRIVATE_2DIGIT, PlateType.COMMERCIAL_TWO_ROW))  # fmt: skip
    folder = tmp_path / "set"
    write_dataset(config, WriteOptions(out=folder, progress=False))
    entries = [json.loads(x) for x in (folder / "metadata.jsonl").read_text().splitlines()]
    picked = [folder / e["file_name"] for e in entries[::2]]
    real = [LabelledImage(Path(f"/x/{n}.png"), "12가3456", "private_2digit", n) for n in "ab"]
    generated, crops = sim2real.realism_groups([str(folder)], picked, real, {"a.png": "cam"})
    assert [g["type"] for g in generated] == [e["type"] for e in entries[::2]]
    assert {g["preset"] for g in generated} == {"cctv"}
    assert all(g["camera"] in {"infrared", "visible"} for g in generated)
    assert crops == [{"type": "private_2digit", "source": "cam"},
                     {"type": "private_2digit", "source": "?"}]  # fmt: skip


def _real_folder(folder: Path) -> Path:
    """Four tiny labelled crops in real_dev's layout (labels.csv: file,text,source,style)."""
    from PIL import Image

    (folder / "crops").mkdir(parents=True)
    lines = ["file,text,source,style"]
    for k, text in enumerate(["12가3456", "34나5678", "56다7890", "78라1234"]):
        Image.new("L", (64, 20), 128).save(folder / "crops" / f"{k}.png")
        lines.append(f"crops/{k}.png,{text},test,private_2digit")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


class _Stop(Exception):
    """Ends a scoreboard run under test where the test has seen what it needs."""


class _Pool:
    """A stand-in for ProcessPoolExecutor that records what a run does with its pool
    (`events`); every job it is handed fails with _Stop when the run waits for it."""

    events: ClassVar[list[str]] = []

    def __init__(self, workers, mp_context=None):
        self.events.append(f"pool of {workers}")

    def submit(self, function, job, context):
        self.events.append(f"submit {job[1]}")
        future: Future = Future()
        future.set_exception(_Stop())
        return future

    def shutdown(self, wait=True, *, cancel_futures=False):
        self.events.append(f"shutdown, cancel {cancel_futures}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _scoreboard_with_pool(tmp_path, monkeypatch, draw_sets, *argv: str) -> list[str]:
    """Run sim2real.main() on four tiny real crops with _Pool and `draw_sets` in place of
    the process pool and the fit and sets; what it did with the pool, up to _Stop."""
    monkeypatch.setattr(_Pool, "events", [])
    monkeypatch.setattr(sim2real, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(sim2real, "ProcessPoolExecutor", _Pool)
    monkeypatch.setattr(sim2real, "_draw_sets", draw_sets)
    real = tmp_path / "real"
    if not real.exists():
        _real_folder(real)
    command = ["sim2real.py", "--real", str(real), "--work", str(tmp_path / "work"), *argv]
    monkeypatch.setattr(sys, "argv", command)
    with pytest.raises(_Stop):
        sim2real.main()
    return _Pool.events


def test_the_first_fold_trains_while_the_sets_are_drawn(tmp_path, monkeypatch):
    """The ceiling's folds need no synthetic set: the first is handed to the pool before
    the fit and the sets are drawn, to train on the core that the fit leaves idle, and a
    failure while drawing cancels it (the pool is shut down, nothing left running)."""

    def draw_sets(args, real_gan, started):
        _Pool.events.append("draw sets")
        raise _Stop

    for jobs, early in ((2, ["submit fold 0"]), (3, ["submit fold 0", "submit fold 1"]), (1, [])):
        events = _scoreboard_with_pool(tmp_path, monkeypatch, draw_sets, "--jobs", str(jobs))
        assert events == [f"pool of {jobs}", *early, "draw sets", "shutdown, cancel True"]


@pytest.mark.parametrize("long", [False, True])
def test_the_long_row_trains_only_with_long(tmp_path, monkeypatch, long):
    """A whole run trains every base row and the ceiling's folds; the 4x-steps row (32
    core-minutes, a quarter of a whole run's training) only with --long."""

    def draw_sets(args, real_gan, started):
        plan = [(name, [tmp_path / f"set{k}"], tmp_path / f"held{k}")
                for k, name in enumerate(sim2real.BASE_ROWS)]  # fmt: skip
        return plan + sim2real.long_rows(plan), None, set(), None, None, None

    monkeypatch.setattr(sim2real, "folder_digest", lambda folder: "same")
    argv = ["--fresh", *(["--long"] if long else [])]
    events = _scoreboard_with_pool(tmp_path, monkeypatch, draw_sets, *argv)
    submitted = [event.removeprefix("submit ") for event in events if event.startswith("submit")]
    folds = [f"fold {k}" for k in range(sim2real.FOLDS)]
    assert sorted(submitted) == sorted([*sim2real.BASE_ROWS, *folds]
                                       + (list(sim2real.LONG_ROWS) if long else []))  # fmt: skip
