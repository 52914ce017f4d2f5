"""`kplate fit`: an augmentation config fitted to a folder of unlabelled crops.

The "real" crops here are kplate plates made dark and blurred by a known config, so the
fit has a target whose direction is known: darker and blurrier than the `light` base.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import one_error_line, one_torch_thread
from kplate.augment.pipeline import Augmenter
from kplate.augment.presets import PRESETS, SCHEMA, load_spec, validate_spec
from kplate.cli import main
from kplate.evaluate import fit_augmentation, image_statistics, write_fit_config
from kplate.evaluate import statistics as stats
from kplate.evaluate.fit import MARKER, SEARCHED_EFFECTS, SearchSpace, _generate_config
from kplate.numbers.type_shares import NAMED_MIXES
from kplate.pipeline import GenerateConfig, PlateFactory

HEIGHT = 48
#: Dark exposure and heavy blur: what the fit is asked to find from the images alone.
TARGET = {
    "photometric": {"brightness": {"p": 1, "amount": [-0.45, -0.35]}},
    "camera": {"blur": {"p": 1, "sigma": [2.0, 2.5]}},
}
FAST = {"height": HEIGHT, "sample": 24, "check": 0, "budget_minutes": 10}


def _save_crops(folder: Path, spec: dict) -> Path:
    """24 kplate plates through `spec`, saved as PNG crops in `folder`."""
    augmenter = Augmenter(spec, "target")
    factory = PlateFactory(GenerateConfig(count=24, seed=99, height=HEIGHT))
    for index in range(24):
        plate = factory.sample(index)
        image = augmenter(plate.image, plate.record, np.random.default_rng(index))[0]
        Image.fromarray(image).save(folder / f"crop_{index:02d}.png")
    return folder


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory) -> Path:
    """24 dark, blurred kplate plates saved as PNG, with a labels.csv the fit must ignore."""
    folder = _save_crops(tmp_path_factory.mktemp("real"), validate_spec(TARGET))
    (folder / "labels.csv").write_text("file,text\nnot,read\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def fitted(real_dir):
    return fit_augmentation(real_dir, base="light", evaluations=40, **FAST)


def _centre(entry: dict, name: str) -> float:
    return (entry[name][0] + entry[name][1]) / 2


@pytest.mark.xfail(
    strict=True,
    reason="open since issue #16's merge: with the legibility rule on every candidate, 40 "
    "evaluations leave the objective at 0.95x the base and brightness widened, not moved",
)
def test_fit_moves_the_config_toward_dark_blurred_crops(fitted) -> None:
    assert fitted.objective["fitted"] < 0.6 * fitted.objective["base"]
    light = PRESETS["light"]
    photo, camera = fitted.spec["photometric"], fitted.spec["camera"]
    # Darker: the brightness range moved down from light's symmetric one.
    base_brightness = _centre(light["photometric"]["brightness"], "amount")
    assert _centre(photo["brightness"], "amount") < base_brightness - 0.1
    # Blurrier: Gaussian blur fires more often, and stronger.
    assert camera["blur"]["p"] > light["camera"]["blur"]["p"] + 0.3
    assert _centre(camera["blur"], "sigma") > _centre(light["camera"]["blur"], "sigma")
    real, base, fit = (fitted.summaries[k] for k in ("real", "base", "fitted"))
    for name in ("brightness", "sharpness", "white"):
        assert abs(fit[name]["median"] - real[name]["median"]) < abs(
            base[name]["median"] - real[name]["median"]
        ), name
    assert fitted.evaluations == 40 and not fitted.cut_by_budget
    assert fitted.real.files == 24 and fitted.real.name == "real0"


def test_fit_is_deterministic_for_a_seed(real_dir, fitted) -> None:
    again = fit_augmentation(real_dir, base="light", evaluations=40, **FAST)
    assert again.spec == fitted.spec
    assert again.objective == fitted.objective


def test_every_candidate_is_within_the_schema_limits() -> None:
    """Knobs at their bounds (and at random inside) give configs validate_spec accepts,
    over every effect that the base or some preset uses (read from SCHEMA)."""
    space = SearchSpace(PRESETS["heavy"])
    used = {
        (group, effect)
        for preset in PRESETS.values()
        for group, effects in SEARCHED_EFFECTS.items()
        for effect in preset.get(group, {})
        if effect in effects
    }
    assert {(k.group, k.effect) for k in space.knobs} == used
    assert all(effect in SCHEMA[group] for group, effect in used)
    rng = np.random.default_rng(0)
    lows = np.array([k.low for k in space.knobs])
    highs = np.array([k.high for k in space.knobs])
    # The pose and the background stay the base's; only the placement moves.
    base_geometry = validate_spec(PRESETS["heavy"])["geometry"]
    for x in [lows, highs, np.zeros(len(lows)), *(rng.uniform(lows, highs) for _ in range(50))]:
        spec = space.spec(x)
        assert spec == validate_spec(spec)
        for effect in ("rotate", "shear", "perspective", "background"):
            assert spec["geometry"][effect] == base_geometry[effect]
    assert {k.effect for k in space.knobs if k.group == "geometry"} == {
        "scale", "translate", "margin"
    }  # fmt: skip


def test_statistics_share_realism_definitions_and_measure_noise() -> None:
    from kplate.evaluate.realism import image_stats

    rng = np.random.default_rng(1)
    arrays = rng.integers(0, 256, (6, stats.HEIGHT, stats.WIDTH, 3), dtype=np.uint8)
    ours, theirs = image_statistics(arrays), image_stats(arrays)
    for name in theirs:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5)
    flat = np.full((2, stats.HEIGHT, stats.WIDTH, 3), 128.0)
    flat[0] += rng.normal(0, 0.04 * 255, flat.shape[1:3])[..., None]  # grey noise
    flat[1, ..., 0] += 40  # a colour cast, no noise
    measured = image_statistics(np.clip(flat, 0, 255).astype(np.uint8))
    assert measured["noise"][0] == pytest.approx(0.04, rel=0.15)
    assert measured["noise"][1] < 0.002
    assert list(measured["grey"]) == [1.0, 0.0]
    # detail is sharpness per contrast: halving the contrast quarters sharpness only.
    ramp = np.tile((np.arange(stats.WIDTH) % 8 < 4) * 160.0 + 40, (stats.HEIGHT, 1))
    pair = np.stack([ramp, 100 + (ramp - 100) / 2])[..., None].repeat(3, -1)
    edges = image_statistics(pair.astype(np.uint8))
    assert edges["sharpness"][0] == pytest.approx(4 * edges["sharpness"][1], rel=0.02)
    assert edges["detail"][0] == pytest.approx(edges["detail"][1], rel=0.02)
    same = stats.distances(measured, measured)
    assert all(v == 0 for v in same.values())


def test_layout_statistics_see_where_the_plate_sits() -> None:
    """A bright plate band between dark surround: a strong row profile, a dark border
    against the middle, and the sign of `balance` says which end has the surround."""
    h, w = stats.HEIGHT, stats.WIDTH
    centred = np.full((h, w), 30.0)
    centred[8:40] = 200.0
    low = np.full((h, w), 30.0)
    low[16:] = 200.0  # surround above the plate only
    flat = np.full((h, w), 120.0)
    flat[:, ::4] = 60.0  # texture, no band
    images = np.stack([centred, low, flat])[..., None].repeat(3, -1).astype(np.uint8)
    measured = image_statistics(images)
    assert measured["rows"][0] > 0.9 and measured["rows"][2] < 0.05
    assert measured["columns"][2] > 0.9 and measured["columns"][0] < 0.05
    assert measured["surround"][0] < -0.3 and measured["surround"][2] == pytest.approx(0, abs=0.05)
    assert measured["balance"][0] == pytest.approx(0, abs=1e-6)
    assert measured["balance"][1] < -0.5
    assert measured["inner"][0] == pytest.approx(0, abs=1e-6) and measured["inner"][2] > 0.1
    assert set(stats.LAYOUT) <= set(stats.FITTED)


def test_fit_moves_the_plate_placement_toward_crops_with_surround(tmp_path) -> None:
    """Real crops with a wide band of surround above and below the plate (light's own
    effects otherwise): the search moves the margin, which the layout statistics see."""
    target = validate_spec({**PRESETS["light"], "geometry": {
        **PRESETS["light"]["geometry"], "margin": {"p": 1, "x": [0.0, 0.05], "y": [0.9, 1.0]}
    }})  # fmt: skip
    result = fit_augmentation(_save_crops(tmp_path, target), base="light", evaluations=40, **FAST)
    base_margin = PRESETS["light"]["geometry"]["margin"]
    assert result.spec["geometry"]["margin"]["y"][1] > base_margin["y"][1] + 0.2
    layout = {side: np.mean([result.distances[side][n] for n in stats.LAYOUT])
              for side in ("base", "fitted")}  # fmt: skip
    assert layout["fitted"] < 0.9 * layout["base"]


def test_cli_writes_a_config_that_generate_reads(tmp_path, real_dir, capsys) -> None:
    """With the default --base auto, the search starts from the closest preset."""
    out = tmp_path / "fitted.yaml"
    argv = ["fit", "--real", str(real_dir), "--out", str(out), "--height", str(HEIGHT),
            "--sample", "8", "--check", "0", "--evaluations", "300",
            "--critic-candidates", "0"]  # fmt: skip
    assert main(argv) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith(MARKER)
    assert "fitted to: real0 (24 images" in text and str(real_dir.parent) not in text
    chosen = re.search(
        r"# base: (\w+) \(--base auto: presets ([^;]*); after one sweep ([^)]*)\)", text
    )
    scores = {n: float(v) for n, v in (p.split() for p in chosen.group(2).split(", "))}
    swept = {n: float(v) for n, v in (p.split() for p in chosen.group(3).split(", "))}
    assert set(scores) == set(PRESETS)
    assert set(swept) == set(sorted(scores, key=scores.get)[:2])  # the two closest
    assert chosen.group(1) == min(swept, key=swept.get)
    assert all(swept[n] <= scores[n] for n in swept)  # a sweep only keeps what helps
    name, spec = load_spec(str(out))
    assert name == "fitted" and spec == validate_spec(spec)
    rerun = [*argv[:-3], "2", "--base", "light", "--critic-candidates", "0"]
    assert main(rerun) == 0  # its own file may be overwritten
    assert "# base: light;" in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fitted.yaml"]
    gen = tmp_path / "gen"
    assert main(["generate", "--count", "3", "--height", str(HEIGHT), "--augment-config",
                 str(out), "--out", str(gen)]) == 0  # fmt: skip
    assert len(list(gen.rglob("*.jpg"))) == 3
    assert "wrote" in capsys.readouterr().out


def test_a_fit_from_a_config_file_finishes_and_names_it_by_its_stem(
    tmp_path, real_dir, capsys
) -> None:
    """`--base FILE.yaml`: the search starts from the file, and the stages after it (the
    base's own check, the guide) load the base again from the file, not from its stem,
    which names no preset (they failed after the search until session 46)."""
    base = tmp_path / "my_cameras.yaml"
    base.write_text("preset: light\ncamera:\n  blur: {p: 1.0, sigma: [0.5, 1.0]}\n", "utf-8")
    out = tmp_path / "cfg" / "fitted.yaml"
    out.parent.mkdir()
    argv = ["fit", "--real", str(real_dir), "--out", str(out), "--height", str(HEIGHT),
            "--sample", "8", "--check", "0", "--evaluations", "2", "--base", str(base),
            "--critic-draws", "16", "--critic-steps", "2", "--critic-guide", "1",
            "--guide-evaluations", "2"]  # fmt: skip
    with one_torch_thread():
        assert main(argv) == 0
    assert "(base my_cameras -> fitted -> with its critic); wrote" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert "\n# base: my_cameras; plate types: all;" in text
    assert "\n# guide: 2 more evaluations" in text


def test_final_check_runs_the_two_sample_test(tmp_path, real_dir, one_thread) -> None:
    result = fit_augmentation(real_dir, base="light", height=HEIGHT, sample=16, check=16,
                              evaluations=4, realism_steps=3)  # fmt: skip
    assert set(result.realism) == {"base", "fitted"}
    assert all(0 <= t["accuracy"] <= 1 and t["steps"] == 3 for t in result.realism.values())
    out = write_fit_config(result, tmp_path / "x.yml")
    assert "two-sample accuracy" in out.read_text(encoding="utf-8")


def test_interrupted_write_leaves_nothing(tmp_path, fitted, monkeypatch) -> None:
    from kplate.evaluate import fit_config

    def interrupted(spec):
        raise KeyboardInterrupt

    monkeypatch.setattr(fit_config, "load_spec", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_fit_config(fitted, tmp_path / "out.yaml")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing", "no such folder"),
        ("empty", "no images found"),
        ("no_images", "no images found"),
        ("unreadable", "readable images"),
        ("budget_zero", "--budget-minutes must be a positive"),
        ("budget_nan", "--budget-minutes must be a positive"),
        ("budget_word", "invalid float value"),
        ("foreign_out", "was not written by kplate fit"),
        ("out_folder_missing", "does not exist"),
        ("out_not_yaml", "must end in .yaml"),
        ("bad_base", "unknown augmentation preset"),
        ("bad_types", "unknown plate type"),
        ("bad_sample", "--sample must be 8 or more"),
        ("bad_share", "--infrared-share must be count, search or a share from 0 to 1, got most"),
        ("share_above_one", "--infrared-share must be count, search or a share from 0 to 1"),
    ],
)
def test_bad_inputs_are_one_line_errors_and_write_nothing(
    tmp_path, real_dir, capsys, case, expected
) -> None:
    real, out = str(real_dir), tmp_path / "out" / "fit.yaml"
    out.parent.mkdir()
    extra: list[str] = []
    if case == "missing":
        real = str(tmp_path / "nowhere")
    elif case in {"empty", "no_images", "unreadable"}:
        folder = tmp_path / case
        folder.mkdir()
        if case == "no_images":
            (folder / "labels.csv").write_text("file,text\n", encoding="utf-8")
            (folder / "notes.txt").write_text("x", encoding="utf-8")
        if case == "unreadable":
            for k in range(10):
                (folder / f"{k}.png").write_bytes(b"not a png")
        real = str(folder)
    elif case.startswith("budget"):
        extra = ["--budget-minutes", {"budget_zero": "0", "budget_nan": "nan"}.get(case, "soon")]
    elif case == "foreign_out":
        out.write_text("mine: true\n", encoding="utf-8")
    elif case == "out_folder_missing":
        out = tmp_path / "absent" / "fit.yaml"
    elif case == "out_not_yaml":
        out = out.with_suffix(".txt")
    elif case == "bad_base":
        extra = ["--base", "moody"]
    elif case == "bad_types":
        extra = ["--types", "P9"]
    elif case == "bad_sample":
        extra = ["--sample", "2"]
    elif case in {"bad_share", "share_above_one"}:
        extra = ["--infrared-share", "most" if case == "bad_share" else "1.5"]
    before = sorted(p.name for p in out.parent.iterdir()) if out.parent.is_dir() else None
    argv = ["fit", "--real", real, "--out", str(out), "--height", str(HEIGHT), "--check", "0",
            "--evaluations", "2", *extra]  # fmt: skip
    assert main(argv) == 2
    line = one_error_line(capsys, "fit")
    assert expected in line, line
    after = sorted(p.name for p in out.parent.iterdir()) if out.parent.is_dir() else None
    assert after == before
    if case == "foreign_out":
        assert out.read_text(encoding="utf-8") == "mine: true\n"


def test_budget_cut_is_recorded_and_repeatable(real_dir) -> None:
    """A budget too small for the plan stops the search; --evaluations N repeats it."""
    cut = fit_augmentation(real_dir, base="light", height=HEIGHT, sample=16, check=0,
                           budget_minutes=0.001)  # fmt: skip
    assert cut.cut_by_budget and 1 <= cut.evaluations < cut.planned
    again = fit_augmentation(real_dir, base="light", height=HEIGHT, sample=16, check=0,
                             evaluations=cut.evaluations)  # fmt: skip
    assert again.spec == cut.spec and not again.cut_by_budget
    assert math.isfinite(again.objective["fitted"])


@pytest.mark.parametrize("named", ["realistic", "Region-Rich"])
def test_fit_draws_a_named_type_mix_and_its_config_says_so(tmp_path, real_dir, named) -> None:
    """`--types realistic|region-rich` works as for generate: the search draws the mix's
    weights and the config's use line repeats the name."""
    key = named.lower()
    config = _generate_config(0, key, HEIGHT, 40)
    assert (config.types, config.weights) == NAMED_MIXES[key]()
    out = tmp_path / "fitted.yaml"
    argv = ["fit", "--real", str(real_dir), "--out", str(out), "--height", str(HEIGHT),
            "--sample", "8", "--check", "0", "--evaluations", "2", "--base", "light",
            "--types", named, "--critic-candidates", "0"]  # fmt: skip
    assert main(argv) == 0
    text = out.read_text(encoding="utf-8")
    assert f"plate types: {key};" in text
    assert f"--height {HEIGHT} --types {key}\n" in text


def test_generate_notes_a_fitted_config_drawn_at_other_types_or_height(
    tmp_path, fitted, capsys
) -> None:
    """The note names what differs from the draw the config was fitted at; a draw at the
    fitted types and height, and a config kplate fit did not write, get none."""
    config = write_fit_config(fitted, tmp_path / "mine.yaml")
    assert "; plate types: all; height: 48;" in config.read_text(encoding="utf-8")

    def note(*options: str) -> str:
        out = tmp_path / f"gen{len(list(tmp_path.iterdir()))}"
        argv = ["generate", "--count", "2", "--augment-config", str(config), *options]
        assert main([*argv, "--out", str(out)]) == 0
        return capsys.readouterr().err

    assert note("--height", str(HEIGHT)) == ""
    types = note("--height", str(HEIGHT), "--types", "realistic")
    assert types.splitlines() == [
        f"note: {config}: drawn at --types realistic (fitted at all); it matches the real "
        "crops at the types and height it was fitted at (docs/fit.md)"
    ]
    both = note("--height", "64", "--types", "private_2digit")
    assert "--types private_2digit (fitted at all) and --height 64 (fitted at 48)" in both
    assert "(fitted at 48)" in note()  # generate's default height is 110
    plain = tmp_path / "plain.yaml"
    plain.write_text(config.read_text(encoding="utf-8").replace(MARKER, "# mine"), "utf-8")
    config = plain
    assert note("--types", "realistic") == ""


#: Half the crops from an infrared camera, half from a colour one (light's effects).
INFRARED_ON = validate_spec({**PRESETS["light"], "camera": {
    **PRESETS["light"]["camera"], "infrared": {**PRESETS["cctv"]["camera"]["infrared"], "p": 1.0}
}})  # fmt: skip


@pytest.fixture(scope="module")
def half_infrared(tmp_path_factory) -> Path:
    """24 crops of which the first 12 are greyscale (infrared) and the rest colour."""
    folder = tmp_path_factory.mktemp("half_ir")
    _save_crops(folder, validate_spec(PRESETS["light"]))
    for index in range(12):  # overwrite the first twelve with infrared draws
        (folder / f"crop_{index:02d}.png").unlink()
    grey = _save_crops(tmp_path_factory.mktemp("grey"), INFRARED_ON)
    for index in range(12):
        (grey / f"crop_{index:02d}.png").rename(folder / f"crop_{index:02d}.png")
    return folder


def _grey_share(spec: dict, count: int = 24) -> float:
    """The share of greyscale images among `count` plates drawn through `spec`."""
    config = _generate_config(0, None, HEIGHT, count)
    from kplate.evaluate.fit import Sampler

    return float(image_statistics(Sampler(config, range(count)).arrays(spec))["grey"].mean())


def test_the_infrared_share_is_counted_from_the_real_crops(tmp_path, half_infrared) -> None:
    """Counted: the share at which the draws come out greyscale as often as the real crops
    (on x p + off x (1 - p)), which the search then leaves alone; the header says so."""
    real_grey = image_statistics(stats.read_folder(sorted(half_infrared.iterdir()))[0])["grey"]
    result = fit_augmentation(half_infrared, base="light", evaluations=6, **FAST)
    share = result.infrared
    assert share.mode == "count" and share.real_grey == pytest.approx(real_grey.mean())
    assert share.grey_on == 1.0 and share.grey_off < 0.3  # light's draws are mostly colour
    assert 0.35 < share.p < 0.65  # half the crops are infrared
    expected = (share.real_grey - share.grey_off) / (share.grey_on - share.grey_off)
    assert share.p == pytest.approx(expected, abs=5e-4)
    assert result.spec["camera"]["infrared"]["p"] == share.p
    # light has no infrared: the effect comes in, with every parameter's range.
    assert set(result.spec["camera"]["infrared"]) == {"p", *SCHEMA["camera"]["infrared"]}
    drawn = _grey_share(result.spec, 48)
    assert abs(drawn - share.real_grey) < 0.2
    text = write_fit_config(result, tmp_path / "ir.yaml").read_text(encoding="utf-8")
    assert (
        f"# infrared share: {share.p:g} of the plates, counted (--infrared-share count): " in text
    )
    assert f"{share.real_grey:.1%} of the real crops are greyscale" in text


def test_the_infrared_share_can_be_given_or_searched(half_infrared) -> None:
    given = fit_augmentation(half_infrared, base="cctv", evaluations=6, infrared_share=0.3, **FAST)
    assert given.infrared.mode == "given" and given.spec["camera"]["infrared"]["p"] == 0.3
    searched = fit_augmentation(half_infrared, base="cctv", evaluations=3,
                                infrared_share="Search", **FAST)  # fmt: skip
    assert searched.infrared.mode == "search" and searched.infrared.p is None


def test_a_pinned_probability_is_no_knob_and_its_ranges_rest_while_it_is_off() -> None:
    from kplate.evaluate.fit import INFRARED, with_infrared

    free = SearchSpace(PRESETS["cctv"])
    pinned = SearchSpace(with_infrared(PRESETS["cctv"], 0.0), frozenset({INFRARED}))
    names = {k.name for k in free.knobs} - {k.name for k in pinned.knobs}
    assert names == {"camera.infrared.p"}
    x = np.zeros(len(pinned.knobs))
    assert pinned.spec(x)["camera"]["infrared"]["p"] == 0.0
    from kplate.evaluate.fit import _Budget, _CoordinateSearch

    search = _CoordinateSearch("cctv", pinned, lambda spec: 0.0, 0, _Budget(None, math.inf),
                               lambda _: None)  # fmt: skip
    lift = next(k for k in pinned.knobs if k.effect == "infrared" and k.param == "lift")
    assert search._off(x, lift)  # infrared never fires: its ranges are not tried
