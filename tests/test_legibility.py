"""The legibility rule: after the whole camera chain every character is at least as tall
(at its effective resolution) and as contrasty as the floors taken from real labelled
crops, or the image is drawn again; metadata.jsonl records each character's height."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers import tool
from kplate.augment import build_augmenter
from kplate.augment.camera import downscale_factor
from kplate.augment.legibility import (
    CLEAN_SHARE,
    KEEP_P,
    MAX_BLUR_SD,
    MAX_MOTION_STREAK,
    MIN_CHAR_HEIGHT_PX,
    MIN_CONTRAST,
    MIN_CONTRAST_TO_NOISE,
    NOISE_FLOOR,
    char_contrasts,
    contrasts_and_noise,
    milder_spec,
    quad_heights,
)
from kplate.augment.presets import PRESETS, SCHEMA
from kplate.cli import main
from kplate.errors import KplateError
from kplate.numbers import validate
from kplate.render import Renderer
from kplate.spec.types import EXAMPLES, PlateType

REPO = Path(__file__).resolve().parents[1]
TWO_ROW = [
    PlateType.COMMERCIAL_TWO_ROW,
    PlateType.LARGE_COMMERCIAL,
    PlateType.GREEN_REGIONAL,
    PlateType.GREEN_NATIONAL,
    PlateType.CONSTRUCTION_REGIONAL_TWO_ROW,
]
REAL_DEV = next(
    (
        p / "data" / "real_dev"
        for p in (Path("/work/shared"), REPO.parent / "shared")
        if (p / "data" / "real_dev" / "labels.csv").is_file()
    ),
    None,
)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def _plate(renderer: Renderer, plate_type: PlateType, height: int):
    return renderer.render_number(validate(EXAMPLES[plate_type], plate_type), height=height)


def _floors(record, min_height: float = MIN_CHAR_HEIGHT_PX) -> np.ndarray:
    """Each clean character's height floor: the floor, or CLEAN_SHARE of a small render."""
    corners = [
        c.quad
        or [(c.box[0], c.box[1]), (c.box[2], c.box[1]), (c.box[2], c.box[3]), (c.box[0], c.box[3])]
        for c in record.chars
    ]
    clean = quad_heights(np.asarray(corners, float))
    return np.array(
        [
            min(min_height, CLEAN_SHARE * h) if c.char.isalnum() else 0
            for c, h in zip(record.chars, clean, strict=True)
        ]
    )


def _effective(record, params) -> np.ndarray:
    """Heights from the record's warped quads, times the recorded downscale's factor."""
    heights = quad_heights(np.asarray([c.quad for c in record.chars], float))
    down = params["camera"].get("downscale")
    if down is not None:
        heights = heights * downscale_factor(down, {"plate_quad": record.plate_quad})
    return heights


def test_heavy_two_row_plates_never_leave_a_character_below_the_floors(renderer) -> None:
    augmenter = build_augmenter("heavy")
    plates = [_plate(renderer, t, 64) for t in TWO_ROW]
    redrawn = 0
    for seed in range(200):
        plate = plates[seed % len(plates)]
        image, record, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        note = params["legibility"]
        redrawn += note["attempt"] > 1
        letters = np.array([c.char.isalnum() for c in record.chars])
        heights = _effective(record, params)
        assert np.allclose(note["char_height_px"], heights, atol=0.01), seed
        assert (heights[letters] >= _floors(plate.record)[letters] - 1e-6).all(), (seed, heights)
        contrast = np.array(char_contrasts(image, [c.box for c in record.chars]))
        assert note["contrast"] == [round(float(c), 3) for c in contrast]
        assert (contrast[letters] >= MIN_CONTRAST).all(), (seed, contrast)
    assert redrawn > 20  # the floors do bite on heavy two-row plates: the test can fail


