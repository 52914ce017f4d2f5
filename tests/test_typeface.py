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


# ---------------------------------------------------------------- composed syllables (#15)
# Composed jamo measured against the drawn ones they must follow. The drawn references are
# the traced syllables of notice 2018-529 (pp. 16-19: 서 저 주 버 부 하 어); a crop (mm)
# keeps one jamo, ``skip`` drops the top of a ㅊ (its tick) to compare the ㅈ beneath.
_UPPER_LEFT = (0.0, 0.0, 31.0, 37.0)  # the initial beside a vertical vowel, three tiers
_UPPER = (0.0, 0.0, 47.0, 19.0)  # the initial above a horizontal vowel, three tiers
_DRAWN_JAMO = {
    "서": (0.0, 0.0, 36.0, 64.8),
    "저": (0.0, 0.0, 36.0, 64.8),
    "주": (0.0, 0.0, 47.0, 30.0),
    "버": (0.0, 0.0, 28.9, 64.8),
    "부": (0.0, 0.0, 47.0, 31.0),
    "하": (0.0, 0.0, 33.5, 64.8),
    "어": (0.0, 0.0, 30.6, 64.8),
}


def _jamo_shape(char: str, crop: tuple[float, ...], skip: float = 0.0) -> np.ndarray:
    """The largest ink component inside ``crop``, its ink box resampled to 40x40."""
    im = (_render_mm(char) > 0.5).astype(np.uint8)
    x, y, w, h = (round(v * PX_PER_MM) for v in crop)
    _, lab, stats, _ = cv2.connectedComponentsWithStats(im[y : y + h, x : x + w].copy())
    part = lab == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    for step in range(2):
        ys, xs = np.nonzero(part)
        part = part[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        if step == 0:
            part = part[int(part.shape[0] * skip) :]
    return cv2.resize(part.astype(np.float32), (40, 40), interpolation=cv2.INTER_AREA) > 0.5


@pytest.mark.parametrize(
    ("char", "crop", "skip", "drawn", "least"),
    [
        ("산", _UPPER_LEFT, 0.0, "서", 0.85),  # a097163: straight legs, IoU 0.67
        ("전", _UPPER_LEFT, 0.0, "저", 0.82),  # 0.66
        ("정", _UPPER_LEFT, 0.0, "저", 0.82),  # 0.66
        ("천", _UPPER_LEFT, 0.2, "저", 0.82),  # 0.66
        ("종", _UPPER, 0.0, "주", 0.80),  # 0.67
        ("준", _UPPER, 0.0, "주", 0.80),  # 0.66
        ("충", _UPPER, 0.2, "주", 0.80),  # 0.64
        ("바", (0.0, 0.0, 30.0, 64.8), 0.0, "버", 0.93),  # square ㅂ, 0.85
        ("배", (0.0, 0.0, 26.0, 64.8), 0.0, "버", 0.88),  # 0.82; squeezed 0.83x, stems grown back
        ("북", _UPPER, 0.0, "부", 0.80),  # 0.72
        ("해", (0.0, 0.0, 26.0, 64.8), 0.0, "하", 0.80),  # 0.64
        ("합", _UPPER_LEFT, 0.0, "하", 0.80),  # 0.68
        ("아", (0.0, 0.0, 31.0, 64.8), 0.0, "어", 0.95),  # 0.89
    ],
)
def test_composed_jamo_follow_the_drawn_ones(
    char: str, crop: tuple[float, ...], skip: float, drawn: str, least: float
) -> None:
    mine = _jamo_shape(char, crop, skip)
    ref = _jamo_shape(drawn, _DRAWN_JAMO[drawn])
    iou = (mine & ref).sum() / (mine | ref).sum()
    assert iou >= least, f"{char}: IoU {iou:.3f} against the drawn jamo of {drawn}"


def _leg_bow(char: str, right: float, bottom: float) -> float:
    """How far the outer edge of the ㅅ's left leg bows off its chord, per mm of chord.

    Taken from below the last row where the consonant is at its widest-right left edge
    (the end of the ㅅ's stem or apex) down to the foot's leftmost point.
    """
    im = _render_mm(char)[: round(bottom * PX_PER_MM), : round(right * PX_PER_MM)] > 0.5
    rows = np.flatnonzero(im.any(axis=1))
    left = np.array([np.argmax(im[r]) for r in rows], dtype=float)
    foot = int(np.argmin(left))
    start = max(i for i in range(foot + 1) if left[i] >= left[: foot + 1].max() - 0.5)
    pts = np.stack([left[start : foot + 1], rows[start : foot + 1].astype(float)], axis=1)
    chord = pts[-1] - pts[0]
    length = float(np.hypot(*chord))
    off = (pts - pts[0]) @ np.array([chord[1], -chord[0]]) / length
    return float(np.abs(off).max() / length)


def test_sios_of_san_bows_like_the_drawn_one() -> None:
    """The notice curves ㅅ's legs (서: 0.08 of the chord); straight legs read 0.00."""
    drawn = _leg_bow("서", 35.0, 64.8)
    assert drawn > 0.05
    assert _leg_bow("산", 30.0, 37.0) >= 0.6 * drawn


def test_ul_has_the_drawn_ieung() -> None:
    """별표3 (p. 51) and 별표6 (p. 110) draw 울's ㅇ across 91 % of the glyph's width and
    39.7 % of its height (0.44 IoU for a097163's small ring)."""
    im = (_render_mm("울") > 0.5).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(im)
    ring = min(stats[1:], key=lambda s: s[cv2.CC_STAT_TOP])
    h, w = im.shape
    assert ring[cv2.CC_STAT_HEIGHT] / h == pytest.approx(0.397, abs=0.02)
    assert ring[cv2.CC_STAT_WIDTH] / w == pytest.approx(0.91, abs=0.02)


def test_ba_has_the_drawn_bieup_with_its_rounded_corner() -> None:
    """The annex 바 (별표3 p. 51, 별표4 p. 69, 별표6 p. 110) at the regulation height, its
    stretch undone: ㅂ 59 % of the width (0.591, 0.595, 0.591), y 1.55-57.35 mm, the
    lower-left corner rounded as in the drawn 버."""
    im = _render_mm("바") > 0.5
    left = im[:, : round(31.0 * PX_PER_MM)]
    ys, xs = np.nonzero(left)
    assert (xs.max() + 1) / im.shape[1] == pytest.approx(0.591, abs=0.01)
    assert ys.min() / PX_PER_MM == pytest.approx(1.55, abs=0.5)
    assert (ys.max() + 1) / PX_PER_MM == pytest.approx(57.35, abs=0.5)
    corner = left[ys.max() - 14 : ys.max() + 1, :15]  # 1.5 x 1.5 mm
    assert corner.mean() < 0.6


@pytest.mark.parametrize("char", ["세", "제"])
def test_se_je_are_as_wide_as_the_drawn_syllables(char: str) -> None:
    """Every drawn syllable is 46.4-47.8 mm wide (pp. 11-19); a097163 drew 세/제 53.5 mm."""
    g = outline(char)
    assert 45.0 <= g.width <= 47.8
    runs = _runs(_render_mm(char)[round(g.height * 0.8 * PX_PER_MM)])
    assert all(abs(r - 7.8) <= 0.6 for r in runs[-2:]), runs
