"""The sources of kplate's built-in typeface, used at build time only.

``outlines_data`` holds the digits and 35 syllables traced from notice 2018-529's drawings
(written by ``tools/trace_notice_glyphs.py``); ``compose`` builds the other syllables from
jamo in the same stroke weights. ``tools/build_typeface_data.py`` turns both into
``kplate/render/typeface/glyphs_data.py``, which is all that the package needs to draw.
"""

from __future__ import annotations

from typing import Literal

from kplate.render.typeface import BUILTIN_CHARS, DIGITS, GlyphOutline

from . import outlines_data
from .compose import compose

Contour = tuple[tuple[float, float], ...]


def _normalise(contours: tuple[Contour, ...]) -> tuple[float, float, tuple[Contour, ...]]:
    """Shift contours so the ink bbox starts at (0, 0); return (width, height, contours)."""
    xs = [float(x) for c in contours for x, _ in c]
    ys = [float(y) for c in contours for _, y in c]
    x0, y0 = min(xs), min(ys)
    moved = tuple(
        tuple((round(float(x) - x0, 2), round(float(y) - y0, 2)) for x, y in c) for c in contours
    )
    return round(max(xs) - x0, 2), round(max(ys) - y0, 2), moved


def build_outline(char: str) -> GlyphOutline:
    """The glyph made from its sources: the traced drawings, or composed from jamo."""
    if char not in BUILTIN_CHARS:
        raise KeyError(char)
    if char in DIGITS:
        _, _, comps = outlines_data.DIGITS[char]
        kind: Literal["digit", "hangul"] = "digit"
        contours = tuple(c for comp in comps for c in comp)
    else:
        kind = "hangul"
        if char in outlines_data.HANGUL:
            _, _, comps = outlines_data.HANGUL[char]
            contours = tuple(c for comp in comps for c in comp)
        else:
            contours = compose(char)
    width, height, contours = _normalise(contours)
    return GlyphOutline(char=char, kind=kind, width=width, height=height, contours=contours)
