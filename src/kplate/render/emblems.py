"""Plate artwork besides the characters: EV emblems and pattern, the film plate's band.

Drawn with Pillow in millimetre coordinates on a supersampled canvas (`MmCanvas`), so one
drawing serves every output size. Shapes follow the positions of 별표18 and the film
plate's press photos; the artwork itself is simplified (docs/plate-types.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image, ImageDraw

from kplate.spec import colors
from kplate.spec.colors import RGB
from kplate.spec.geometry import Emblem


@dataclass
class MmCanvas:
    """A Pillow drawing whose coordinates are millimetres on the plate."""

    image: Image.Image
    scale_x: float  # canvas pixels per mm
    scale_y: float

    @property
    def draw(self) -> ImageDraw.ImageDraw:
        return ImageDraw.Draw(self.image)

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return x * self.scale_x, y * self.scale_y

    def rect(self, x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [x0 * self.scale_x, y0 * self.scale_y, x1 * self.scale_x, y1 * self.scale_y]

    def width(self, mm: float) -> int:
        return max(1, round(mm * min(self.scale_x, self.scale_y)))

    def polyline(self, points: list[tuple[float, float]], fill: RGB, width_mm: float) -> None:
        self.draw.line(
            [self.xy(x, y) for x, y in points], fill=fill, width=self.width(width_mm), joint="curve"
        )

    def polygon(self, points: list[tuple[float, float]], fill: RGB) -> None:
        self.draw.polygon([self.xy(x, y) for x, y in points], fill=fill)

    def circle(
        self,
        cx: float,
        cy: float,
        r: float,
        fill: RGB | None = None,
        outline: RGB | None = None,
        width_mm: float = 0.0,
    ) -> None:
        width = self.width(width_mm) if outline is not None else 0
        self.draw.ellipse(
            self.rect(cx - r, cy - r, cx + r, cy + r), fill=fill, outline=outline, width=width
        )


def rounded_rectangle(
    draw: ImageDraw.ImageDraw,
    box: list[float],
    radius: int,
    *,
    fill: RGB | int | None = None,
    outline: RGB | int | None = None,
    width: int = 1,
) -> None:
    """Pillow's rounded rectangle, for every box a plate size can produce.

    Pillow (10-13) joins the corners of an axis whose rounded length is at most the corner
    diameter + 1; when only the vertical axis joins and the box is less than two pixels
    wider than tall, it then asks for an outline segment that ends before it starts and
    raises "x1 must be greater than or equal to x0". Such a box (a mounting hole squeezed
    by a forced --width, say) is round in all but a pixel: it is drawn as the ellipse
    Pillow itself draws when both axes join. Every other box keeps Pillow's pixels.
    """
    try:
        draw.rounded_rectangle(box, radius=radius, fill=fill, outline=outline, width=width)
    except ValueError:
        if box[2] < box[0] or box[3] < box[1]:
            raise
        draw.ellipse(box, fill=fill, outline=outline, width=width)


def taegeuk(canvas: MmCanvas, cx: float, cy: float, r: float, ring: RGB | None = None) -> None:
    """The red-over-blue Taegeuk: two half discs and two smaller discs that make the S curve."""
    draw = canvas.draw
    box = canvas.rect(cx - r, cy - r, cx + r, cy + r)
    draw.pieslice(box, 180, 360, fill=colors.TAEGEUK_RED)
    draw.pieslice(box, 0, 180, fill=colors.TAEGEUK_BLUE)
    canvas.circle(cx - r / 2, cy, r / 2, fill=colors.TAEGEUK_RED)
    canvas.circle(cx + r / 2, cy, r / 2, fill=colors.TAEGEUK_BLUE)
    if ring is not None:
        canvas.circle(cx, cy, r, outline=ring, width_mm=max(0.8, r * 0.08))


def ev_pattern(canvas: MmCanvas, width: float, height: float, base: RGB) -> None:
    """Faint 15 mm medallions on a 25 mm grid, 10 mm from the edges (별표18 background)."""
    ring = tuple(max(0, c - 14) for c in base)
    y = 10.0 + 7.5
    while y < height - 5:
        x = 10.0 + 7.5
        while x < width - 5:
            canvas.circle(x, y, 7.5, outline=ring, width_mm=0.6)  # type: ignore[arg-type]
            canvas.circle(x, y, 3.2, outline=ring, width_mm=0.5)  # type: ignore[arg-type]
            x += 25.0
        y += 25.0


def ev_pictogram(canvas: MmCanvas) -> None:
    """The plug pictogram in x 6.8-42.6, y 13.5-42.7: a plug head with two pins and a cable."""
    blue, fill = colors.EV_PICTOGRAM_BLUE, colors.EV_PICTOGRAM_FILL
    rounded_rectangle(
        canvas.draw,
        canvas.rect(8.5, 14.5, 41.0, 41.5),
        radius=canvas.width(6),
        outline=blue,
        width=canvas.width(1.6),
    )
    rounded_rectangle(canvas.draw, canvas.rect(16.5, 22.0, 31.0, 33.0), canvas.width(3), fill=fill)
    for pin_y in (24.5, 30.5):
        canvas.draw.rectangle(canvas.rect(31.0, pin_y - 1.0, 36.0, pin_y + 1.0), fill=fill)
    canvas.polyline([(16.5, 27.5), (12.0, 27.5), (12.0, 36.0), (20.0, 36.0)], fill, 1.6)


def ev_logo(canvas: MmCanvas) -> None:
    """The right-hand EV mark in its 35.2 x 41.2 mm box at (477, 34.4): a lightning bolt."""
    x, y, w, h = 477.0, 34.4, 35.2, 41.2
    bolt = [(0.62, 0.0), (0.18, 0.56), (0.47, 0.56), (0.34, 1.0), (0.84, 0.40), (0.54, 0.40)]
    canvas.polygon([(x + px * w, y + py * h) for px, py in bolt], colors.EV_PICTOGRAM_BLUE)


# Stroke skeletons of the Latin letters the artwork uses, in a 1x1 box.
_LETTERS: dict[str, list[list[tuple[float, float]]]] = {
    "K": [[(0, 0), (0, 1)], [(0.9, 0), (0.05, 0.55)], [(0.35, 0.38), (0.95, 1)]],
    "O": [
        [
            (0.5 + 0.45 * math.cos(a / 16 * math.tau), 0.5 + 0.5 * math.sin(a / 16 * math.tau))
            for a in range(17)
        ]
    ],
    "R": [
        [(0, 1), (0, 0), (0.6, 0), (0.85, 0.12), (0.85, 0.38), (0.6, 0.5), (0, 0.5)],
        [(0.45, 0.5), (0.9, 1)],
    ],
}


def latin_text(
    canvas: MmCanvas, text: str, x: float, y: float, w: float, h: float, fill: RGB
) -> None:
    """Letters as strokes, so the artwork needs no font file."""
    advance = w / len(text)
    stroke = h * 0.16
    for i, letter in enumerate(text):
        lx = x + i * advance + advance * 0.12
        lw = advance * 0.7
        for path in _LETTERS[letter]:
            canvas.polyline([(lx + px * lw, y + py * h) for px, py in path], fill, stroke)


def film_band(canvas: MmCanvas, height: float) -> None:
    """The film plate's left band (x 3-54 mm): a navy-to-blue gradient with Taegeuk and KOR."""
    x0, x1, y0, y1 = 3.0, 54.0, 3.0, height - 3.0
    top, bottom = colors.FILM_BAND_TOP, colors.FILM_BAND_BOTTOM
    steps = 48
    for i in range(steps):
        t = i / (steps - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        ya = y0 + (y1 - y0) * i / steps
        yb = y0 + (y1 - y0) * (i + 1) / steps + 0.2
        canvas.draw.rectangle(canvas.rect(x0, ya, x1, yb), fill=colour)  # type: ignore[arg-type]
    cx = (x0 + x1) / 2
    taegeuk(canvas, cx, y0 + 0.34 * (y1 - y0), 17.0, ring=colors.WHITE)
    # The hologram: a small silvery oval between the Taegeuk and the lettering.
    canvas.draw.ellipse(
        canvas.rect(cx - 9, y0 + 0.62 * (y1 - y0) - 4, cx + 9, y0 + 0.62 * (y1 - y0) + 4),
        fill=(176, 186, 204),
    )
    latin_text(canvas, "KOR", x0 + 6, y1 - 17, x1 - x0 - 12, 11, colors.WHITE)


def draw_emblems(
    canvas: MmCanvas, emblems: tuple[Emblem, ...], width: float, height: float, background: RGB
) -> None:
    """Draw each emblem the plate type lists, in the order given (pattern first)."""
    for emblem in emblems:
        if emblem is Emblem.EV_PATTERN:
            ev_pattern(canvas, width, height, background)
        elif emblem is Emblem.EV_PICTOGRAM:
            ev_pictogram(canvas)
        elif emblem is Emblem.EV_TAEGEUK:
            canvas.circle(
                24.7, 78.6, 17.9, fill=colors.WHITE, outline=colors.EV_PICTOGRAM_BLUE, width_mm=1.0
            )
            taegeuk(canvas, 24.7, 78.6, 12.5)
        elif emblem is Emblem.EV_LOGO:
            ev_logo(canvas)
        elif emblem is Emblem.FILM_BAND:
            film_band(canvas, height)
