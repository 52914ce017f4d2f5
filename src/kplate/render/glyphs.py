"""Glyph sources: where the character shapes come from.

The renderer asks a source for two things: a glyph's natural proportions (so a narrow
'1' stays narrow) and its coverage mask at an exact pixel size. The built-in source is
kplate's own plate typeface; `FontGlyphs` scales any TTF/OTF glyph into the regulation
box; `GlyphDirGlyphs` reads the earlier project's `digits/ letters/ regions/` folders.
Every source is checked against the whole text before anything is drawn, so a missing
character is an error, never a blank box with a label.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from kplate.errors import KplateError, MissingGlyphError, OptionError
from kplate.limits import UnreadableImage, is_image_name, open_image
from kplate.spec.geometry import GlyphKind

#: Regulation ink heights in mm that the other sources are scaled to.
NOMINAL_HEIGHT = {GlyphKind.DIGIT: 74.0, GlyphKind.HANGUL: 64.8, GlyphKind.HYPHEN: 8.0}
HYPHEN_WIDTH_MM = 20.0


def kind_of(char: str) -> GlyphKind:
    if char == "-":
        return GlyphKind.HYPHEN
    if char.isdigit():
        return GlyphKind.DIGIT
    return GlyphKind.HANGUL


class GlyphSource(Protocol):
    """A set of character shapes the renderer can draw."""

    name: str

    def missing(self, chars: Iterable[str]) -> set[str]:
        """The characters of `chars` this source cannot draw."""
        ...

    def natural_size(self, char: str) -> tuple[float, float]:
        """The glyph's ink width and height in mm at the regulation size."""
        ...

    def coverage(self, char: str, width_px: int, height_px: int) -> np.ndarray:
        """float32 ink coverage in [0, 1] whose ink bbox fills exactly (height_px, width_px)."""
        ...


def require(source: GlyphSource, text: str) -> None:
    """Fail before drawing when the source lacks any character of `text`, or cannot draw
    it at all (a font file that FreeType opens but cannot render: truncated, say)."""
    try:
        missing = source.missing(set(text))
    except (OSError, ValueError, MemoryError, Image.DecompressionBombError) as error:
        raise KplateError(f"{source.name}: cannot draw its glyphs ({error})") from None
    if missing:
        chars = " ".join(sorted(missing))
        raise MissingGlyphError(f"glyph source '{source.name}' has no glyph for: {chars}")


def _hyphen_coverage(width_px: int, height_px: int) -> np.ndarray:
    return np.ones((height_px, width_px), np.float32)


def _resize_coverage(mask: np.ndarray, width_px: int, height_px: int) -> np.ndarray:
    """Scale a cropped [0, 1] mask to an exact size, area-averaging when shrinking."""
    h, w = mask.shape
    shrinking = width_px < w and height_px < h
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    resized = cv2.resize(mask, (width_px, height_px), interpolation=interpolation)
    return np.clip(resized, 0.0, 1.0).astype(np.float32)


#: A glyph asked for at under this share of its natural width is condensed keeping its
#: stroke weight, as the drawings of the 335x155 and 440x200 plates condense their digits.
CONDENSE_BELOW = 0.97


