"""The older round digits of the two-row regional construction plates (render/typeface/old_digits.py)."""

from __future__ import annotations

import numpy as np
import pytest

from kplate.render.glyphs import BuiltinGlyphs
from kplate.render.plate import Renderer
from kplate.render.typeface import old_digits
from kplate.spec.geometry import GEOMETRY, DigitFace
from kplate.spec.types import PlateType

DIGITS = "0123456789"
OLD_FACE_TYPES = [t for t, geo in GEOMETRY.items() if geo.digit_face is DigitFace.OLD]


def _ink(mask: np.ndarray) -> np.ndarray:
    return mask >= 0.5


@pytest.mark.parametrize("char", [c for c in DIGITS if c != "1"])
def test_each_digit_fills_its_box(char: str) -> None:
    # The layout gives the ink box; a glyph that stops short of it moves its label box.
    ink = _ink(old_digits.coverage(char, 40, 64))
    assert ink[0].any() and ink[-1].any() and ink[:, 0].any() and ink[:, -1].any()


def test_the_strokes_are_as_heavy_as_the_notices_digits() -> None:
    mask = old_digits.coverage("0", 60, 100)
    middle_row = _ink(mask[50])
    # An oval: two strokes across its middle row, each 0.13 of the height (13 px, +-2).
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, middle_row.astype(int), 0])))[::2]
    assert len(runs) == 2 and all(11 <= r <= 15 for r in runs)


def test_no_two_digits_look_alike() -> None:
    masks = {c: old_digits.coverage(c, 40, 64).ravel() for c in DIGITS}
    for a in DIGITS:
        for b in DIGITS:
            if a < b:
                corr = np.corrcoef(masks[a], masks[b])[0, 1]
                assert corr < 0.8, (a, b, corr)


def test_six_and_nine_are_each_other_turned_over() -> None:
    six, nine = old_digits.coverage("6", 40, 64), old_digits.coverage("9", 40, 64)
    assert np.mean(np.abs(six - nine[::-1, ::-1])) < 0.03
    assert np.mean(np.abs(six - nine)) > 0.2


def test_two_row_construction_plates_draw_old_digits_and_others_the_notices() -> None:
    assert OLD_FACE_TYPES == [PlateType.CONSTRUCTION_REGIONAL_TWO_ROW]
    renderer = Renderer()
    # A non-rental and a rental (orange, its own face) two-row plate, then a private one.
    cases = [("전남14나3063", OLD_FACE_TYPES[0]), ("경북06노8139", OLD_FACE_TYPES[0])]
    for text, plate_type in [*cases, ("14나3063", None)]:
        plate = renderer.render(text, plate_type, height=200, with_ink_mask=True)
        box = next(c for c in plate.record.chars if c.char == "3").box
        x0, y0, x1, y1 = box
        drawn = plate.ink_mask[y0:y1, x0:x1]
        old = old_digits.coverage("3", x1 - x0, y1 - y0)
        notice = BuiltinGlyphs().coverage("3", x1 - x0, y1 - y0)
        expected, other = (old, notice) if plate_type else (notice, old)
        assert np.abs(drawn - expected).mean() < 0.01
        assert np.abs(drawn - other).mean() > 0.05


def test_a_font_of_the_users_own_draws_every_digit() -> None:
    # The old face stands in for the built-in typeface only; a user's glyphs stay theirs.
    builtin = BuiltinGlyphs()

    class Blocks:
        name = "blocks"
        missing = builtin.missing
        natural_size = builtin.natural_size

        def coverage(self, char: str, width_px: int, height_px: int) -> np.ndarray:
            return np.ones((height_px, width_px), np.float32)

    renderer = Renderer(glyphs=Blocks())
    plate = renderer.render("전남14나3063", OLD_FACE_TYPES[0], height=200, with_ink_mask=True)
    x0, y0, x1, y1 = next(c for c in plate.record.chars if c.char == "3").box
    assert plate.ink_mask[y0:y1, x0:x1].min() == 1.0
