"""Compose a clean plate: a cached background (colour, border, holes, emblems) plus cached
glyph sprites pasted into the regulation cells, with a raised, embossed look.

Its caches (backgrounds, glyph sprites, placed glyphs, flat patches and a reusable output
buffer) are keyed by output size, so a run that renders thousands of plates at one
height draws each background and each glyph once; a plate then costs a handful of
small alpha blends. That is what makes generation close to JPEG-encoding speed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw

from kplate.errors import KplateError, OptionError
from kplate.numbers import PlateNumber, is_orange_construction, validate
from kplate.render.emblems import MmCanvas, draw_emblems, rounded_rectangle
from kplate.render.glyphs import NOMINAL_HEIGHT, GlyphSource, glyph_source, require
from kplate.render.record import CharBox, PlateRecord
from kplate.spec import colors
from kplate.spec.colors import RGB
from kplate.spec.geometry import NARROW_ASPECT, Cell, GlyphKind, PlateGeometry, geometry
from kplate.spec.types import PlateType

#: What shows through the holes and beyond the rounded corners: a dark car-body grey.
SURROUND: RGB = (52, 54, 58)
#: Emboss: characters are pressed 1.3-1.6 mm high; lit from the top left, they show a
#: light edge there and cast a shadow to the bottom right, about 0.7 mm wide.
EMBOSS_MM = 0.7
SHADOW_STRENGTH = 0.38
HIGHLIGHT_STRENGTH = 0.30
MAX_SUPERSAMPLED_WIDTH = 4096
DEFAULT_HEIGHT = 110
#: The accepted image sides in pixels, given or derived. Below 8 a plate is no longer a
#: plate; at 2048 x 2048 one renderer with all 15 types cached holds about 1.4 GB.
MIN_SIDE = 8
MAX_SIDE = 2048


@dataclass(frozen=True)
class RenderedPlate:
    """A clean plate image (H x W x 3 uint8 RGB), its label record and optionally its ink."""

    image: np.ndarray
    record: PlateRecord
    ink_mask: np.ndarray | None = None


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


def _shift_down_right(mask: np.ndarray, d: int) -> np.ndarray:
    shifted = np.zeros_like(mask)
    shifted[d:, d:] = mask[:-d, :-d]
    return shifted


def _three(plane: np.ndarray) -> np.ndarray:
    """(H, W) -> (H, W, 3). numpy broadcasts an (H, W, 1) operand over colour ~8x slower
    than it multiplies two arrays of one shape, so per-pixel factors are made RGB first."""
    return cv2.merge((plane, plane, plane))


def emboss(image: np.ndarray, mask: np.ndarray, d: int) -> np.ndarray:
    """Light the raised parts in `mask` from the top left: highlight edge and drop shadow."""
    raised = _shift_down_right(mask, d)
    highlight = mask * (1.0 - raised)
    shadow = raised * (1.0 - mask)
    out = image.astype(np.float32)
    out *= _three(1.0 - SHADOW_STRENGTH * shadow)
    out += (255.0 - out) * _three(HIGHLIGHT_STRENGTH * highlight)
    return out


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

    def __init__(self, glyphs: GlyphSource | None = None, *, emboss: bool = True) -> None:
        self.glyphs = glyphs or glyph_source()
        self.emboss = emboss
        self._backgrounds: dict[tuple[PlateType, RGB, int, int], _Background] = {}
        self._sprites: dict[tuple[str, int, int, RGB, int], _Sprite] = {}
        self._placed: dict[tuple, _Placed] = {}
        self._flat_patches: dict[tuple, np.ndarray] = {}
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
    ) -> RenderedPlate:
        """Draw a validated number. With `reuse`, the image is drawn into a buffer that
        the next `reuse` call of the same size overwrites: for callers that encode each
        plate at once, it spares a fresh page-faulted allocation per plate."""
        geo = geometry(number.type)
        require(self.glyphs, number.text)
        try:
            cells = geo.layout_for(number.text)
        except KeyError:
            raise KplateError(f"{number.text}: no {number.type} layout for this form") from None
        out_w, out_h = output_size(geo, height, width)
        background_colour = self._background_colour(number, geo)
        background = self._background(geo, background_colour, out_w, out_h).pixels
        if reuse:
            image = self._scratch.get((out_h, out_w))
            if image is None:
                image = self._scratch[(out_h, out_w)] = np.empty_like(background)
            np.copyto(image, background)
        else:
            image = background.copy()
        # Orange construction plates keep their type's ink: black on the 2022 national
        # plate, white on the older regional ones (spec/colors.py).
        ink = geo.ink
        d = self._emboss_px(out_w / geo.width, out_h / geo.height)
        ink_mask = np.zeros((out_h, out_w), np.float32) if with_ink_mask else None
        boxes = []
        for index, (char, cell) in enumerate(zip(number.text, cells, strict=True)):
            key = (geo.plate_type, background_colour, out_w, out_h, len(cells), index, char)
            placed = self._placed.get(key)
            if placed is None:
                placed = self._placed[key] = self._place_glyph(
                    char, cell, geo, background_colour, ink, out_w, out_h, d
                )
            x0, y0, x1, y1 = placed.box
            patch_h, patch_w = placed.patch.shape[:2]
            image[y0 : y0 + patch_h, x0 : x0 + patch_w] = placed.patch
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
        return RenderedPlate(image, record, ink_mask)

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
        d: int,
    ) -> _Placed:
        """Box, sprite and blended patch of one glyph in one cell (computed once, then cached).

        Over a flat patch of background the blended pixels do not depend on the position,
        so those patches are shared between cells; over emblems they are made per cell.
        """
        box = self._place(char, cell, out_w / geo.width, out_h / geo.height, out_w, out_h)
        w, h = box[2] - box[0], box[3] - box[1]
        sprite = self._sprite(char, w, h, ink, d)
        background = self._background(geo, colour, out_w, out_h)
        flat = background.is_plain(box[0], box[1], w + d, h + d)
        flat_key = (char, w, h, ink, d, colour)
        patch = self._flat_patches.get(flat_key) if flat else None
        if patch is None:
            patch = _patch(background.pixels, sprite, box)
            if flat and patch.shape[:2] == (h + d, w + d):
                self._flat_patches[flat_key] = patch
        return _Placed(box, sprite, patch, CharBox(char, box))

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

    def _emboss_px(self, sx: float, sy: float) -> int:
        return max(1, round(EMBOSS_MM * min(sx, sy))) if self.emboss else 0

    # -- sprites ----------------------------------------------------------------------
    def _sprite(self, char: str, w: int, h: int, ink: RGB, d: int) -> _Sprite:
        key = (char, w, h, ink, d)
        sprite = self._sprites.get(key)
        if sprite is None:
            sprite = self._sprites[key] = self._make_sprite(char, w, h, ink, d)
        return sprite

    def _make_sprite(self, char: str, w: int, h: int, ink: RGB, d: int) -> _Sprite:
        coverage = np.asarray(self.glyphs.coverage(char, w, h), np.float32)
        mask = np.zeros((h + d, w + d), np.float32)
        mask[:h, :w] = coverage
        colour = np.empty((h + d, w + d, 3), np.float32)
        colour[:] = ink
        alpha = mask
        if d:
            raised = _shift_down_right(mask, d)
            highlight = mask * (1.0 - raised)
            shadow = raised * (1.0 - mask)
            colour += (255.0 - colour) * _three(HIGHLIGHT_STRENGTH * highlight)
            # The shadow darkens whatever lies beneath: colour black with partial alpha.
            alpha = mask + SHADOW_STRENGTH * shadow
            colour *= _three(mask / np.maximum(alpha, 1e-6))
        alpha = _three(np.clip(alpha, 0.0, 1.0))
        return _Sprite(colour * alpha, 1.0 - alpha, coverage)

    # -- backgrounds --------------------------------------------------------------------
    def _background(self, geo: PlateGeometry, colour: RGB, out_w: int, out_h: int) -> _Background:
        key = (geo.plate_type, colour, out_w, out_h)
        background = self._backgrounds.get(key)
        if background is None:
            pixels = _draw_background(geo, colour, out_w, out_h, self.emboss)
            background = self._backgrounds[key] = _Background.of(pixels, colour)
        return background


def _draw_background(
    geo: PlateGeometry, colour: RGB, out_w: int, out_h: int, with_emboss: bool
) -> np.ndarray:
    """The plate without characters: body, emblems, border line and holes."""
    ss = max(1, min(4, MAX_SUPERSAMPLED_WIDTH // out_w))
    size = (out_w * ss, out_h * ss)
    canvas = MmCanvas(Image.new("RGB", size, SURROUND), size[0] / geo.width, size[1] / geo.height)
    raised = MmCanvas(Image.new("L", size, 0), canvas.scale_x, canvas.scale_y)
    radius = canvas.width(geo.corner_radius)
    rounded_rectangle(canvas.draw, [0, 0, size[0] - 1, size[1] - 1], radius, fill=colour)
    draw_emblems(canvas, geo.emblems, geo.width, geo.height, colour)
    border_colour = geo.border  # in the ink colour, on orange plates too
    border_box = canvas.rect(2.0, 2.0, geo.width - 2.0, geo.height - 2.0)
    for target, fill in ((canvas, border_colour), (raised, 255)):
        rounded_rectangle(
            ImageDraw.Draw(target.image),
            border_box,
            canvas.width(10.0),
            outline=fill,
            width=canvas.width(2.0),
        )
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
    if with_emboss:
        mask = _box_down(raised.image, out_w, out_h)
        d = max(1, round(EMBOSS_MM * min(out_w / geo.width, out_h / geo.height)))
        pixels = emboss(pixels, mask / 255.0, d)
    return np.clip(pixels + 0.5, 0, 255).astype(np.uint8)


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
    "check_size",
    "output_size",
    "render_plate",
]
