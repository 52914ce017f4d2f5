"""Compose a clean plate: a cached background (colour, border, holes, emblems) plus cached
glyph sprites pasted into the regulation cells, with a raised, embossed look.

Its caches (backgrounds, glyph sprites, placed glyphs, flat patches and a reusable output
buffer) are keyed by output size, so a run that renders thousands of plates at one
height draws each background and each glyph once; a plate then costs a handful of
small alpha blends. That is what makes generation close to JPEG-encoding speed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image, ImageDraw

from kplate.errors import KplateError, OptionError
from kplate.numbers import PlateNumber, is_orange_construction, validate
from kplate.render.emblems import MmCanvas, draw_emblems, rounded_rectangle
from kplate.render.glyphs import (
    NOMINAL_HEIGHT,
    BuiltinGlyphs,
    GlyphSource,
    glyph_source,
    require,
)
from kplate.render.record import CharBox, PlateRecord
from kplate.render.typeface import old_digits
from kplate.spec import colors
from kplate.spec.colors import RGB
from kplate.spec.geometry import (
    NARROW_ASPECT,
    RENTAL_GEOMETRY,
    Cell,
    DigitFace,
    GlyphKind,
    PlateGeometry,
    geometry,
)
from kplate.spec.types import PlateType

#: The syllable inside the business-use mark (spec.geometry.PlateGeometry.business_mark).
BUSINESS_MARK = "영"
#: Draws a glyph's ink coverage into (width, height) pixels.
GlyphCoverage = Callable[[int, int], np.ndarray]
#: What shows through the holes and beyond the rounded corners: a dark car-body grey.
SURROUND: RGB = (52, 54, 58)
#: Emboss (N2018 art. 2 ④: every character is pressed 1.3-1.6 mm high; issue #15). The dark
#: paint sits on the raised face only; the pressing's sloped sides stay plate-coloured and
#: catch the light, so a character shows a light bevel all round its dark face and a narrow
#: shadow beyond the side away from the light (top left). The label box stays the full
#: pressed outline. Widths scale with the depth: at the default 1.45 mm the bevel is
#: 0.6 mm a side, measured on the colour private_2digit crops of real_dev (dark-face
#: stroke/height 0.114 against the drawn 9.5/74 mm; docs/plate-types.md), and the shadow
#: 0.5 mm. A depth of 0 draws flat plates.
DEFAULT_EMBOSS_DEPTH_MM = 1.45
MAX_EMBOSS_DEPTH_MM = 5.0
BEVEL_PER_DEPTH = 0.6 / 1.45
SHADOW_PER_DEPTH = 0.5 / 1.45
#: How much a side whitens (composited with white): SHEEN all round, plus up to
#: DIRECTIONAL on sides facing the light and minus as much on those facing away, so even
#: the far sides stay lighter than the plate, as photographs show.
BEVEL_SHEEN = 0.55
BEVEL_DIRECTIONAL = 0.25
SHADOW_STRENGTH = 0.38
#: Film-finish plates carry printed, flat characters: the film plate (N2018 art. 2 ⑤ allows
#: paint or film; photographs show its characters flat) and the electric plate, which must
#: be film (art. 2 ⑤, 별표18; photographs show them flat too).
FLAT_TYPES: frozenset[PlateType] = frozenset({PlateType.PRIVATE_3DIGIT_FILM, PlateType.ELECTRIC})
MAX_SUPERSAMPLED_WIDTH = 4096
DEFAULT_HEIGHT = 110
#: The accepted image sides in pixels, given or derived. Below 8 a plate is no longer a
#: plate; at 2048 x 2048 one renderer with all 15 types cached holds about 1.4 GB.
MIN_SIDE = 8
MAX_SIDE = 2048


@dataclass(frozen=True)
class RenderedPlate:
    """A clean plate image (H x W x 3 uint8 RGB), its label record and optionally its ink;
    `background` is the plate colour it was drawn in, and `shade` its index in the colour's
    range (None: the nominal colour, or one without a range)."""

    image: np.ndarray
    record: PlateRecord
    ink_mask: np.ndarray | None = None
    background: RGB | None = None
    shade: int | None = None


@dataclass(frozen=True)
class _Sprite:
    """A glyph ready to blend: premultiplied colour and alpha, padded for its shadow."""

    premultiplied: np.ndarray  # (h + pad, w + pad, 3) float32
    transparency: np.ndarray  # (h + pad, w + pad, 3) float32, 1 - alpha
    coverage: np.ndarray  # (h, w) float32, the ink alone


@dataclass(frozen=True)
class _Background:
    """A plate without characters, and a summed-area table of its pixels that are not
    plain body colour, so "is it plain under this glyph?" is four lookups."""

    pixels: np.ndarray  # (H, W, 3) uint8
    uneven: np.ndarray  # (H + 1, W + 1) int32, cv2.integral of (pixels != body colour)

    @classmethod
    def of(cls, pixels: np.ndarray, colour: RGB) -> _Background:
        uneven = (pixels != np.asarray(colour, np.uint8)).any(axis=2).astype(np.uint8)
        return cls(pixels, cv2.integral(uneven))

    def is_plain(self, x: int, y: int, w: int, h: int) -> bool:
        """Whether (x, y, w, h), clipped to the image, is all body colour."""
        x1, y1 = min(x + w, self.pixels.shape[1]), min(y + h, self.pixels.shape[0])
        t = self.uneven
        return int(t[y1, x1] - t[y, x1] - t[y1, x] + t[y, x]) == 0


class _SpriteKey(NamedTuple):
    """What one glyph sprite depends on (the renderer caches sprites by it)."""

    char: str
    w: int
    h: int
    ink: RGB
    relief: _Relief | None
    trim: float = 0.0  # px off every side of the strokes (PlateGeometry.stroke_trim)
    face: DigitFace = DigitFace.NOTICE


@dataclass(frozen=True)
class _Placed:
    """A glyph at its place on one plate size: its box, sprite and the finished pixels.

    A glyph's place depends only on the type, size, cell and character, so the blended
    patch (background, ink, emboss and shadow) is made once and then merely copied.
    """

    box: tuple[int, int, int, int]
    sprite: _Sprite
    patch: np.ndarray
    label: CharBox  # immutable, so one instance serves every plate


def _patch(background: np.ndarray, sprite: _Sprite, box: tuple[int, int, int, int]) -> np.ndarray:
    """Blend a sprite over the background at `box`, returning just that (padded) region."""
    x0, y0 = box[0], box[1]
    h = min(sprite.transparency.shape[0], background.shape[0] - y0)
    w = min(sprite.transparency.shape[1], background.shape[1] - x0)
    blended = background[y0 : y0 + h, x0 : x0 + w] * sprite.transparency[:h, :w]
    blended += sprite.premultiplied[:h, :w]
    blended += 0.5
    return np.clip(blended, 0, 255, out=blended).astype(np.uint8)


def output_size(geo: PlateGeometry, height: int | None, width: int | None) -> tuple[int, int]:
    """(width, height) in pixels: from the height by the plate's aspect ratio, or both fixed.

    Every side must come out MIN_SIDE to MAX_SIDE pixels, whichever way it was reached:
    the drawing is tried (tests/test_reliability_round2_generate.py) at every size in that
    range, and a larger side costs memory that grows with its square.
    """
    for name, given in (("height", height), ("width", width)):
        if given is not None and not MIN_SIDE <= given <= MAX_SIDE:
            raise OptionError(
                name,
                f"{{option}} {given}: plate images must be {MIN_SIDE} to {MAX_SIDE} pixels "
                "high and wide",
            )
    if height is None and width is None:
        height = DEFAULT_HEIGHT
    if width is None:
        assert height is not None
        width = max(MIN_SIDE, round(height * geo.aspect))
        derived = "width"
    elif height is None:
        height = max(MIN_SIDE, round(width / geo.aspect))
        derived = "height"
    else:
        return width, height
    if max(width, height) > MAX_SIDE:
        given_flag = "height" if derived == "width" else "width"
        given_value = height if derived == "width" else width
        raise OptionError(
            given_flag,
            f"{{option}} {given_value}: a {geo.plate_type} plate would be {width}x{height} "
            f"pixels, and each side must be {MIN_SIDE} to {MAX_SIDE}; give a smaller "
            "{option}, or fix both the height and the width",
        )
    return width, height


def check_size(types: Iterable[PlateType], height: int | None, width: int | None) -> None:
    """Refuse, before anything is drawn, a size that any of `types` cannot be drawn at."""
    for plate_type in types:
        output_size(geometry(plate_type), height, width)


def _three(plane: np.ndarray) -> np.ndarray:
    """(H, W) -> (H, W, 3). numpy broadcasts an (H, W, 1) operand over colour ~8x slower
    than it multiplies two arrays of one shape, so per-pixel factors are made RGB first."""
    return cv2.merge((plane, plane, plane))


@dataclass(frozen=True)
class _Relief:
    """The pressing at one output scale, in pixels: bevel width, shadow width, and the
    padding (right and bottom) that a sprite needs for its shadow."""

    bevel: float
    shadow: float
    pad: int

    @classmethod
    def of(cls, depth_mm: float, px_per_mm: float) -> _Relief | None:
        if depth_mm <= 0:
            return None
        shadow = SHADOW_PER_DEPTH * depth_mm * px_per_mm
        return cls(
            round(BEVEL_PER_DEPTH * depth_mm * px_per_mm, 3),
            round(shadow, 3),
            max(1, math.ceil(shadow * 0.7072)),
        )


def relief_layers(outline: np.ndarray, relief: _Relief) -> tuple[np.ndarray, ...]:
    """Split a pressed outline (float [0, 1], already padded) into what each part shows.

    Returns (face, light, shadow) alphas: the raised face (the paint), the sloped sides
    composited with white (light all round, more where they face the top-left light), and
    the shadow (composited with black) just beyond the sides away from the light.
    """
    # Worked on a zero margin: glyphs touch their sprite's edges, where erosion and the
    # gradients would otherwise see the outline run on.
    m = int(relief.bevel) + 4
    padded = cv2.copyMakeBorder(outline, m, m, m, m, cv2.BORDER_CONSTANT, value=0.0)
    # The face is the outline eroded by the bevel.
    face = np.minimum(_eroded_by(padded, relief.bevel)[m:-m, m:-m], outline)
    sides = outline - face
    # Sobel smooths a little itself; wide bevels (large images) need a wider look.
    smooth = cv2.GaussianBlur(padded, (0, 0), relief.bevel / 2) if relief.bevel > 2 else padded
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)[m:-m, m:-m]
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)[m:-m, m:-m]
    # The outward normal is -grad; the light comes from the top left, (-1, -1)/sqrt 2.
    # (Python floats throughout: a numpy float64 scalar would make the planes float64.)
    norm = cv2.magnitude(gx, gy)
    np.maximum(norm, 1e-6, out=norm)
    facing = cv2.divide(gx + gy, norm, scale=BEVEL_DIRECTIONAL / math.sqrt(2.0))
    facing += BEVEL_SHEEN  # |facing - SHEEN| <= DIRECTIONAL, so it stays in [0, 1]
    light = sides * facing
    cast = _shifted_down_right(outline, relief.shadow / math.sqrt(2.0))
    shadow = cv2.subtract(cast, outline)
    np.maximum(shadow, 0.0, out=shadow)
    shadow *= SHADOW_STRENGTH
    return face, light, shadow


def _shifted_down_right(mask: np.ndarray, step: float) -> np.ndarray:
    """`mask` moved `step` pixels right and down, bilinearly (zeros shift in).

    Numpy rather than cv2.warpAffine: OpenCV runs a warp of even a glyph-sized sprite on
    its thread pool, whose threads then spin and double the CPU time a sprite costs."""
    whole, part = divmod(step, 1.0)
    i = int(whole)
    h, w = mask.shape
    padded = np.zeros((h + i + 1, w + i + 1), np.float32)
    padded[i + 1 :, i + 1 :] = mask  # the mask moved by i + 1 pixels
    near = padded[1:, 1:]  # moved by i
    a, b = np.float32(1.0 - part), np.float32(part)
    # Each output pixel mixes the four source pixels around (y - step, x - step).
    return (
        near[:h, :w] * (a * a)
        + padded[:h, 1 : w + 1] * (a * b)
        + padded[1 : h + 1, :w] * (a * b)
        + padded[:h, :w] * (b * b)
    )


def _eroded(mask: np.ndarray, radius: int) -> np.ndarray:
    """`mask` shrunk by `radius` pixels (a grey-level erosion with a disc)."""
    if radius <= 0:
        return mask
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.erode(mask, disc)


def _eroded_by(mask: np.ndarray, radius: float) -> np.ndarray:
    """`mask` shrunk by a sub-pixel `radius`: the erosions by the whole pixels either side,
    blended (an anti-aliased edge moves by exactly one pixel per pixel of erosion)."""
    whole, part = divmod(radius, 1.0)
    shrunk = _eroded(mask, int(whole))
    if part > 0:
        shrunk = shrunk * np.float32(1 - part) + _eroded(mask, int(whole) + 1) * np.float32(part)
    return shrunk


def _trimmed(coverage: np.ndarray, radius: float) -> np.ndarray:
    """Glyph coverage with `radius` pixels taken off every side of its strokes (a lighter
    typeface); worked on a zero margin, since glyphs touch their bitmap's edges."""
    if radius <= 0:
        return coverage
    m = int(radius) + 2
    padded = cv2.copyMakeBorder(coverage, m, m, m, m, cv2.BORDER_CONSTANT, value=0.0)
    return np.ascontiguousarray(_eroded_by(padded, radius)[m:-m, m:-m])