def test_contrast_reads_ink_not_grain(renderer) -> None:
    """Sensor noise alone stays under the floor on 43 px characters, a plate whose ink is
    faded to 15 % stays above it, and every clean type is far above it (the fallback)."""
    from kplate.augment.camera import noise

    plate = renderer.render("12가3456", height=64)
    boxes = [c.box for c in plate.record.chars]
    flat = np.full_like(plate.image, 128)
    faint = (128 + 0.15 * (plate.image.astype(float) - 128)).astype(np.uint8)
    for seed in range(4):
        grain = {"sigma": 0.06, "seed": seed}
        assert max(char_contrasts(noise(flat, grain, {}), boxes)) < MIN_CONTRAST
        assert min(char_contrasts(noise(faint, grain, {}), boxes)) > MIN_CONTRAST
    assert char_contrasts(flat, boxes) == [0.0] * len(boxes)
    # Far above: four times the floor. (green_national's 11 px top row measures 0.19 at
    # this height: its tall old-typeface serial digits make the median box 26 px, so the
    # image is averaged 2x2 before the percentiles are read.)
    for plate_type in PlateType:
        clean = _plate(renderer, plate_type, 48)
        letters = [c for c in clean.record.chars if c.char.isalnum()]
        contrast = min(char_contrasts(clean.image, [c.box for c in letters]))
        assert contrast > 4 * MIN_CONTRAST, plate_type


def test_the_noise_measure_reads_grain_not_strokes(renderer) -> None:
    """A sharp clean plate has next to no grain (its strokes are edges, not noise); grain
    measures in proportion to its sigma; and a faint plate under strong grain clears the
    contrast floor on the grain while its contrast-to-noise ratio is under that floor."""
    from kplate.augment.camera import noise

    plate = renderer.render("12가3456", height=64)
    boxes = [c.box for c in plate.record.chars]
    contrast, clean = contrasts_and_noise(plate.image, boxes)
    assert contrast == char_contrasts(plate.image, boxes)
    assert clean < NOISE_FLOOR
    flat = np.full_like(plate.image, 128)

    def grain(sigma: float) -> float:
        images = [noise(flat, {"sigma": sigma, "seed": k}, {}) for k in range(3)]
        return float(np.mean([contrasts_and_noise(image, boxes)[1] for image in images]))

    measured = [grain(s) for s in (0.02, 0.04, 0.08)]
    assert measured[0] > 2 * NOISE_FLOOR
    assert 1.6 < measured[1] / measured[0] < 2.4 and 1.6 < measured[2] / measured[1] < 2.4
    faint = (128 + 0.2 * (plate.image.astype(float) - 128)).astype(np.uint8)
    grainy = noise(faint, {"sigma": 0.08, "seed": 0}, {})
    contrast, grain = contrasts_and_noise(grainy, boxes)
    assert min(contrast) > MIN_CONTRAST
    assert min(contrast) / grain < MIN_CONTRAST_TO_NOISE


def _grainy_config(tmp_path, name: str, extra: str = "") -> str:
    """night's look with strong sensor grain on every image and faded ink on most."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        "preset: night\ncamera:\n  noise: {p: 1.0, sigma: [0.04, 0.1]}\n"
        "photometric:\n  fade: {p: 0.8, amount: [0.3, 0.7]}\n" + extra
    )
    return str(path)


def test_characters_drowned_in_grain_are_drawn_again(renderer, tmp_path) -> None:
    """Every kept image's letters clear the contrast-to-noise floor, as metadata.jsonl
    records it; with that floor off the same config keeps images under it."""
    held = build_augmenter(_grainy_config(tmp_path, "held"))
    loose = build_augmenter(
        _grainy_config(tmp_path, "loose", "legibility: {min_contrast_to_noise: 0}\n")
    )
    plates = [_plate(renderer, t, 64) for t in (PlateType.PRIVATE_2DIGIT, *TWO_ROW[:2])]
    redrawn, under = 0, 0
    for seed in range(60):
        plate = plates[seed % len(plates)]
        image, record, params = held(plate.image, plate.record, np.random.default_rng(seed))
        note = params["legibility"]
        letters = np.array([c.char.isalnum() for c in record.chars])
        contrast, grain = contrasts_and_noise(image, [c.box for c in record.chars])
        assert note["noise"] == round(grain, 4)
        assert note["contrast"] == [round(float(c), 3) for c in contrast]
        ratio = np.asarray(contrast)[letters] / max(grain, NOISE_FLOOR)
        assert (ratio >= MIN_CONTRAST_TO_NOISE - 1e-9).all(), (seed, ratio.min())
        redrawn += note["attempt"] > 1
        image, record, _ = loose(plate.image, plate.record, np.random.default_rng(seed))
        contrast, grain = contrasts_and_noise(image, [c.box for c in record.chars])
        under += min(np.asarray(contrast)[letters]) / max(grain, NOISE_FLOOR) < (
            MIN_CONTRAST_TO_NOISE
        )
    assert redrawn > 10 and under > 10  # the floor bites here: the test can fail


def test_without_the_rule_heavy_shrinks_top_rows_below_the_floor(renderer, tmp_path) -> None:
    """The defect the rule fixes: switched off, heavy leaves top-row characters ~3 px."""
    path = tmp_path / "off.yaml"
    off = (
        "{min_char_height_px: 0, min_contrast: 0, max_motion_streak: 0, max_blur_sd: 0, "
        "min_contrast_to_noise: 0}"
    )
    path.write_text(f"preset: heavy\nlegibility: {off}\n")
    augmenter = build_augmenter(str(path))
    plate = _plate(renderer, PlateType.COMMERCIAL_TWO_ROW, 64)
    smallest = []
    for seed in range(100):
        _, record, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        assert "legibility" not in params
        smallest.append(_effective(record, params).min())
    assert min(smallest) < 4.5 and np.mean(np.array(smallest) < MIN_CHAR_HEIGHT_PX) > 0.3


#: heavy with the wide geometry it had before issue #16's session 4 (+-15 deg rotation,
#: +-12 deg shear, margins to 0.6): small enough characters that every way to a legible
#: image (redraw, milder draw, downscale redrawn or dropped) is taken within 120 seeds.
WIDE_GEOMETRY = """preset: heavy
geometry:
  rotate: {p: 1.0, deg: [-15, 15]}
  shear: {p: 0.5, deg: [-12, 12]}
  perspective: {p: 0.8, amount: [0, 0.08]}
  scale: {p: 1.0, factor: [0.88, 1.0]}
  margin: {p: 0.9, x: [0, 0.2], y: [0, 0.6]}
