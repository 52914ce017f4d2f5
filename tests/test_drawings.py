"""Every type's ink boxes against the drawn ones in spec/drawings.py (issue #15 items 1-6).

Plates are rendered at about 4 px/mm (the widest size kplate draws) and each character's
ink box (its CharBox, which touches the ink on all four sides) is compared edge by edge
with the drawing, within the drawing's tolerance: 1 mm, plus half a raster pixel where
the numbers were read off a raster without printed dimensions.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kplate.render import Renderer
from kplate.spec import GEOMETRY, PlateType
from kplate.spec.drawings import DRAWINGS, Drawing, drawings_of


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def _stroke_px(mask: np.ndarray) -> float:
    """Stroke width in pixels: twice the ink area over the outline length."""
    ink = (mask >= 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(ink, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    return 2.0 * float(ink.sum()) / sum(cv2.arcLength(c, True) for c in contours)


def _render_mm(renderer: Renderer, plate_type: PlateType, text: str, *, mask: bool = False):
    geo = GEOMETRY[plate_type]
    scale = min(4.0, 2048 / geo.width)
    plate = renderer.render(
        text,
        plate_type,
        width=round(geo.width * scale),
        height=round(geo.height * scale),
        with_ink_mask=mask,
    )
    return plate, plate.record.width / geo.width, plate.record.height / geo.height


def _deviations(renderer: Renderer, drawing: Drawing) -> list[str]:
    plate, sx, sy = _render_mm(renderer, drawing.plate_type, drawing.text)
    wrong = []
    for drawn, got in zip(drawing.boxes, plate.record.chars, strict=True):
        x0, y0, x1, y1 = got.box
        rendered = {"x0": x0 / sx, "x1": x1 / sx, "y0": y0 / sy, "y1": y1 / sy}
        for edge, value in rendered.items():
            want = getattr(drawn, edge)
            if want is not None and abs(value - want) > drawing.tolerance:
                wrong.append(
                    f"{drawing.text} {got.char} {edge}: kplate {value:.1f}, drawn {want:.1f} "
                    f"({value - want:+.1f} mm)"
                )
    return wrong


def test_every_type_has_a_drawing() -> None:
    drawn = {d.plate_type for d in DRAWINGS}
    # The regional construction form is drawn by its own issue #15 item (7).
    assert drawn == set(PlateType)
    for drawing in DRAWINGS:
        assert len(drawing.boxes) == len(drawing.text)
        assert drawing.source


@pytest.mark.parametrize("drawing", DRAWINGS, ids=lambda d: f"{d.plate_type.value}-{d.text}")
def test_ink_boxes_match_the_drawing(renderer: Renderer, drawing: Drawing) -> None:
    assert _deviations(renderer, drawing) == []


def _box_mm(renderer: Renderer, plate_type: PlateType, text: str, index: int):
    plate, sx, sy = _render_mm(renderer, plate_type, text)
    x0, y0, x1, y1 = plate.record.chars[index].box
    return x0 / sx, y0 / sy, x1 / sx, y1 / sy


def test_use_syllable_starts_7mm_into_its_cell_on_the_3digit_plates(renderer: Renderer) -> None:
    """Item 1: 별표2-1 puts the syllable's ink 7.0 mm from its cell's left edge (x 199.1),
    leaving the drawn 14/31 mm gaps; centred it would start at 208.5."""
    for plate_type in (PlateType.PRIVATE_3DIGIT, PlateType.CORPORATE, PlateType.CONSTRUCTION):
        text = {PlateType.CORPORATE: "157허4568", PlateType.CONSTRUCTION: "012가4568"}
        x0 = _box_mm(renderer, plate_type, text.get(plate_type, "123가4568"), 3)[0]
        assert abs(x0 - 199.09) <= 0.5, (plate_type, x0)


def test_one_sits_at_its_drawn_offset(renderer: Renderer) -> None:
    """Item 2: the 1's ink starts 10.6 mm into a 56 mm cell (pp. 8 and 20)."""
    assert abs(_box_mm(renderer, PlateType.PRIVATE_2DIGIT, "52가3108", 4)[0] - 318.6) <= 0.6
    assert abs(_box_mm(renderer, PlateType.PRIVATE_3DIGIT, "111가1111", 0)[0] - 34.69) <= 0.6