def _stroke_px(mask: np.ndarray) -> float:
    """A glyph's stroke width in pixels: twice its ink area over its outline length."""
    ink = (mask >= 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(ink, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * float(ink.sum()) / perimeter if perimeter > 0 else 0.0


def fitted_coverage(
    draw: Callable[[int, int], np.ndarray], aspect: float, width_px: int, height_px: int
) -> np.ndarray:
    """Coverage `width_px` x `height_px` from `draw(w, h)`, a glyph of natural `aspect`.

    Squeezing a glyph thins its upright strokes by the squeeze; the drawings condense a
    digit and keep its stroke. So a glyph drawn narrower than CONDENSE_BELOW of its natural
    width is squeezed to its width less the stroke it would lose, then widened back by a
    horizontal dilation of that loss: same ink box, same stroke weight.
    """
    natural_px = round(height_px * aspect)
    if width_px >= natural_px * CONDENSE_BELOW:
        return draw(width_px, height_px)
    full = draw(natural_px, height_px)
    lost = round(_stroke_px(full) * (1.0 - width_px / natural_px))
    if lost < 1 or lost >= width_px:
        return draw(width_px, height_px)
    squeezed = _resize_coverage(full, width_px - lost, height_px)
    canvas = np.zeros((height_px, width_px), np.float32)
    canvas[:, : width_px - lost] = squeezed
    kernel = np.ones((1, lost + 1), np.uint8)
    return cv2.dilate(
        canvas, kernel, anchor=(lost, 0), borderType=cv2.BORDER_CONSTANT, borderValue=0
    )


def _crop_to_ink(mask: np.ndarray, threshold: float = 0.5) -> np.ndarray | None:
    rows = np.flatnonzero((mask >= threshold).any(axis=1))
    cols = np.flatnonzero((mask >= threshold).any(axis=0))
    if rows.size == 0 or cols.size == 0:
        return None
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


class BuiltinGlyphs:
    """kplate's own plate typeface, traced from the notice's drawings (docs/typeface.md)."""

    name = "builtin"

    def __init__(self) -> None:
        from kplate.render import typeface

        self._typeface = typeface

    def missing(self, chars: Iterable[str]) -> set[str]:
        return {c for c in chars if c != "-" and c not in self._typeface.BUILTIN_CHARS}

    def natural_size(self, char: str) -> tuple[float, float]:
        if char == "-":
            return HYPHEN_WIDTH_MM, NOMINAL_HEIGHT[GlyphKind.HYPHEN]
        glyph = self._typeface.outline(char)
        return glyph.width, glyph.height

    def coverage(self, char: str, width_px: int, height_px: int) -> np.ndarray:
        if char == "-":
            return _hyphen_coverage(width_px, height_px)
        glyph = self._typeface.outline(char)
        return fitted_coverage(
            lambda w, h: self._typeface.rasterize(glyph, w, h),
            glyph.width / glyph.height,
            width_px,
            height_px,
        )


class _RasterGlyphs:
    """Shared logic of sources that start from a raster mask per character."""

    name = "raster"

    @functools.cache  # noqa: B019 - sources live for a whole run; the cache is the point
    def _mask(self, char: str) -> np.ndarray | None:
        raise NotImplementedError

    def missing(self, chars: Iterable[str]) -> set[str]:
        return {c for c in chars if c != "-" and self._mask(c) is None}

    def natural_size(self, char: str) -> tuple[float, float]:
        kind = kind_of(char)
        if kind is GlyphKind.HYPHEN:
            return HYPHEN_WIDTH_MM, NOMINAL_HEIGHT[kind]
        mask = self._mask(char)
        if mask is None:
            raise MissingGlyphError(f"glyph source '{self.name}' has no glyph for: {char}")
        height = NOMINAL_HEIGHT[kind]
        return height * mask.shape[1] / mask.shape[0], height

    def coverage(self, char: str, width_px: int, height_px: int) -> np.ndarray:
        if char == "-":
            return _hyphen_coverage(width_px, height_px)
        mask = self._mask(char)
        if mask is None:
            raise MissingGlyphError(f"glyph source '{self.name}' has no glyph for: {char}")
        return fitted_coverage(
            lambda w, h: _resize_coverage(mask, w, h),
            mask.shape[1] / mask.shape[0],
            width_px,
            height_px,
        )


class FontGlyphs(_RasterGlyphs):
    """Any TTF/OTF font, each glyph cropped to its ink and scaled into the regulation box."""

    RENDER_SIZE = 256

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = f"font {self.path}"
        try:
            self._font = ImageFont.truetype(str(self.path), self.RENDER_SIZE)
        except OSError as error:
            raise KplateError(f"{self.path}: cannot load font ({error})") from None

    @functools.cache  # noqa: B019
    def _mask(self, char: str) -> np.ndarray | None:
        if not self._font_has(char):
            return None
        size = self.RENDER_SIZE * 2
        image = Image.new("L", (size, size), 0)
        ImageDraw.Draw(image).text((size // 4, size // 4), char, fill=255, font=self._font)
        return _crop_to_ink(np.asarray(image, np.float32) / 255.0)

    def _font_has(self, char: str) -> bool:
        # A font without the character draws its .notdef box; compare against a code point
        # that no font maps (a private-use one) to tell the two apart.
        probe = self._font.getmask(char)
        notdef = self._font.getmask("\ue000")
        if probe.size == (0, 0) or probe.getbbox() is None:
            return False
        return bytes(probe) != bytes(notdef) or probe.size != notdef.size


class GlyphDirGlyphs(_RasterGlyphs):
    """The earlier project's glyph folders: `digits/0.png`, `letters/가.png`, `regions/서울.png`.

    Sub-folders are searched too. Ink is whatever differs from the image's majority
    (background) brightness, so dark-on-light and light-on-dark glyphs both work. A region image holding a whole name such as `서울` is split in two at
    its middle column gap, so its syllables can go into separate cells.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.name = f"glyph-dir {self.root}"
        if not self.root.is_dir():
            raise KplateError(f"{self.root}: glyph directory not found")
        self._files: dict[str, Path] = {}
        self._regions: dict[str, Path] = {}
        for sub in ("digits", "letters", "regions"):
            folder = self.root / sub
            if not folder.is_dir():
                continue
            # The earlier project nests colour variants (letters/letters_white/가.jpg): search
            # recursively and prefer the white-plate variant, which has the cleanest ink.
            files = sorted(folder.rglob("*"), key=lambda f: ("white" not in str(f), str(f)))
            for file in files:
                if not is_image_name(file):
                    continue
                stem = file.stem.split("_")[0]
                if len(stem) == 1:
                    self._files.setdefault(stem, file)
                elif len(stem) == 2 and sub == "regions":
                    self._regions.setdefault(stem, file)
        if not self._files and not self._regions:
            raise KplateError(f"{self.root}: no glyph images in digits/, letters/ or regions/")

    @staticmethod
    def _load(file: Path) -> np.ndarray:
        try:
            with open_image(file) as image:
                gray = np.asarray(image.convert("L"), np.float32) / 255.0
        except UnreadableImage as error:
            raise KplateError(f"{file}: cannot read glyph image ({error.reason})") from None
        distance = np.abs(gray - np.median(gray))
        peak = float(distance.max())
        return distance / peak if peak > 0 else distance

    @functools.cache  # noqa: B019
    def _mask(self, char: str) -> np.ndarray | None:
        if char in self._files:
            return _crop_to_ink(self._load(self._files[char]))
        for name, file in self._regions.items():
            if char in name:
                halves = self._split_region(self._load(file))
                return halves[name.index(char)]
        return None

    @staticmethod
    def _split_region(ink: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Split a two-syllable image at the emptiest column near the middle (or row, if tall)."""
        tall = ink.shape[0] > ink.shape[1] * 1.2
        profile = ink.sum(axis=1 if tall else 0)
        n = profile.size
        lo, hi = n // 3, max(n // 3 + 1, 2 * n // 3)
        cut = lo + int(np.argmin(profile[lo:hi]))
        if tall:
            return _crop_to_ink(ink[:cut]), _crop_to_ink(ink[cut:])
        return _crop_to_ink(ink[:, :cut]), _crop_to_ink(ink[:, cut:])


def glyph_source(
    font: str | Path | None = None, glyph_dir: str | Path | None = None
) -> GlyphSource:
    """The source the CLI options ask for: `--font`, `--glyph-dir`, or the built-in typeface."""
    if font and glyph_dir:
        raise OptionError(
            "font", "{option} and {glyph_dir} cannot be used together", also=("glyph_dir",)
        )
    if font:
        return FontGlyphs(font)
    if glyph_dir:
        return GlyphDirGlyphs(glyph_dir)
    return BuiltinGlyphs()
