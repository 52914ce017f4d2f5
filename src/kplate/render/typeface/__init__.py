"""kplate's built-in plate typeface: the regulation digits and use syllables, in mm.

Digits and 35 syllables are traced from the dimensioned drawings of notice 2018-529; the
other syllables that kplate prints (commercial, region, diplomatic and military ones) are
composed from jamo in the same stroke weights. Both sources live in
``tools/typeface_sources`` (build time only); the package ships the finished outlines,
``glyphs_data``, written by ``tools/build_typeface_data.py``. See docs/typeface.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np

DIGITS = "0123456789"
#: Every Hangul syllable the typeface must draw (use, commercial, region, diplomatic, military).
SYLLABLES = (
    "가강거경고공광교구국기나남너노누다대더도두라러로루마머모무바배버보부북사산서세소수"
    "아어영오외우울원육인자저전정제조종주준천충표하합해허협호"
)
BUILTIN_CHARS: frozenset[str] = frozenset(DIGITS + SYLLABLES)


@dataclass(frozen=True)
class GlyphOutline:
    """One glyph at regulation size; contours are filled with the even-odd rule."""

    char: str
    kind: Literal["digit", "hangul"]
    width: float  # mm, the ink bounding box at the regulation size
    height: float  # mm
    contours: tuple[tuple[tuple[float, float], ...], ...]  # origin at the ink bbox's top-left


@cache
def outline(char: str) -> GlyphOutline:
    """The glyph for ``char``; KeyError if the built-in typeface lacks it.

    Read from ``glyphs_data``, which ``tools/build_typeface_data.py`` makes from the
    sources in ``tools/typeface_sources``: composing and normalising all 79 glyphs costs ~0.1 s, a
    quarter of a 2,000-plate run's start-up, so it is done once, at build time.
    """
    if char not in BUILTIN_CHARS:
        raise KeyError(char)
    from kplate.render.typeface.glyphs_data import GLYPHS

    kind, width, height, contours = GLYPHS[char]
    return GlyphOutline(char=char, kind=kind, width=width, height=height, contours=contours)


def supersampling(width_px: int, height_px: int, supersample: int = 4) -> int:
    """The grid factor a glyph of this size is drawn at before it is area-averaged down;
    ValueError for an empty size."""
    if width_px <= 0 or height_px <= 0:
        raise ValueError(f"bad size {width_px}x{height_px}")
    # Tiny outputs get a finer grid: at 5x8 px, 4x supersampling misjudges coverage by ~10%.
    return max(max(1, int(supersample)), min(32, -(-96 // min(width_px, height_px))))


def rasterize(
    glyph: GlyphOutline, width_px: int, height_px: int, supersample: int = 4
) -> np.ndarray:
    """Antialiased float32 coverage (height_px, width_px); the ink bbox fills the image.

    Drawn at ``supersample`` x (more for tiny outputs) with cv2.fillPoly, which fills with the
    even-odd rule so holes come out, and area-averaged down, so tiny sizes keep their weight.
    """
    import cv2
    import numpy as np

    ss = supersampling(width_px, height_px, supersample)
    big_w, big_h = width_px * ss, height_px * ss
    shift = 4  # fixed-point fractional bits for cv2's polygon filler
    scale = np.array([big_w / glyph.width, big_h / glyph.height]) * (1 << shift)
    # The outline's points lie on the ink's edge; sampling at pixel centres (-0.5 px)
    # keeps the ink centred rather than shifted by half a supersampled pixel.
    offset = (1 << shift) // 2
    polys = [(c * scale).round().astype(np.int32) - offset for c in _point_arrays(glyph)]
    canvas = np.zeros((big_h, big_w), np.uint8)
    cv2.fillPoly(canvas, polys, 255, lineType=cv2.LINE_8, shift=shift)
    if ss == 1:
        return canvas.astype(np.float32) / 255.0
    # Area-average in 16-bit fixed point (cheaper than float; 1/65535 is far below one
    # grey level of the 8-bit output).
    big = canvas.astype(np.uint16) * np.uint16(257)
    small = cv2.resize(big, (width_px, height_px), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 65535.0


@cache
def _point_arrays(glyph: GlyphOutline) -> tuple[np.ndarray, ...]:
    import numpy as np

    return tuple(np.asarray(c, dtype=np.float64) for c in glyph.contours)


__all__ = [
    "BUILTIN_CHARS",
    "DIGITS",
    "SYLLABLES",
    "GlyphOutline",
    "outline",
    "rasterize",
    "supersampling",
]