def test_two_row_use_syllable_is_top_aligned(renderer: Renderer) -> None:
    """Item 3: 별표3's 바 is 59.7 mm high at y 73.5-133.1; 별표6's 83.2 mm at 90.0-173.2."""
    _, y0, _, y1 = _box_mm(renderer, PlateType.COMMERCIAL_TWO_ROW, "서울39바2764", 4)
    assert abs(y0 - 73.5) <= 1 and abs(y1 - 133.1) <= 1
    _, y0, _, y1 = _box_mm(renderer, PlateType.LARGE_COMMERCIAL, "서울80바2764", 4)
    assert abs(y0 - 90.0) <= 1 and abs(y1 - 173.2) <= 1


@pytest.mark.parametrize(
    ("plate_type", "text", "index", "drawn"),
    [
        (PlateType.PRIVATE_SHORT, "39나2764", 6, 37.5),
        (PlateType.LARGE_PRIVATE, "80가3018", 0, 47.3),
    ],
)
def test_condensed_digits_keep_their_stroke(
    renderer: Renderer, plate_type: PlateType, text: str, index: int, drawn: float
) -> None:
    """Item 4: the condensed digit is its drawn width and keeps the stroke weight of the
    uncondensed glyph (the 별표1 "4" keeps its 9.1 mm stroke), where squeezing thins it."""
    plate, sx, sy = _render_mm(renderer, plate_type, text, mask=True)
    x0, y0, x1, y1 = plate.record.chars[index].box
    assert abs((x1 - x0) / sx - drawn) <= 1.0
    condensed = _stroke_px(plate.ink_mask[y0:y1, x0:x1]) / sx
    regular, rx, ry = _render_mm(
        renderer, PlateType.PRIVATE_2DIGIT, "52가" + text[index] * 4, mask=True
    )
    bx0, by0, bx1, by1 = regular.record.chars[3].box
    # The same digit uncondensed on the 520x110 plate, its stroke scaled to this height.
    full = (
        _stroke_px(regular.ink_mask[by0:by1, bx0:bx1]) / rx * ((y1 - y0) / sy) / ((by1 - by0) / ry)
    )
    assert condensed >= 0.95 * full, (condensed, full)


def test_stacked_region_fills_its_drawn_box(renderer: Renderer) -> None:
    """Item 5: 별표4's stacked region is 44.4-45.3 mm wide from x 36.4."""
    x0, _, x1, _ = _box_mm(renderer, PlateType.COMMERCIAL_LONG, "서울52바3108", 0)
    assert abs(x0 - 36.4) <= 1 and abs(x1 - x0 - 44.4) <= 1


def test_green_national_top_row_is_one_centred_group(renderer: Renderer) -> None:
    """Item 6: the top row's three glyphs sit on a 53 mm pitch about the plate's centre."""
    boxes = [_box_mm(renderer, PlateType.GREEN_NATIONAL, "02가3456", i) for i in range(3)]
    centres = [(b[0] + b[2]) / 2 for b in boxes]
    assert np.allclose(np.diff(centres), 53.0, atol=1.0)
    assert abs(centres[1] - 167.5) <= 3.0
    assert all(abs(b[1] - 13.6) <= 1.5 and abs(b[3] - 52.4) <= 1.5 for b in boxes)


def test_drawings_cover_each_type_example(renderer: Renderer) -> None:
    for plate_type in PlateType:
        assert drawings_of(plate_type), plate_type


def test_green_national_serial_row_is_the_old_wide_typeface(renderer: Renderer) -> None:
    """The 2004-2006 serial digits are about 62 x 91 mm (real_dev's crops of them), not
    the notice's 46 x 82 mm; the "1" keeps its narrow width; the ink stays on the plate."""
    side = GEOMETRY[PlateType.GREEN_NATIONAL].stroke_trim * 91.0  # off each side of the ink
    boxes = [_box_mm(renderer, PlateType.GREEN_NATIONAL, "02가5018", i) for i in range(3, 7)]
    for char, (x0, y0, x1, y1) in zip("5018", boxes, strict=True):
        assert abs(y0 - (67.8 + side)) <= 1.5 and abs(y1 - (158.7 - side)) <= 1.5, char
        if char == "1":
            assert x1 - x0 < 30.0
        else:
            assert abs(x1 - x0 - (62.0 - 2 * side)) <= 1.5, char
    assert boxes[-1][2] < 335.0 - 10 and boxes[0][0] > 10
