"""Issue #15 item 11: characters pressed as the plates are (ink on a narrower raised face,
a light bevel all round, a shadow beyond), flat film plates, and colour ranges."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from kplate.cli import main
from kplate.io.manifest import read_metadata
from kplate.numbers import validate
from kplate.pipeline import GenerateConfig, generate
from kplate.render import render_plate
from kplate.render.plate import RenderedPlate, Renderer
from kplate.spec import PlateType, colors

#: 3.6 px/mm on a 520 x 110 plate: the 0.6 mm bevel of the default depth is 2.2 px.
HEIGHT = 400
PX_PER_MM = HEIGHT / 110
BEVEL_MM = 0.6


def luminance(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])


def draw(text: str, plate_type: str, renderer: Renderer | None = None) -> RenderedPlate:
    number = validate(text, plate_type)
    return (renderer or Renderer()).render_number(number, height=HEIGHT, with_ink_mask=True)


def stem_runs(plate: RenderedPlate, ink: tuple[int, int, int], plate_rgb) -> list[tuple[int, int]]:
    """(outline width, dark-face width) in px along the middle row of each "1" box."""
    lum = luminance(plate.image)
    dark = lum < (luminance(np.uint8([ink]))[0] + luminance(np.uint8([plate_rgb]))[0]) / 2
    runs = []
    for char in plate.record.chars:
        if char.char != "1":
            continue
        x0, y0, x1, y1 = char.box
        row = (y0 + y1) // 2 + (y1 - y0) // 6  # below the flag: the stem alone
        outline = plate.ink_mask[row, x0:x1] >= 0.5
        runs.append((int(outline.sum()), int(dark[row, x0:x1].sum())))
    return runs


def test_the_dark_face_is_narrower_than_the_labelled_stroke_by_the_bevel() -> None:
    plate = draw("11가1111", "private_2digit")
    runs = stem_runs(plate, colors.PURPLISH_BLACK, colors.PINKISH_WHITE)
    assert len(runs) == 6
    for outline, face in runs:
        # The outline is the drawn 9.7 mm stem; the face loses a bevel on each side.
        assert outline == pytest.approx(9.7 * PX_PER_MM, abs=2)
        assert outline - face == pytest.approx(2 * BEVEL_MM * PX_PER_MM, abs=1.5)


def test_the_label_box_is_the_full_pressed_outline() -> None:
    pressed = draw("12가3456", "private_2digit")
    flat = draw("12가3456", "private_2digit", Renderer(emboss_depth_mm=0))
    assert [c.box for c in pressed.record.chars] == [c.box for c in flat.record.chars]
    assert np.array_equal(pressed.ink_mask, flat.ink_mask)


def _rims(plate: RenderedPlate) -> dict[str, list[float]]:
    """Mean luminance of the outermost fully inked pixels of the outline (inside the
    bevel) on each side of every character, from scans across its middle half."""
    sides: dict[str, list[float]] = {"left": [], "right": [], "top": [], "bottom": []}
    lum = luminance(plate.image)
    for char in plate.record.chars:
        x0, y0, x1, y1 = char.box
        inside = plate.ink_mask[y0:y1, x0:x1] >= 0.99
        depth = cv2.distanceTransform(np.pad(inside, 1).astype(np.uint8), cv2.DIST_L2, 5)
        rim = ((depth >= 1.0) & (depth < 1.5))[1:-1, 1:-1]
        patch = lum[y0:y1, x0:x1]
        h, w = inside.shape
        found = {k: [] for k in sides}
        for r in range(h // 4, 3 * h // 4):
            xs = np.flatnonzero(rim[r])
            if xs.size:
                found["left"].append(patch[r, xs[0]])
                found["right"].append(patch[r, xs[-1]])
        for c in range(w // 4, 3 * w // 4):
            ys = np.flatnonzero(rim[:, c])
            if ys.size:
                found["top"].append(patch[ys[0], c])
                found["bottom"].append(patch[ys[-1], c])
        for k, values in found.items():
            sides[k].append(float(np.mean(values)))
    return sides


@pytest.mark.parametrize(
    ("text", "plate_type", "body"),
    [
        ("서울52바3108", "commercial_long", colors.YELLOW),
        ("12가3456", "private_2digit", colors.PINKISH_WHITE),
    ],
)
def test_a_bevel_lighter_than_the_plate_surrounds_each_character(text, plate_type, body) -> None:
    plate = draw(text, plate_type)
    body_lum = float(luminance(np.uint8([body]))[0])
    sides = _rims(plate)
    for side, values in sides.items():
        assert len(values) == len(text)
        # Lighter all round (on main the right and bottom rims were ink, ~60-100) ...
        assert np.mean(values) > body_lum + 5, (side, values, body_lum)
        assert min(values) > body_lum - 3, (side, values, body_lum)
    # Sides facing the light (top left) are brighter than those facing away.
    assert np.mean(sides["top"]) > np.mean(sides["bottom"])
    assert np.mean(sides["left"]) > np.mean(sides["right"])


def _outside_pixels(plate: RenderedPlate, pad: int) -> np.ndarray:
    """The pixels around each character (its box grown by `pad`) that its ink misses."""
    picked = []
    for char in plate.record.chars:
        x0, y0, x1, y1 = char.box
        ys, xs = slice(y0 - pad, y1 + pad), slice(x0 - pad, x1 + pad)
        outside = plate.ink_mask[ys, xs] == 0
        picked.append(plate.image[ys, xs][outside])
    return np.concatenate(picked)


def test_depth_zero_is_flat() -> None:
    plate = draw("12가3456", "private_2digit", Renderer(emboss_depth_mm=0))
    outside = _outside_pixels(plate, 4)
    assert (outside == np.uint8(colors.PINKISH_WHITE)).all()
    # ... and the pressed plate does differ there: bevel light and shadow.
    pressed = _outside_pixels(draw("12가3456", "private_2digit"), 4)
    assert (pressed != np.uint8(colors.PINKISH_WHITE)).any(axis=1).sum() > 1000


@pytest.mark.parametrize("plate_type", ["private_3digit_film", "electric"])
def test_film_plates_are_flat(plate_type: str) -> None:
    text = {"private_3digit_film": "123가4568", "electric": "52가3108"}[plate_type]
    pressed = draw(text, plate_type)
    flat = draw(text, plate_type, Renderer(emboss_depth_mm=0))
    assert np.array_equal(pressed.image, flat.image)
    if plate_type == "private_3digit_film":
        assert (_outside_pixels(pressed, 4) == np.uint8(colors.FILM_WHITE)).all()


def test_depth_is_checked() -> None:
    with pytest.raises(Exception, match="emboss_depth_mm must be 0 to 5 mm"):
        Renderer(emboss_depth_mm=-1)
    with pytest.raises(Exception, match="emboss_depth_mm"):
        GenerateConfig(emboss_depth_mm=float("nan"))


def _body_colour(image: np.ndarray) -> tuple[int, ...]:
    """The most common colour: the plain plate body."""
    values, counts = np.unique(image.reshape(-1, 3), axis=0, return_counts=True)
    return tuple(int(v) for v in values[counts.argmax()])


def test_generate_draws_recorded_shades_within_the_range_and_repeats_them() -> None:
    config = GenerateConfig(
        count=48, types=(PlateType.COMMERCIAL_LONG, PlateType.PRIVATE_2DIGIT), seed=11
    )
    first = [(image.tobytes(), entry) for image, entry in generate(config)]
    again = [(image.tobytes(), entry) for image, entry in generate(config)]
    assert first == again
    seen: dict[str, set[int]] = {"commercial_long": set(), "private_2digit": set()}
    for (_data, entry), sample in zip(first, generate(config), strict=True):
        nominal = colors.YELLOW if entry["type"] == "commercial_long" else colors.PINKISH_WHITE
        shade = entry["colour"]["shade"]
        assert 0 <= shade < colors.SHADE_COUNT
        assert tuple(entry["colour"]["background"]) == colors.shade(nominal, shade)
        assert _body_colour(sample.image) == colors.shade(nominal, shade)
        seen[entry["type"]].add(shade)
    assert all(len(shades) >= 4 for shades in seen.values()), seen
    # render_plate keeps the regulation's nominal colour.
    assert _body_colour(render_plate("서울52바3108", height=110).image) == colors.YELLOW
    assert _body_colour(render_plate("12가3456", height=110).image) == colors.PINKISH_WHITE
    lemon = colors.shade(colors.YELLOW, colors.SHADE_COUNT - 1)
    assert colors.shade(colors.YELLOW, 0) == colors.YELLOW_GOLD
    assert lemon == colors.YELLOW_LEMON
    # Gold to lemon: the hue turns from amber to a greener yellow, keeping its brightness.
    assert lemon[1] / lemon[0] > 0.85 > 0.76 > colors.YELLOW[1] / colors.YELLOW[0]


def test_colours_without_a_range_and_nominal_runs() -> None:
    assert colors.shade(colors.GREEN, 5) == colors.GREEN
    config = GenerateConfig(count=6, types=(PlateType.COMMERCIAL_LONG,), colour_shades=False)
    for image, entry in generate(config):
        assert entry["colour"] == {"background": list(colors.YELLOW), "shade": None}
        assert _body_colour(image) == colors.YELLOW


def test_cli_records_depth_and_shades(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["generate", "--count", "5", "--types", "commercial_long", "--out", str(out)]
    assert main([*args, "--emboss-depth", "1.3", "--progress", "False"]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["emboss_depth_mm"] == 1.3
    assert run["config"]["colour_shades"] is True
    entries = read_metadata(out / "metadata.jsonl")
    assert all(0 <= e["colour"]["shade"] < colors.SHADE_COUNT for e in entries)
    assert (
        main([*args[:-1], str(tmp_path / "bad"), "--emboss-depth", "9", "--progress", "False"]) == 2
    )
