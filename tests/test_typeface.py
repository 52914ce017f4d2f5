"""Tests of the built-in plate typeface: coverage, sizes, rasterisation and stroke weights."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kplate.render.typeface import BUILTIN_CHARS, GlyphOutline, outline, rasterize
from tools.typeface_sources import build_outline

SYLLABLES_69 = (
    "가강거경고공광교구국기나남너노누다대더도두라러로루마머모무바배버보부북사산서세소수"
    "아어영오외우울원육인자저전정제조종주준천충표하합해허협호"
)
PX_PER_MM = 10


def _render_mm(char: str) -> np.ndarray:
    """The glyph at 10 px/mm, so run lengths read directly in tenths of a mm."""
    g = outline(char)
    return rasterize(g, round(g.width * PX_PER_MM), round(g.height * PX_PER_MM))


def _runs(line: np.ndarray) -> list[float]:
    """Lengths (mm) of the inked runs along a row or column."""
    ink = np.concatenate([[False], line > 0.5, [False]])
    edges = np.flatnonzero(np.diff(ink.astype(np.int8)))
    return [(b - a) / PX_PER_MM for a, b in zip(edges[::2], edges[1::2], strict=True)]


def test_builtin_chars_are_digits_and_the_69_syllables() -> None:
    assert len(SYLLABLES_69) == 69
    assert frozenset("0123456789" + SYLLABLES_69) == BUILTIN_CHARS


@pytest.mark.parametrize("char", sorted(BUILTIN_CHARS))
def test_outline_sizes_are_regulation(char: str) -> None:
    g = outline(char)
    assert isinstance(g, GlyphOutline) and g.char == char
    if char.isdigit():
        assert g.kind == "digit"
        assert 72.0 <= g.height <= 76.0
        lo_w = 20.0 if char == "1" else 35.0  # the "1" is a bar with a flag, 25.7 mm wide
        assert lo_w <= g.width <= 50.0
    else:
        assert g.kind == "hangul"
        assert 64.0 <= g.height <= 66.0
        assert 38.0 <= g.width <= 60.0
    pts = np.array([p for c in g.contours for p in c])
    assert all(len(c) >= 3 for c in g.contours)
    assert pts.min(axis=0) == pytest.approx((0.0, 0.0), abs=0.05)
    assert pts.max(axis=0) == pytest.approx((g.width, g.height), abs=0.05)


def test_unknown_char_raises_keyerror() -> None:
    with pytest.raises(KeyError):
        outline("A")
    with pytest.raises(KeyError):
        outline("힣")


def test_outline_is_cached() -> None:
    assert outline("가") is outline("가")


def test_generated_glyph_data_matches_its_sources() -> None:
    """glyphs_data.py is made by tools/build_typeface_data.py; re-run it when this fails."""
    stale = [c for c in sorted(BUILTIN_CHARS) if outline(c) != build_outline(c)]
    assert not stale, f"glyphs_data.py is stale for {stale}: run tools/build_typeface_data.py"


@pytest.mark.parametrize("size", [(5, 8), (9, 13), (41, 75), (400, 500)])
@pytest.mark.parametrize("char", ["0", "8", "가", "울"])
def test_rasterize_shape_and_range(char: str, size: tuple[int, int]) -> None:
    im = rasterize(outline(char), *size)
    assert im.shape == (size[1], size[0]) and im.dtype == np.float32
    assert im.min() >= 0.0 and im.max() <= 1.0
    assert 0.15 < im.mean() < 0.75  # ink, but not a filled box


def test_tiny_raster_keeps_the_ink_weight() -> None:
    big = rasterize(outline("0"), 400, 700).mean()
    small = rasterize(outline("0"), 5, 8).mean()
    assert small == pytest.approx(big, abs=0.06)


def test_zero_has_an_empty_centre_and_ink_on_its_sides() -> None:
    im = rasterize(outline("0"), 41, 75)
    assert im[30:45, 15:26].max() < 0.05
    assert im[37, :5].mean() > 0.8 and im[37, -5:].mean() > 0.8


def test_one_is_mostly_a_vertical_bar() -> None:
    im = _render_mm("1")
    cols = im.mean(axis=0)
    stem = cols > 0.9
    assert stem.sum() / PX_PER_MM == pytest.approx(9.7, abs=0.6)
    assert 0.3 < im.mean() < 0.55
    left = int(np.flatnonzero(stem)[0]) - PX_PER_MM  # 1 mm clear of the stem's edge
    assert im[-50:, :left].max() < 0.05  # no foot serif


@pytest.mark.parametrize("char", ["오", "어", "호", "아", "영", "공", "외"])
def test_ieung_syllables_have_an_empty_counter(char: str) -> None:
    im = _render_mm(char) > 0.5
    _, _, stats, _ = cv2.connectedComponentsWithStats((~im).astype(np.uint8), connectivity=4)
    h, w = im.shape
    inner = [s for s in stats[1:] if s[0] > 0 and s[1] > 0 and s[0] + s[2] < w and s[1] + s[3] < h]
    assert inner, "no enclosed counter"
    assert max(s[4] for s in inner) > 8 * PX_PER_MM**2  # at least ~8 mm² of open counter


@pytest.mark.parametrize(
    ("char", "expected"),
    [("0", 9.5), ("1", 9.7), ("8", 9.5), ("4", 9.5)],
)
def test_digit_stroke_widths(char: str, expected: float) -> None:
    im = _render_mm(char)
    runs = _runs(im[im.shape[0] * 3 // 10])  # through the upper bowl / the stem
    assert runs and min(abs(r - expected) for r in runs) <= 0.6
    assert all(r < 12.5 for r in runs[:2]) or char == "4"


def test_zero_both_sides_are_regulation_width() -> None:
    im = _render_mm("0")
    for frac in (0.3, 0.5, 0.7):
        runs = _runs(im[int(im.shape[0] * frac)])
        assert len(runs) == 2
        assert all(abs(r - 9.5) <= 0.6 for r in runs), runs


@pytest.mark.parametrize("char", ["나", "다", "마", "너", "버"])
def test_hangul_vertical_strokes_are_8_2_mm(char: str) -> None:
    im = _render_mm(char)
    runs = _runs(im[int(im.shape[0] * 0.7)])
    assert runs
    assert all(abs(r - 8.2) <= 0.6 for r in runs), runs


@pytest.mark.parametrize("char", ["다", "더"])
def test_hangul_horizontal_bars_are_7_2_mm(char: str) -> None:
    im = _render_mm(char)
    runs = _runs(im[:, int(im.shape[1] * 0.3)])
    assert len(runs) == 2
    assert all(abs(r - 7.2) <= 0.6 for r in runs), runs


def test_composed_stems_stay_close_to_regulation() -> None:
    for char in "바배사아자":
        im = _render_mm(char)
        runs = _runs(im[int(im.shape[0] * 0.8)])
        right = runs[-1]
        assert abs(right - 8.2) <= 0.6, (char, runs)


def test_every_syllable_is_distinct() -> None:
    seen: dict[bytes, str] = {}
    for char in SYLLABLES_69:
        key = (rasterize(outline(char), 24, 32) > 0.5).tobytes()
        assert key not in seen, f"{char} renders like {seen.get(key)}"
        seen[key] = char


def test_digits_are_distinct() -> None:
    keys = {(rasterize(outline(d), 20, 34) > 0.5).tobytes() for d in "0123456789"}
    assert len(keys) == 10