def _ink_box(coverage: np.ndarray, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The part of `box` that a trimmed glyph's ink still reaches: labels stay tight."""
    rows = np.flatnonzero(coverage.any(axis=1))
    cols = np.flatnonzero(coverage.any(axis=0))
    if rows.size == 0:
        return box
    x0, y0 = box[0], box[1]
    return x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1


def _composite(
    face: np.ndarray, light: np.ndarray, shadow: np.ndarray, ink: RGB
) -> tuple[np.ndarray, np.ndarray]:
    """Premultiplied colour and transparency of ink on the face, white on the lit sides
    and black in the shadow, the three being (nearly) disjoint."""
    opaque = face + light
    opaque += shadow
    np.minimum(opaque, 1.0, out=opaque)
    white = light * 255.0
    colour = cv2.merge([face * float(c) + white for c in ink])
    clear = 1.0 - opaque
    return colour, cv2.merge((clear, clear, clear))


def check_emboss_depth(depth_mm: float) -> None:
    """Refuse a pressing depth that is not a number of mm from 0 (flat) to the maximum."""
    if not (math.isfinite(depth_mm) and 0 <= depth_mm <= MAX_EMBOSS_DEPTH_MM):
        raise OptionError(
            "emboss_depth_mm",
            f"{{option}} must be 0 to {MAX_EMBOSS_DEPTH_MM:g} mm, got {depth_mm}",
        )


def _cell_ink_box(
    cell: Cell, natural: tuple[float, float], drawn_width: float | None = None
) -> tuple[float, float, float, float]:
    """The glyph's ink box (x0, y0, x1, y1) in mm, as the cell's drawing places it.

    Heights scale the glyph's natural height like the nominal one, on the cell's baseline;
    widths are the drawn width where the cell has one, else the natural width times the
    cell's stretch; a narrow glyph (the "1") keeps its proportions and its drawn offset.
    """
    if cell.kind is GlyphKind.HYPHEN:
        ink_w, ink_h = cell.w * 0.7, cell.h * cell.ink_height
        cx = cell.x + cell.w / 2
        cy = cell.y + cell.h * cell.top + ink_h / 2
        return cx - ink_w / 2, cy - ink_h / 2, cx + ink_w / 2, cy + ink_h / 2
    k = cell.h * cell.ink_height / NOMINAL_HEIGHT[cell.kind]
    ink_h = natural[1] * k
    narrow = natural[0] < NARROW_ASPECT * natural[1]
    ink_w = natural[0] * k * cell.stretch
    if drawn_width is not None:
        ink_w = drawn_width
    elif cell.ink_width is not None and not narrow:
        ink_w = cell.ink_width
    if cell.inset is not None:
        x0 = cell.x + cell.inset
    else:
        shift = cell.narrow_shift * cell.w if narrow else 0.0
        x0 = cell.x + cell.w / 2 - shift - ink_w / 2
    bottom = cell.y + cell.h * (cell.top + cell.ink_height)
    return x0, bottom - ink_h, x0 + ink_w, bottom


class Renderer:
    """Renders plates at any size; keeps its backgrounds and glyph sprites between calls."""

    def __init__(
        self,
        glyphs: GlyphSource | None = None,
        *,
        emboss_depth_mm: float = DEFAULT_EMBOSS_DEPTH_MM,
    ) -> None:
        """`emboss_depth_mm`: how high the characters are pressed (0 draws flat plates;
        film plates are flat whatever it is)."""
        check_emboss_depth(emboss_depth_mm)
        self.glyphs = glyphs or glyph_source()
        self.emboss_depth_mm = float(emboss_depth_mm)
        self._backgrounds: dict[tuple[PlateType, RGB, int, int], _Background] = {}
        self._sprites: dict[_SpriteKey, _Sprite] = {}
        self._placed: dict[tuple, _Placed] = {}
        self._flat_patches: dict[tuple[_SpriteKey, RGB], np.ndarray] = {}
        self._shade_tables: dict[tuple[RGB, RGB, RGB], np.ndarray] = {}
        self._shaded_backgrounds: dict[tuple, np.ndarray] = {}
        self._shaded_patches: dict[tuple[int, int], np.ndarray] = {}
        self._shades: dict[tuple[RGB, RGB, int], tuple[RGB, np.ndarray | None]] = {}
        self._reliefs: dict[tuple[PlateType, int, int], _Relief | None] = {}
        self._scratch: dict[tuple[int, int], np.ndarray] = {}

    # -- public API -------------------------------------------------------------------
    def render(
        self,
        text: str,
        plate_type: PlateType | str | None = None,
        *,
        height: int | None = None,
        width: int | None = None,
        with_ink_mask: bool = False,
    ) -> RenderedPlate:
        """Validate `text` (inferring the type when none is given) and draw it."""
        number = validate(text, plate_type)
        return self.render_number(number, height=height, width=width, with_ink_mask=with_ink_mask)

    def render_number(
        self,
        number: PlateNumber,
        *,
        height: int | None = None,
        width: int | None = None,
        with_ink_mask: bool = False,
        reuse: bool = False,
        shade: int | None = None,
    ) -> RenderedPlate:
        """Draw a validated number. With `reuse`, the image is drawn into a buffer that
        the next `reuse` call of the same size overwrites: for callers that encode each
        plate at once, it spares a fresh page-faulted allocation per plate. `shade` picks
        one of `colors.SHADE_COUNT` shades of the plate colour's documented range
        (`colors.shade`); None draws the nominal colour."""
        geo = number_geometry(number)
        require(self.glyphs, number.text)
        try:
            cells = geo.layout_for(number.text)
        except KeyError:
            raise KplateError(f"{number.text}: no {number.type} layout for this form") from None
        out_w, out_h = output_size(geo, height, width)
        background_colour = self._background_colour(number, geo)
        # Orange construction plates keep their type's ink: black on the 2022 national
        # plate, white on the older regional ones (spec/colors.py).
        ink = geo.ink
        background = self._background(geo, background_colour, out_w, out_h).pixels
        # A shade recolours the nominal plate's cached pieces through a look-up table, so
        # the caches stay one per nominal colour (colors.COLOUR_RANGES).
        nominal, table = background_colour, None
        if shade is not None:
            background_colour, table = self._shade(nominal, ink, shade)
        if table is None:
            shade = None
        else:
            background = self._shaded_background(geo, nominal, shade, table, out_w, out_h)
        if reuse:
            image = self._scratch.get((out_h, out_w))
            if image is None:
                image = self._scratch[(out_h, out_w)] = np.empty_like(background)
            np.copyto(image, background)
        else:
            image = background.copy()
        relief = self._relief(geo, out_w, out_h)
        ink_mask = np.zeros((out_h, out_w), np.float32) if with_ink_mask else None
        boxes = []
        for index, (char, cell) in enumerate(zip(number.text, cells, strict=True)):
            key = (geo.plate_type, nominal, ink, out_w, out_h, len(cells), index, char)
            placed = self._placed.get(key)
            if placed is None:
                placed = self._placed[key] = self._place_glyph(
                    char, cell, geo, nominal, ink, out_w, out_h, relief
                )
            x0, y0, x1, y1 = placed.box
            patch = placed.patch
            if table is not None:
                shaded = self._shaded_patches.get((id(patch), shade))
                patch = self._shaded_patch(placed, shade, table) if shaded is None else shaded
            patch_h, patch_w = patch.shape[:2]
            image[y0 : y0 + patch_h, x0 : x0 + patch_w] = patch
            if ink_mask is not None:
                ink_mask[y0:y1, x0:x1] = placed.sprite.coverage
            boxes.append(placed.label)
        record = PlateRecord(
            text=number.text,
            plate_type=number.type.value,
            width=out_w,
            height=out_h,
            fields=number.fields(),
            chars=tuple(boxes),
            plate_quad=(
                (0.0, 0.0),
                (float(out_w), 0.0),
                (float(out_w), float(out_h)),
                (0.0, float(out_h)),
            ),
        )
        return RenderedPlate(image, record, ink_mask, background_colour, shade)

    # -- layout -----------------------------------------------------------------------
    def _place_glyph(
        self,
        char: str,
        cell: Cell,
        geo: PlateGeometry,
        colour: RGB,
        ink: RGB,
        out_w: int,
        out_h: int,
        relief: _Relief | None,
    ) -> _Placed:
        """Box, sprite and blended patch of one glyph in one cell (computed once, then cached).

        Over a flat patch of background the blended pixels do not depend on the position,
        so those patches are shared between cells; over emblems they are made per cell.
        """
        box = self._place(char, cell, out_w / geo.width, out_h / geo.height, out_w, out_h)
        w, h = box[2] - box[0], box[3] - box[1]
        trim = geo.stroke_trim * h
        key = _SpriteKey(char, w, h, ink, relief, trim, self._face(char, geo))
        sprite = self._sprite(key)
        background = self._background(geo, colour, out_w, out_h)
        d = relief.pad if relief else 0
        flat = background.is_plain(box[0], box[1], w + d, h + d)
        flat_key = (key, colour)
        patch = self._flat_patches.get(flat_key) if flat else None
        if patch is None:
            patch = _patch(background.pixels, sprite, box)
            if flat and patch.shape[:2] == (h + d, w + d):
                self._flat_patches[flat_key] = patch
        label = box if trim <= 0 else _ink_box(sprite.coverage, box)
        return _Placed(box, sprite, patch, CharBox(char, label))

    def _place(
        self, char: str, cell: Cell, sx: float, sy: float, out_w: int, out_h: int
    ) -> tuple[int, int, int, int]:
        natural = self.glyphs.natural_size(char)
        left, top, right, bottom = _cell_ink_box(cell, natural, cell.drawn_width(char))
        gw = max(1, round((right - left) * sx))
        gh = max(1, round((bottom - top) * sy))
        x0 = min(max(0, round((left + right) / 2 * sx - gw / 2)), out_w - gw)
        y0 = min(max(0, round(bottom * sy) - gh), out_h - gh)
        return x0, y0, x0 + gw, y0 + gh

    @staticmethod
    def _background_colour(number: PlateNumber, geo: PlateGeometry) -> RGB:
        """Rental construction machinery (serials 6000-9999, any form) is orange."""
        if is_orange_construction(number):
            return colors.ORANGE
        return geo.background

    def _relief(self, geo: PlateGeometry, out_w: int, out_h: int) -> _Relief | None:
        """The pressing at this size, or None for flat (film, or depth 0) plates."""
        key = (geo.plate_type, out_w, out_h)
        if key not in self._reliefs:
            scale = min(out_w / geo.width, out_h / geo.height)
            flat = geo.plate_type in FLAT_TYPES
            self._reliefs[key] = None if flat else _Relief.of(self.emboss_depth_mm, scale)
        return self._reliefs[key]

    # -- sprites ----------------------------------------------------------------------
    def _face(self, char: str, geo: PlateGeometry) -> DigitFace:
        """The typeface `char` is drawn in: the digits of a type whose geometry names the
        old face take it, unless the caller gave glyphs of their own (a font, a folder)."""
        if (
            geo.digit_face is DigitFace.OLD
            and old_digits.has(char)
            and isinstance(self.glyphs, BuiltinGlyphs)
        ):
            return DigitFace.OLD
        return DigitFace.NOTICE

    def _sprite(self, key: _SpriteKey) -> _Sprite:
        sprite = self._sprites.get(key)
        if sprite is None:
            sprite = self._sprites[key] = self._make_sprite(key)
        return sprite

    def _make_sprite(self, key: _SpriteKey) -> _Sprite:
        """Ink on the face, the lit bevel and the shadow, padded right and bottom for it;
        `trim` pixels off every side of the strokes (PlateGeometry.stroke_trim)."""
        char, w, h, ink, relief, trim, face = key
        if face is DigitFace.OLD:
            coverage = old_digits.coverage(char, w, h)
        else:
            coverage = np.asarray(self.glyphs.coverage(char, w, h), np.float32)
        coverage = _trimmed(coverage, trim)
        d = relief.pad if relief else 0
        outline = np.zeros((h + d, w + d), np.float32)
        outline[:h, :w] = coverage
        if relief is None:
            alpha = _three(outline)
            colour = np.empty((h, w, 3), np.float32)
            colour[:] = ink
            return _Sprite(colour * alpha, 1.0 - alpha, coverage)
        colour, transparency = _composite(*relief_layers(outline, relief), ink)
        return _Sprite(colour, transparency, coverage)

    # -- backgrounds --------------------------------------------------------------------
    def _background(self, geo: PlateGeometry, colour: RGB, out_w: int, out_h: int) -> _Background:
        key = (geo.plate_type, colour, out_w, out_h)
        background = self._backgrounds.get(key)
        if background is None:
            relief = self._relief(geo, out_w, out_h)
            mark = None
            if geo.business_mark is not None and not self.glyphs.missing({BUSINESS_MARK}):
                mark = functools.partial(self.glyphs.coverage, BUSINESS_MARK)
            pixels = _draw_background(geo, colour, out_w, out_h, relief, mark)
            pixels = np.clip(pixels + 0.5, 0, 255).astype(np.uint8)
            background = self._backgrounds[key] = _Background.of(pixels, colour)
        return background

    def _shaded_patch(self, placed: _Placed, shade: int, table: np.ndarray) -> np.ndarray:
        """A placed glyph's patch in a shade, made once. Keyed by the patch itself: cells
        that share a flat patch share its shades (the caches keep every patch alive, so
        ids are stable), and the patch fixes the nominal colour and ink the shade is of."""
        patch = cv2.LUT(placed.patch, table)
        self._shaded_patches[(id(placed.patch), shade)] = patch
        return patch

    def _shade(self, nominal: RGB, ink: RGB, shade: int) -> tuple[RGB, np.ndarray | None]:
        """(the colour, its look-up table) of shade `shade` of `nominal`'s range; a colour
        without a range stays as it is, with no table."""
        key = (nominal, ink, shade)
        found = self._shades.get(key)
        if found is None:
            if nominal in colors.COLOUR_RANGES:
                target = colors.shade(nominal, shade)
                found = (target, self._shade_table(nominal, target, ink))
            else:
                found = (nominal, None)
            self._shades[key] = found
        return found

    def _shaded_background(
        self,
        geo: PlateGeometry,
        nominal: RGB,
        shade: int,
        table: np.ndarray,
        out_w: int,
        out_h: int,
    ) -> np.ndarray:
        key = (geo.plate_type, nominal, shade, out_w, out_h)
        pixels = self._shaded_backgrounds.get(key)
        if pixels is None:
            plain = self._background(geo, nominal, out_w, out_h).pixels
            pixels = self._shaded_backgrounds[key] = cv2.LUT(plain, table)
        return pixels

    def _shade_table(self, nominal: RGB, target: RGB, ink: RGB) -> np.ndarray:
        """A per-channel look-up table that turns a plate drawn in `nominal` into one drawn
        in `target`: it moves the body colour and keeps black, white and the ink, and is
        linear between them, so the anti-aliased ink edges and the lit bevel (blends of
        the body with ink or white) come out as they would have been drawn. Only the
        shadow and the holes (blends with dark greys) move a little with the body."""
        key = (nominal, target, ink)
        table = self._shade_tables.get(key)
        if table is None:
            table = np.empty((256, 1, 3), np.uint8)
            levels = np.arange(256, dtype=np.float64)
            for channel in range(3):
                anchors = {0: 0.0, 255: 255.0, ink[channel]: float(ink[channel])}
                anchors[nominal[channel]] = float(target[channel])  # the body wins a tie
                xs = sorted(anchors)
                mapped = np.interp(levels, xs, [anchors[x] for x in xs])
                table[:, 0, channel] = np.clip(np.round(mapped), 0, 255).astype(np.uint8)
            self._shade_tables[key] = table
        return table


def number_geometry(number: PlateNumber) -> PlateGeometry:
    """The geometry a number is drawn with: its type's, or the rental face of a type whose
    rental plates look otherwise (spec.geometry.RENTAL_GEOMETRY). The renderer's caches key
    on the type and the plate's nominal colour, which tells the faces apart: a rental face
    is only drawn on the orange rental colour."""
    geo = geometry(number.type)
    if is_orange_construction(number):
        return RENTAL_GEOMETRY.get(number.type, geo)
    return geo


def _draw_business_mark(
    canvas: MmCanvas, mark: tuple[float, float, float], ink: RGB, glyph: GlyphCoverage
) -> None:
    """The circled 영 of business-use plates: a ring with the syllable inside."""
    cx, cy, diameter = mark
    radius = diameter / 2
    ring = canvas.rect(cx - radius, cy - radius, cx + radius, cy + radius)
    canvas.draw.ellipse(ring, outline=ink, width=max(1, canvas.width(0.08 * diameter)))
    x0, y0, x1, y1 = canvas.rect(
        cx - 0.3 * diameter, cy - 0.3 * diameter, cx + 0.3 * diameter, cy + 0.3 * diameter
    )
    w, h = max(1, round(x1 - x0)), max(1, round(y1 - y0))
    coverage = np.clip(glyph(w, h) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    canvas.image.paste(
        Image.new("RGB", (w, h), ink), (round(x0), round(y0)), Image.fromarray(coverage)
    )


def _draw_background(
    geo: PlateGeometry,
    colour: RGB,
    out_w: int,
    out_h: int,
    relief: _Relief | None,
    mark: GlyphCoverage | None = None,
) -> np.ndarray:
    """The plate without characters: body, emblems, border line, business mark and holes
    (float32). `mark` draws the business mark's syllable where the geometry has one."""
    ss = max(1, min(4, MAX_SUPERSAMPLED_WIDTH // out_w))
    size = (out_w * ss, out_h * ss)
    canvas = MmCanvas(Image.new("RGB", size, SURROUND), size[0] / geo.width, size[1] / geo.height)
    radius = canvas.width(geo.corner_radius)
    rounded_rectangle(canvas.draw, [0, 0, size[0] - 1, size[1] - 1], radius, fill=colour)
    draw_emblems(canvas, geo.emblems, geo.width, geo.height, colour)
    border_colour = geo.border  # in the ink colour, on orange plates too
    inset_x, inset_y = geo.border_inset
    border_box = canvas.rect(inset_x, inset_y, geo.width - inset_x, geo.height - inset_y)
    if relief is None:
        rounded_rectangle(
            canvas.draw,
            border_box,
            canvas.width(10.0),
            outline=border_colour,
            width=canvas.width(geo.border_width),
        )
    else:
        # Pressed, the border line is drawn like a character: ink on its face, lit sides.
        raised = Image.new("L", size, 0)
        rounded_rectangle(
            ImageDraw.Draw(raised),
            border_box,
            canvas.width(10.0),
            outline=255,
            width=canvas.width(geo.border_width),
        )
    if geo.business_mark is not None and mark is not None:
        _draw_business_mark(canvas, geo.business_mark, geo.ink, mark)
    for hole in geo.holes:
        box = canvas.rect(
            hole.cx - hole.w / 2, hole.cy - hole.h / 2, hole.cx + hole.w / 2, hole.cy + hole.h / 2
        )
        rounded_rectangle(
            canvas.draw,
            box,
            canvas.width(min(hole.w, hole.h) / 2),
            fill=SURROUND,
            outline=(120, 122, 126),
            width=canvas.width(0.8),
        )
    pixels = _box_down(canvas.image, out_w, out_h)
    if relief is not None:
        outline = _box_down(raised, out_w, out_h) / np.float32(255.0)
        colour_layer, transparency = _composite(*relief_layers(outline, relief), border_colour)
        pixels *= transparency
        pixels += colour_layer
    return pixels


def _box_down(image: Image.Image, out_w: int, out_h: int) -> np.ndarray:
    """Area-average a supersampled canvas to the output size, as float32.

    At an integer factor Pillow's `reduce` is a box filter that runs on the image in
    place, ~4x quicker than `resize(BOX)` or than handing the big canvas to numpy.
    """
    factor = (image.width // out_w, image.height // out_h)
    exact = image.width == factor[0] * out_w and image.height == factor[1] * out_h
    small = image.reduce(factor) if exact else image.resize((out_w, out_h), Image.Resampling.BOX)
    return np.asarray(small, np.float32)


@functools.cache
def default_renderer() -> Renderer:
    """A shared renderer with the built-in typeface, for one-off calls."""
    return Renderer()


def render_plate(
    text: str,
    plate_type: PlateType | str | None = None,
    *,
    height: int | None = None,
    width: int | None = None,
) -> RenderedPlate:
    """Render one clean plate with the built-in typeface: `render_plate("12가3456").image`."""
    return default_renderer().render(text, plate_type, height=height, width=width)


__all__ = [
    "MAX_SIDE",
    "MIN_SIDE",
    "RenderedPlate",
    "Renderer",
    "check_emboss_depth",
    "check_size",
    "output_size",
    "render_plate",
]
