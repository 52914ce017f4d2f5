"""The 1973-2006 green plates are lettered lighter than the notice's typeface (issue #16).

`PlateGeometry.stroke_trim` takes a share of each glyph's height off every side of its
strokes; only the two green types carry one (spec/geometry.py, docs/plate-types.md).
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np
import pytest

import kplate.render.plate as plate_module
from kplate.render.plate import Renderer, _trimmed
from kplate.spec import PlateType
from kplate.spec.geometry import OLD_GREEN_TRIM, geometry

HEIGHT = 340  # 2 px per mm on a 170 mm plate: strokes about 19 px wide


def stroke_ratio(mask: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Stroke width / box height of the ink inside one character box (2 x area / perimeter,
    the estimator that measured real crops)."""
    x0, y0, x1, y1 = box
    ink = (mask[y0:y1, x0:x1] > 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(ink, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * float(ink.sum()) / perimeter / (y1 - y0)


def draw(text: str, plate_type: PlateType, trim: float | None = None):
    """A plate with its type's own trim, or with `trim` put in its place."""
    if trim is None:
        return Renderer().render(text, plate_type, height=HEIGHT, with_ink_mask=True)
    original = geometry(plate_type)
    patched = dataclasses.replace(original, stroke_trim=trim)
    lookup = plate_module.geometry
    plate_module.geometry = lambda t: patched if t is plate_type else lookup(t)
    try:
        return Renderer().render(text, plate_type, height=HEIGHT, with_ink_mask=True)
    finally:
        plate_module.geometry = lookup


def test_only_the_old_green_types_are_trimmed() -> None:
    trimmed = {t for t in PlateType if geometry(t).stroke_trim > 0}
    assert trimmed == {PlateType.GREEN_NATIONAL, PlateType.GREEN_REGIONAL}
    assert all(0 < OLD_GREEN_TRIM[t] < 0.05 for t in trimmed)


@pytest.mark.parametrize(
    ("text", "plate_type"),
    [("81머1064", PlateType.GREEN_NATIONAL), ("서울12가3456", PlateType.GREEN_REGIONAL)],
)
def test_trimmed_strokes_are_thinner_by_the_trim_and_the_boxes_stay_tight(text, plate_type) -> None:
    trim = geometry(plate_type).stroke_trim
    light = draw(text, plate_type)
    full = draw(text, plate_type, trim=0.0)
    assert [c.char for c in light.record.chars] == [c.char for c in full.record.chars]
    for thin, drawn in zip(light.record.chars, full.record.chars, strict=True):
        # The label box shrinks with the ink, by at most the trim (and a pixel) a side.
        margin = math.ceil(trim * (drawn.box[3] - drawn.box[1])) + 1
        lo = [a - b for a, b in zip(thin.box[:2], drawn.box[:2], strict=True)]
        hi = [b - a for a, b in zip(thin.box[2:], drawn.box[2:], strict=True)]
        assert all(0 <= d <= margin for d in lo + hi), (thin, drawn)
        x0, y0, x1, y1 = thin.box
        inside = light.ink_mask[y0:y1, x0:x1]
        assert inside[0].max() > 0 and inside[-1].max() > 0  # tight: ink on all sides
        assert inside[:, 0].max() > 0 and inside[:, -1].max() > 0
    for char in full.record.chars[-4:]:  # the serial digits, the largest glyphs
        if char.char == "1":
            continue  # a bare stem: its perimeter is mostly its length, the same either way
        before = stroke_ratio(full.ink_mask, char.box)
        after = stroke_ratio(light.ink_mask, char.box)
        # Each side loses trim x height: the stroke/height ratio drops by 2 x trim.
        assert after == pytest.approx(before - 2 * trim, abs=0.006), char.char
    # The white ink covers less of the plate.
    assert light.ink_mask.sum() < 0.85 * full.ink_mask.sum()


def test_trimming_by_zero_is_the_identity_and_grows_with_the_radius() -> None:
    coverage = np.zeros((40, 30), np.float32)
    coverage[5:35, 10:20] = 1.0  # a 10 px stem
    assert _trimmed(coverage, 0.0) is coverage
    areas = [float(_trimmed(coverage, r).sum()) for r in (0.5, 1.0, 1.5, 2.0)]
    assert areas == sorted(areas, reverse=True)
    # One whole pixel off each side of a 10 x 30 stem leaves 8 x 28.
    assert _trimmed(coverage, 1.0).sum() == pytest.approx(8 * 28, abs=1.0)