"""


@pytest.mark.parametrize("preset", [*PRESETS, "heavy, wide geometry"])
def test_recorded_params_reproduce_the_bytes_also_after_redraws(renderer, preset, tmp_path) -> None:
    if preset == "heavy, wide geometry":
        (tmp_path / "wide.yaml").write_text(WIDE_GEOMETRY)
        augmenter = build_augmenter(str(tmp_path / "wide.yaml"))
    else:
        augmenter = build_augmenter(preset)
    plates = [_plate(renderer, t, 64) for t in (PlateType.GREEN_REGIONAL, PlateType.ELECTRIC)]
    kinds = set()
    for seed in range(120):
        plate = plates[seed % 2]
        image, record, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        loaded = json.loads(json.dumps(params))
        note = loaded["legibility"]
        kinds |= {"redrawn"} if note["attempt"] > 1 else set()
        kinds |= {"milder"} if "milder" in note else set()
        kinds |= {f"downscale {note['downscale']}"} if "downscale" in note else set()
        again, again_record = augmenter.apply(plate.image, plate.record, loaded)
        assert again.tobytes() == image.tobytes(), (preset, seed)
        assert again_record == record
    if preset == "heavy, wide geometry":  # every way to a legible image was replayed
        assert {"redrawn", "milder", "downscale redrawn", "downscale dropped"} <= kinds, kinds
    if preset == "heavy":
        assert {"redrawn", "downscale redrawn", "downscale dropped"} <= kinds, kinds
    if preset == "cctv":  # its downscale (22-44 px, issue #16's IR fit) is rarely redrawn
        assert {"redrawn", "milder", "downscale dropped"} <= kinds, kinds


def test_floors_that_cannot_be_met_fall_back_to_the_clean_plate(renderer, tmp_path) -> None:
    path = tmp_path / "strict.yaml"
    path.write_text("preset: heavy\nlegibility: {min_contrast: 1}\n")
    augmenter = build_augmenter(str(path))
    plate = _plate(renderer, PlateType.PRIVATE_2DIGIT, 48)
    image, record, params = augmenter(plate.image, plate.record, np.random.default_rng(5))
    assert params["legibility"]["fallback"] == "clean" and params["legibility"]["attempt"] == 17
    assert image.tobytes() == plate.image.tobytes()
    assert [c.box for c in record.chars] == [c.box for c in plate.record.chars]
    again, _ = augmenter.apply(plate.image, plate.record, json.loads(json.dumps(params)))
    assert again.tobytes() == image.tobytes()


def test_an_infrared_preset_falls_back_to_a_grey_clean_plate(renderer, tmp_path) -> None:
    path = tmp_path / "strict.yaml"
    path.write_text("preset: cctv\nlegibility: {min_char_height_px: 0, min_contrast: 1}\n")
    augmenter = build_augmenter(str(path))
    plate = _plate(renderer, PlateType.COMMERCIAL_TWO_ROW, 48)
    image, record, params = augmenter(plate.image, plate.record, np.random.default_rng(2))
    assert params["legibility"]["fallback"] == "clean"
    assert params["camera"] == {
        "infrared": {"lift": 0.0, "contrast": 1.0, "bloom": 0.0, "surround": 0.6}
    }
    assert (image[..., 0] == image[..., 2]).all()
    assert [c.box for c in record.chars] == [c.box for c in plate.record.chars]
    contrast = char_contrasts(image, [c.box for c in record.chars])
    assert min(contrast) > 0.2  # the fallback is legible


def test_a_config_changes_the_floors(renderer, tmp_path) -> None:
    path = tmp_path / "tall.yaml"
    path.write_text("preset: heavy\nlegibility:\n  min_char_height_px: 14\n")
    augmenter = build_augmenter(str(path))
    assert augmenter.spec["legibility"] == {"min_char_height_px": 14.0}
    plate = _plate(renderer, PlateType.COMMERCIAL_TWO_ROW, 110)
    floors = _floors(plate.record, 14)
    letters = floors > 0
    assert floors[letters].min() == 14  # the 110 px render's top row is taller than 14/0.8
    lowest = []
    for seed in range(60):
        _, record, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        heights = _effective(record, params)
        assert (heights[letters] >= 14 - 1e-6).all(), seed
        lowest.append(heights[letters].min())
    assert min(lowest) < 15  # and it is the floor that holds them, not the preset
    path.write_text("preset: heavy\nlegibility:\n")  # empty: the defaults
    assert build_augmenter(str(path)).spec["legibility"] == {}


def _streak_config(tmp_path, length: str, extra: str = "") -> str:
    """heavy with a motion streak on every image, of the given length range."""
    path = tmp_path / "streak.yaml"
    path.write_text(
        f"preset: heavy\ncamera:\n  motion_blur: {{p: 1.0, length: {length}, angle: [0, 0]}}\n"
        + extra
    )
    return str(path)


def _kernel(params) -> int | None:
    motion = params["camera"].get("motion_blur")
    return None if motion is None else int(motion["length"]) | 1


@pytest.mark.parametrize("plate_type", [PlateType.PRIVATE_2DIGIT, PlateType.COMMERCIAL_TWO_ROW])
def test_a_motion_streak_never_outruns_a_third_of_the_smallest_character(
    renderer, tmp_path, plate_type
) -> None:
    """A streak longer than a digit's counter runs the strokes together while the
    window's contrast stays high, so the rule holds the streak itself: redrawn from the
    part of the range that fits, or left out when none does."""
    augmenter = build_augmenter(_streak_config(tmp_path, "[3, 31]"))
    plate = _plate(renderer, plate_type, 110)
    seen = set()
    for seed in range(60):
        image, record, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        note = params["legibility"]
        letters = np.array([c.char.isalnum() for c in record.chars])
        smallest = quad_heights(np.asarray([c.quad for c in record.chars], float))[letters].min()
        kernel = _kernel(params)
        seen.add(note.get("motion_streak"))
        if kernel is not None:
            assert kernel <= MAX_MOTION_STREAK * smallest + 1e-6, (seed, kernel, smallest)
        else:
            assert note["motion_streak"] == "dropped" or "fallback" in note, seed
        again, _ = augmenter.apply(plate.image, plate.record, json.loads(json.dumps(params)))
        assert again.tobytes() == image.tobytes()
    assert "redrawn" in seen  # [3, 31] at 110 px: most draws are too long; the rule bites


def test_a_streak_range_too_long_for_the_plate_is_left_out(renderer, tmp_path) -> None:
    augmenter = build_augmenter(_streak_config(tmp_path, "[25, 31]"))
    plate = _plate(renderer, PlateType.COMMERCIAL_TWO_ROW, 110)  # top row about 25 px
    for seed in range(10):
        _, _, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        assert _kernel(params) is None and params["legibility"]["motion_streak"] == "dropped"


def test_a_config_may_let_long_streaks_through_and_short_ones_are_untouched(
    renderer, tmp_path
) -> None:
    plate = _plate(renderer, PlateType.PRIVATE_2DIGIT, 110)
    free = build_augmenter(
        _streak_config(tmp_path, "[25, 31]", "legibility: {max_motion_streak: 0}\n")
    )
    kernels = [
        _kernel(free(plate.image, plate.record, np.random.default_rng(seed))[2])
        for seed in range(10)
    ]
    assert all(k is not None and k >= 25 for k in kernels)
    # Streaks that fit are drawn as before: the same bytes with the streak held or not.
    short = build_augmenter(_streak_config(tmp_path, "[3, 5]"))
    short_free = build_augmenter(
        _streak_config(tmp_path, "[3, 5]", "legibility: {max_motion_streak: 0}\n")
    )
    for seed in range(10):
        held = short(plate.image, plate.record, np.random.default_rng(seed))
        loose = short_free(plate.image, plate.record, np.random.default_rng(seed))
        assert held[0].tobytes() == loose[0].tobytes() and "motion_streak" not in held[2]


def _blur_config(tmp_path, sigma: str, radius: str, extra: str = "") -> str:
    """heavy with a Gaussian blur and a defocus disc on every image, of the given ranges."""
    path = tmp_path / "blur.yaml"
    path.write_text(
        f"preset: heavy\ncamera:\n  blur: {{p: 1.0, sigma: {sigma}}}\n"
        f"  defocus: {{p: 1.0, radius: {radius}}}\n" + extra
    )
    return str(path)


def _smallest_letter(record) -> float:
    letters = np.array([c.char.isalnum() for c in record.chars])
    return quad_heights(np.asarray([c.quad for c in record.chars], float))[letters].min()


@pytest.mark.parametrize("plate_type", [PlateType.PRIVATE_2DIGIT, PlateType.COMMERCIAL_TWO_ROW])
def test_a_lens_blur_never_spreads_wider_than_the_longest_streak(
    renderer, tmp_path, plate_type
) -> None:
    """A Gaussian's sigma, and half a disc's radius (its spread along a line), stay
    within MAX_BLUR_SD (0.06) of the smallest character where the blur is drawn: redrawn
    from the part of the range that fits, or left out; the recorded params replay to the
    same bytes."""
    assert MAX_BLUR_SD == 0.06
    augmenter = build_augmenter(_blur_config(tmp_path, "[0.3, 5.0]", "[1, 8]"))
    plate = _plate(renderer, plate_type, 110)
    seen: dict[str, set] = {"blur": set(), "defocus": set()}
    for seed in range(40):
        image, record, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        note, camera = params["legibility"], params["camera"]
        widest = MAX_BLUR_SD * _smallest_letter(record)
        for effect in seen:
            seen[effect].add(note.get("blur", {}).get(effect))
        if "fallback" in note:
            continue
        assert "blur" in camera or note["blur"]["blur"] == "dropped", seed
        assert "defocus" in camera or note["blur"]["defocus"] == "dropped", seed
        if "blur" in camera:
            assert camera["blur"]["sigma"] <= widest + 1e-9, (seed, camera["blur"], widest)
        if "defocus" in camera:
            assert camera["defocus"]["radius"] / 2 <= widest + 1e-9, (seed, widest)
        again, _ = augmenter.apply(plate.image, plate.record, json.loads(json.dumps(params)))
        assert again.tobytes() == image.tobytes()
    # At 110 px the smallest characters are 25-60 px: sigma up to 1.5-3.6, radius 3-7.
    assert "redrawn" in seen["blur"] and "redrawn" in seen["defocus"]


def test_a_blur_range_too_wide_for_the_plate_is_left_out(renderer, tmp_path) -> None:
    augmenter = build_augmenter(_blur_config(tmp_path, "[4.0, 5.0]", "[7, 8]"))
    plate = _plate(renderer, PlateType.COMMERCIAL_TWO_ROW, 110)  # top row about 25 px
    for seed in range(10):
        _, _, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        assert "blur" not in params["camera"] and "defocus" not in params["camera"]
        assert params["legibility"]["blur"] == {"blur": "dropped", "defocus": "dropped"}


def test_a_config_may_let_wide_blurs_through_and_narrow_ones_are_untouched(
    renderer, tmp_path
) -> None:
    plate = _plate(renderer, PlateType.COMMERCIAL_TWO_ROW, 110)
    free = build_augmenter(
        _blur_config(tmp_path, "[4.0, 5.0]", "[7, 8]", "legibility: {max_blur_sd: 0}\n")
    )
    for seed in range(5):
        camera = free(plate.image, plate.record, np.random.default_rng(seed))[2]["camera"]
        assert camera["blur"]["sigma"] >= 4.0 and camera["defocus"]["radius"] >= 7
    # Blurs that fit are drawn as before: the same bytes with the blur held or not.
    # Narrow enough for any legible character (10 px or more): sigma 0.6, radius 1.
    narrow = build_augmenter(_blur_config(tmp_path, "[0.3, 0.6]", "[1, 1]"))
    narrow_free = build_augmenter(
        _blur_config(tmp_path, "[0.3, 0.6]", "[1, 1]", "legibility: {max_blur_sd: 0}\n")
    )
    for seed in range(10):
        held = narrow(plate.image, plate.record, np.random.default_rng(seed))
        loose = narrow_free(plate.image, plate.record, np.random.default_rng(seed))
        assert held[0].tobytes() == loose[0].tobytes() and "blur" not in held[2]["legibility"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("legibility: {min_char_height_px: -1}\n", "legibility.min_char_height_px (line 1)"),
        ("legibility: {min_char_height_px: 500}\n", "from 0 to 200, got 500"),
        ("legibility: {min_contrast: 1.5}\n", "legibility.min_contrast (line 1)"),
        ("legibility: {min_contrast: .nan}\n", "from 0 to 1, got nan"),
        ("legibility: {min_contrast: high}\n", "got 'high'"),
        ("legibility: {min_contrast: true}\n", "got True"),
        ("legibility: {max_motion_streak: 2}\n", "legibility.max_motion_streak (line 1)"),
        ("legibility: {max_blur_sd: 1.5}\n", "legibility.max_blur_sd (line 1)"),
        ("legibility: {min_contrast_to_noise: 150}\n", "from 0 to 100, got 150"),
        ("legibility: {min_contrast_to_noise: -2}\n", "legibility.min_contrast_to_noise (line 1)"),
        ("legibility: {min_height: 8}\n", "legibility.min_height (line 1): unknown key"),
        ("legibility: [8, 0.1]\n", "legibility (line 1): expected a mapping"),
    ],
)
def test_bad_floor_values_are_one_line_errors(tmp_path, text, expected) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KplateError) as error:
        build_augmenter(str(path))
    message = str(error.value)
    assert str(path) in message and expected in message and "\n" not in message


def test_milder_specs_stay_inside_the_preset_ranges() -> None:
    for name, spec in PRESETS.items():
        for k in (0.5, 0.25):
            milder = milder_spec(spec, k)
            for group, effects in spec.items():
                for effect, values in effects.items():
                    new = milder[group][effect]
                    # A milder cctv image is still IR; surroundings never cover a character.
                    kept = (group, effect) in KEEP_P or group == "surround"
                    assert new["p"] == pytest.approx(values["p"] * (1 if kept else k))
                    for param in SCHEMA[group][effect]:
                        if isinstance(values[param][0], str):
                            continue
                        lo, hi = values[param]
                        assert lo - 1e-9 <= new[param][0] <= new[param][1] <= hi + 1e-9, (
                            name,
                            effect,
                        )
    assert milder_spec(PRESETS["heavy"], 0.5)["camera"]["downscale"]["plate_height"] == [27.0, 40.0]


def _generate(out: Path, workers: int) -> list[dict]:
    code = main(
        [
            "generate",
            "--count",
            "24",
            "--seed",
            "4",
            "--height",
            "110",  # every two-row type's top row is above the floor when clean
            "--augment",
            "heavy",
            "--types",
            ",".join(t.value for t in TWO_ROW),
            "--format",
            "png",
            "--workers",
            str(workers),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]


def test_metadata_records_heights_that_match_the_written_image_and_workers_agree(tmp_path) -> None:
    one = _generate(tmp_path / "one", 1)
    two = _generate(tmp_path / "two", 2)
    assert one == two
    for entry in one:
        assert (tmp_path / "one" / entry["file_name"]).read_bytes() == (
            tmp_path / "two" / entry["file_name"]
        ).read_bytes()
        note = entry["augment"]["legibility"]
        quads = np.asarray([c["quad"] for c in entry["chars"]], float)
        heights = quad_heights(quads)
        boxes = np.array([c["box"][3] - c["box"][1] for c in entry["chars"]])
        # A tilted char's edges (rotation up to 15 deg plus shear up to 12) are up to
        # 1/cos(27 deg) longer than the box is high; a wide one's box (a region syllable
        # 1.3x as wide as high, turned 15 deg and sheared) is up to ~1.45x taller.
        assert (heights <= 1.13 * boxes).all() and (heights >= boxes / 1.45).all()
        down = entry["augment"]["camera"].get("downscale")
        factor = downscale_factor(down, {"plate_quad": entry["quad"]}) if down else 1.0
        assert np.allclose(note["char_height_px"], heights * factor, atol=0.03)
        image = cv2.cvtColor(
            cv2.imread(str(tmp_path / "one" / entry["file_name"])), cv2.COLOR_BGR2RGB
        )
        measured, grain = contrasts_and_noise(image, [c["box"] for c in entry["chars"]])
        assert note["contrast"] == [round(c, 3) for c in measured]
        assert note["noise"] == round(grain, 4)
        letters = [c["char"].isalnum() for c in entry["chars"]]
        assert min(h for h, ok in zip(note["char_height_px"], letters, strict=True) if ok) >= (
            MIN_CHAR_HEIGHT_PX - 1e-6
        )


# -- the measurement, on synthetic fixtures and (when present) on real_dev -----------------------


def _tool():
    return tool("measure_legibility")


FIXTURES = [
    (PlateType.PRIVATE_2DIGIT, 24, 1.0),
    (PlateType.PRIVATE_2DIGIT, 60, 0.4),
    (PlateType.PRIVATE_3DIGIT, 40, 1.0),
    (PlateType.ELECTRIC, 90, 0.7),
    (PlateType.COMMERCIAL_TWO_ROW, 80, 1.0),
    (PlateType.GREEN_REGIONAL, 110, 0.5),
    (PlateType.CONSTRUCTION_REGIONAL, 50, 1.0),
    (PlateType.GREEN_NATIONAL, 64, 0.8),
]


@pytest.mark.parametrize(("plate_type", "height", "ink"), FIXTURES)
def test_the_measuring_tool_finds_digit_heights_and_contrast_on_synthetic_crops(
    renderer, plate_type, height, ink
) -> None:
    """8 fixtures with known boxes: the plate on a grey surround, its ink faded by `ink`."""
    tool = _tool()
    plate = _plate(renderer, plate_type, height)
    grey = cv2.cvtColor(plate.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    paper = float(np.median(grey))
    grey = np.clip(paper + ink * (grey - paper), 0, 255).astype(np.uint8)
    pad = height // 5
    crop = cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=90)
    measure = tool.measure_crop(crop, plate_type)
    assert measure is not None
    digits = [c.box[3] - c.box[1] for c in plate.record.chars[-4:]]
    assert math.isclose(measure.digit_px, float(np.median(digits)), rel_tol=0.12, abs_tol=1.0)
    two_rows = tool.proportions(plate_type).two_rows
    assert two_rows == (plate_type in TWO_ROW)
    letters = [c.box[3] - c.box[1] for c in plate.record.chars if c.char.isalnum()]
    assert math.isclose(measure.smallest_px, min(letters), rel_tol=0.15, abs_tol=1.0)
    boxes = [c.box for c in plate.record.chars[-4:]]
    true = float(np.median(char_contrasts(grey, boxes)))
    assert math.isclose(measure.contrast, true, abs_tol=0.06)


@pytest.mark.slow
@pytest.mark.skipif(REAL_DEV is None, reason="shared/data/real_dev is not available")
def test_the_floors_are_what_the_tool_measures_on_real_dev(capsys) -> None:
    _tool().main(["--real", str(REAL_DEV)])
    rows = {line.split(" | ")[0].strip("| "): line for line in capsys.readouterr().out.splitlines()}
    p5 = lambda name: float(rows[name].strip("| ").split(" | ")[4])  # noqa: E731
    assert abs(p5("smallest char px (type ratio)") - MIN_CHAR_HEIGHT_PX) < 0.5
    assert abs(p5("digit contrast, lowest of the crop") - MIN_CONTRAST) < 0.005
    assert abs(p5("digit contrast over noise, lowest of the crop") - MIN_CONTRAST_TO_NOISE) < 0.5
