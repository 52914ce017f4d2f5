"""Plate artwork besides the characters: the electric plate's emblems and pattern, the film
plate's band.

Drawn with Pillow in millimetre coordinates on a supersampled canvas (`MmCanvas`), so one
drawing serves every output size; the renderer draws it once per size into the cached
background. Positions and sizes are 별표18's (notice 2018-529 pp. 47-48, the numbers below
name their page); the shapes are kplate's own tracing of its artwork, and the film band
follows photographs (docs/plate-types.md, "Electric and film plate artwork").

Every electric emblem is pale blue on the sky-blue plate, as on real plates: a
high-contrast mark beside the first or last character is read as one more character by
a recogniser. `EV_MAX_CONTRAST` bounds how far any emblem pixel's luminance may move
from the plate's.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from kplate.spec import colors
from kplate.spec.colors import RGB
from kplate.spec.geometry import Emblem

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in mm

#: 별표18 p. 48 ("다. 상징 문양"): the emblem boxes. Left column x 4.0 + 2.8 = 6.8 to
#: 6.8 + 35.8; pictogram y 13.5 + 29.2, medallion 13.5 + 29.2 + 18.0 = 60.7 to + 35.8;
#: EV logo 1.0 mm right of the last cell (476) and 3.8 mm left of the border (516), 35.2
#: wide, 41.2 high between 34.4 mm margins.
EV_PICTOGRAM_BOX: Box = (6.8, 13.5, 42.6, 42.7)
EV_MEDALLION_BOX: Box = (6.8, 60.7, 42.6, 96.5)
EV_LOGO_BOX: Box = (477.0, 34.4, 512.2, 75.6)
EV_EMBLEM_BOXES: dict[Emblem, Box] = {
    Emblem.EV_PICTOGRAM: EV_PICTOGRAM_BOX,
    Emblem.EV_TAEGEUK: EV_MEDALLION_BOX,
    Emblem.EV_LOGO: EV_LOGO_BOX,
}
#: The largest luminance difference (Rec. 709, 0-255) an emblem pixel may have from the
#: sky-blue plate: about a third of the characters' 183. Real plates (real_dev
#: EV_blue_2digit) show the outlines 40-75 below the plate, their fills about 25.
EV_MAX_CONTRAST = 70.0

#: 별표18 p. 47 ("나. 바탕 문양"): six rows of 14.5 x 14.1 mm Taegeuk swirls, 2.7 mm
#: apart across (pitch 17.2, the first 12.0 mm from the edge) and 2.8 mm apart down, from
#: y 4.0 + 1.7 = 5.7; the rows alternate by half a pitch (the detail drawing below it).
SWIRL_SIZE = (14.5, 14.1)
SWIRL_PITCH = (14.5 + 2.7, 14.1 + 2.8)
SWIRL_ORIGIN = (12.0, 5.7)
SWIRL_ROWS = 6
#: 별표18 p. 48 ("라. 홀로그램 패턴"): 15 mm hologram medallions on a 25 mm grid, x from
#: 10 mm, y 5, 30, 55, 80, 105; rows at y 5/55/105 hold x 35, 85, ..., 485, rows at y 30/80
#: hold x 10, 60, ..., 510 (a chequerboard).
HOLOGRAM_DIAMETER = 15.0
HOLOGRAM_GRID = 25.0
HOLOGRAM_X0 = 10.0
HOLOGRAM_ROWS = (5.0, 30.0, 55.0, 80.0, 105.0)

#: The film plate's band (photographs: real_dev private_3digit_blue_band crops).
FILM_BAND_BOX: Box = (3.0, 3.0, 54.0, 107.0)
#: "KOR": bold (stroke 0.24 of the letter height) and italic (leaning 15 degrees).
KOR_SLANT = math.tan(math.radians(15.0))
KOR_STROKE = 0.24


@dataclass
class MmCanvas:
    """A Pillow drawing whose coordinates are millimetres on the plate."""

    image: Image.Image
    scale_x: float  # canvas pixels per mm
    scale_y: float

    @functools.cached_property
    def draw(self) -> ImageDraw.ImageDraw:
        """One drawing context per canvas: making one costs more than a short line."""
        return ImageDraw.Draw(self.image)

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return x * self.scale_x, y * self.scale_y

    def rect(self, x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [x0 * self.scale_x, y0 * self.scale_y, x1 * self.scale_x, y1 * self.scale_y]

    def width(self, mm: float) -> int:
        return max(1, round(mm * min(self.scale_x, self.scale_y)))

    def polyline(self, points: list[Point], fill: RGB, width_mm: float) -> None:
        self.draw.line(
            [self.xy(x, y) for x, y in points], fill=fill, width=self.width(width_mm), joint="curve"
        )

    def polygon(self, points: list[Point], fill: RGB) -> None:
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

    def arc(
        self, cx: float, cy: float, r: float, start: float, end: float, fill: RGB, width_mm: float
    ) -> None:
        """Pillow's arc: degrees clockwise from 3 o'clock (y grows downwards)."""
        box = self.rect(cx - r, cy - r, cx + r, cy + r)
        self.draw.arc(box, start, end, fill=fill, width=self.width(width_mm))


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


def _arc_points(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float) -> list[Point]:
    """Points along an elliptical arc, degrees clockwise from 3 o'clock (screen axes)."""
    steps = max(2, int(abs(a1 - a0) / 10) + 1)
    return [
        (
            cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / steps)),
            cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / steps)),
        )
        for i in range(steps + 1)
    ]


def taegeuk(canvas: MmCanvas, cx: float, cy: float, r: float, top: RGB, bottom: RGB) -> None:
    """The Taegeuk: two half discs and two smaller discs that make the S curve.

    The top colour bulges into the lower left, the bottom colour into the upper right, as
    on the flag (unrotated). Real plates draw it in two blues, never in red.
    """
    draw = canvas.draw
    box = canvas.rect(cx - r, cy - r, cx + r, cy + r)
    draw.pieslice(box, 180, 360, fill=top)
    draw.pieslice(box, 0, 180, fill=bottom)
    canvas.circle(cx - r / 2, cy, r / 2, fill=top)
    canvas.circle(cx + r / 2, cy, r / 2, fill=bottom)


def swirl(canvas: MmCanvas, cx: float, cy: float, r: float, fill: RGB, width_mm: float) -> None:
    """A Taegeuk drawn as lines: its circle and its S curve (the background motif)."""
    canvas.circle(cx, cy, r, outline=fill, width_mm=width_mm)
    canvas.arc(cx - r / 2, cy, r / 2, 180, 360, fill, width_mm)
    canvas.arc(cx + r / 2, cy, r / 2, 0, 180, fill, width_mm)


def ev_pattern(canvas: MmCanvas, width: float, height: float) -> None:
    """The background (p. 47 나): rows of faint swirls; over them the hologram medallions
    (p. 48 라). Both a shade off the sky blue: they texture the plate, they are not read."""
    # Drawn on a copy and pasted through the area inside the border (4 mm in, R8 corners,
    # p. 47), so no motif spills over the border or past the plate's rounded corners.
    layer = MmCanvas(canvas.image.copy(), canvas.scale_x, canvas.scale_y)
    _pattern(layer, width)
    mask = Image.new("L", canvas.image.size, 0)
    inside = canvas.rect(4.0, 4.0, width - 4.0, height - 4.0)
    rounded_rectangle(ImageDraw.Draw(mask), inside, canvas.width(8.0), fill=255)
    canvas.image.paste(layer.image, (0, 0), mask)


def _pattern(canvas: MmCanvas, width: float) -> None:
    rx, ry = SWIRL_SIZE[0] / 2, SWIRL_SIZE[1] / 2
    for row in range(SWIRL_ROWS):
        cy = SWIRL_ORIGIN[1] + row * SWIRL_PITCH[1] + ry
        x = SWIRL_ORIGIN[0] + rx - (SWIRL_PITCH[0] / 2 if row % 2 else 0.0)
        while x - rx < width:
            swirl(canvas, x, cy, min(rx, ry), colors.EV_PATTERN_LINE, 0.45)
            x += SWIRL_PITCH[0]
    for row, cy in enumerate(HOLOGRAM_ROWS):
        x = HOLOGRAM_X0 + (HOLOGRAM_GRID if row % 2 == 0 else 0.0)
        while x <= width - HOLOGRAM_X0 + 1e-6:
            hologram_medallion(canvas, x, cy)
            x += 2 * HOLOGRAM_GRID


def hologram_medallion(canvas: MmCanvas, cx: float, cy: float) -> None:
    """A 15 mm medallion: rim, a ring of fine marks for its 1.5 mm lettering, a swirl."""
    line = colors.EV_HOLOGRAM_LINE
    r = HOLOGRAM_DIAMETER / 2
    canvas.circle(cx, cy, r, outline=line, width_mm=0.7)
    canvas.circle(cx, cy, r * 0.58, outline=line, width_mm=0.4)
    _mark_ring(canvas, cx, cy, r * 0.79, 1.4, 24, line, 0.35)
    swirl(canvas, cx, cy, r * 0.42, line, 0.35)


def _mark_ring(
    canvas: MmCanvas,
    cx: float,
    cy: float,
    radius: float,
    length: float,
    count: int,
    fill: RGB,
    width_mm: float,
) -> None:
    """Short radial marks around a circle: lettering too small to draw as letters."""
    for i in range(count):
        a = math.tau * i / count
        c, s = math.cos(a), math.sin(a)
        inner, outer = radius - length / 2, radius + length / 2
        canvas.polyline(
            [(cx + c * inner, cy + s * inner), (cx + c * outer, cy + s * outer)], fill, width_mm
        )


# The pictogram (p. 47 가, traced): a car seen from the side, facing right, with a plug
# inside whose cord leaves through its back. Coordinates are fractions of the 35.8 x 29.2
# mm box (u across, v down); the wheels are arcs, added in mm by `_car_outline`.
_CAR_TOP = [
    (0.0, 0.72),
    (0.0, 0.14),
    (0.03, 0.04),
    (0.11, 0.0),
    (0.58, 0.0),
    (0.64, 0.04),
    (0.80, 0.30),
    (0.92, 0.36),
    (0.99, 0.46),
    (1.0, 0.56),
    (1.0, 0.70),
    (0.96, 0.78),
]
_PLUG_HEAD = (0.24, 0.20, 0.51, 0.61)
_PLUG_PINS = (0.33, 0.50)  # v of the two pins, which reach u 0.69
_CORD_V = 0.39


def _car_outline(box: Box) -> list[Point]:
    """The car's closed outline in mm: body, front wheel, underside, rear wheel."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    points = [(x0 + u * w, y0 + v * h) for u, v in _CAR_TOP]
    wheel_r = 0.145 * w
    axle_y = y0 + 0.78 * h
    for axle_u in (0.775, 0.225):  # front wheel then rear, drawn right to left
        points += _arc_points(x0 + axle_u * w, axle_y, wheel_r, y1 - axle_y, 0, 180)
    points.append((x0, y0 + 0.72 * h))
    return points


def ev_pictogram(canvas: MmCanvas, background: RGB) -> None:
    """The car-and-cord pictogram in its 별표18 box, as a double outline with a filled plug."""
    line, fill = colors.EV_EMBLEM_LINE, colors.EV_EMBLEM_FILL
    box = _inset(EV_PICTOGRAM_BOX, 1.2)
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    outline = _car_outline(box)
    cord = [(x0, y0 + _CORD_V * h), (x0 + _PLUG_HEAD[0] * w, y0 + _CORD_V * h)]
    # A double line: a 2.4 mm band in the line colour with its middle 0.9 mm in the
    # plate colour, as the artwork draws the outline and the cord.
    for path in (outline, cord):
        canvas.polyline(path, line, 2.4)
    for path in (outline, cord):
        canvas.polyline(path, background, 0.9)
    for pin_v in _PLUG_PINS:
        pin = (
            x0 + _PLUG_HEAD[2] * w - 0.5,
            y0 + pin_v * h - 1.0,
            x0 + 0.69 * w,
            y0 + pin_v * h + 1.0,
        )
        canvas.draw.rectangle(canvas.rect(*pin), fill=fill, outline=line, width=canvas.width(0.5))
    head = canvas.rect(
        *(
            x0 + _PLUG_HEAD[0] * w,
            y0 + _PLUG_HEAD[1] * h,
            x0 + _PLUG_HEAD[2] * w,
            y0 + _PLUG_HEAD[3] * h,
        )
    )
    rounded_rectangle(
        canvas.draw, head, canvas.width(1.5), fill=fill, outline=line, width=canvas.width(0.6)
    )


def _inset(box: Box, mm: float) -> Box:
    return box[0] + mm, box[1] + mm, box[2] - mm, box[3] - mm


# Stroke skeletons of the letters the artwork uses, in a 1 x 1 box (u across, v down).
def _ellipse(
    u0: float, v0: float, u1: float, v1: float, a0: float = 0, a1: float = 360
) -> list[Point]:
    return _arc_points((u0 + u1) / 2, (v0 + v1) / 2, (u1 - u0) / 2, (v1 - v0) / 2, a0, a1)


_LETTERS: dict[str, list[list[Point]]] = {
    " ": [],
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.22, 0.62), (0.78, 0.62)]],
    "B": [
        [(0, 0), (0, 1), (0.68, 1), (0.95, 0.87), (0.95, 0.63), (0.68, 0.5), (0, 0.5)],
        [(0, 0), (0.62, 0), (0.88, 0.12), (0.88, 0.38), (0.62, 0.5)],
    ],
    "C": [_ellipse(0, 0, 1, 1, 45, 315)],
    "E": [[(0.9, 0), (0, 0), (0, 1), (0.9, 1)], [(0, 0.5), (0.75, 0.5)]],
    "F": [[(0.9, 0), (0, 0), (0, 1)], [(0, 0.5), (0.72, 0.5)]],
    "I": [[(0.5, 0), (0.5, 1)]],
    "K": [[(0, 0), (0, 1)], [(0.9, 0), (0.05, 0.6)], [(0.35, 0.38), (0.95, 1)]],
    "L": [[(0, 0), (0, 1), (0.85, 1)]],
    "O": [_ellipse(0, 0, 1, 1)],
    "P": [[(0, 1), (0, 0), (0.65, 0), (0.92, 0.13), (0.92, 0.39), (0.65, 0.52), (0, 0.52)]],
    "R": [
        [(0, 1), (0, 0), (0.62, 0), (0.88, 0.12), (0.88, 0.38), (0.62, 0.5), (0, 0.5)],
        [(0.45, 0.5), (0.92, 1)],
    ],
    "U": [[(0, 0), *_ellipse(0, 0.4, 1, 1, 180, 0), (1, 0)]],
    "대": [
        [(0.55, 0.15), (0.05, 0.15), (0.05, 0.85), (0.58, 0.85)],
        [(0.58, 0.5), (0.74, 0.5)],
        [(0.74, 0), (0.74, 1)],
        [(0.96, 0), (0.96, 1)],
    ],
    "한": [
        [(0.25, 0.02), (0.42, 0.02)],
        [(0.06, 0.14), (0.6, 0.14)],
        _ellipse(0.2, 0.22, 0.46, 0.46),
        [(0.78, 0), (0.78, 0.6)],
        [(0.78, 0.3), (0.96, 0.3)],
        [(0.15, 0.62), (0.15, 0.95), (0.92, 0.95)],
    ],
    "민": [
        [(0.06, 0.06), (0.56, 0.06), (0.56, 0.5), (0.06, 0.5), (0.06, 0.06)],
        [(0.82, 0), (0.82, 0.62)],
        [(0.15, 0.66), (0.15, 0.96), (0.92, 0.96)],
    ],
    "국": [
        [(0.12, 0.05), (0.86, 0.05), (0.86, 0.3)],
        [(0.02, 0.44), (0.98, 0.44)],
        [(0.5, 0.44), (0.5, 0.6)],
        [(0.14, 0.68), (0.86, 0.68), (0.86, 0.98)],
    ],
}


def _arc_text(
    canvas: MmCanvas,
    text: str,
    centre: Point,
    radius: float,
    span: tuple[float, float],
    size: tuple[float, float],
    fill: RGB,
    width_mm: float,
    *,
    outward: bool,
) -> None:
    """Stroke letters set around a circle, each upright along its radius.

    `span` is the angle (degrees clockwise from 3 o'clock) of the first and the last
    letter's centre; `outward` letters stand on the circle with their tops away from the
    centre (the top arc), the others with their tops towards it (the bottom arc).
    """
    cx, cy = centre
    letter_w, letter_h = size
    up = 1.0 if outward else -1.0
    for i, char in enumerate(text):
        angle = math.radians(span[0] + (span[1] - span[0]) * i / max(1, len(text) - 1))
        nx, ny = math.cos(angle), math.sin(angle)  # outward
        tx, ty = -ny * up, nx * up  # reading direction
        for stroke in _LETTERS[char]:
            points = []
            for u, v in stroke:
                along, rise = (u - 0.5) * letter_w, (0.5 - v) * letter_h * up
                points.append(
                    (cx + nx * (radius + rise) + tx * along, cy + ny * (radius + rise) + ty * along)
                )
            canvas.polyline(points, fill, width_mm)


def ev_medallion(canvas: MmCanvas) -> None:
    """The Taegeuk medallion (p. 48 다): a two-blue Taegeuk inside a lettered ring.

    "REPUBLIC OF KOREA" runs over the top, "대한민국" under the bottom, a dot between
    them on each side; the letters are 3.4 mm high stroke skeletons (a few pixels on a
    110 px plate, where they merge into a fine ring, as they do in photographs).
    """
    x0, y0, x1, y1 = EV_MEDALLION_BOX
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    line = colors.EV_EMBLEM_LINE
    canvas.circle(cx, cy, r - 0.1, fill=colors.EV_MEDALLION_GROUND, outline=line, width_mm=0.8)
    ring_inner = 0.6 * r
    taegeuk(canvas, cx, cy, ring_inner, colors.EV_TAEGEUK_LIGHT, colors.EV_TAEGEUK_DARK)
    canvas.circle(cx, cy, ring_inner, outline=line, width_mm=0.7)
    lettering = (r + ring_inner) / 2
    _arc_text(
        canvas,
        "REPUBLIC OF KOREA",
        (cx, cy),
        lettering,
        (160, 380),
        (2.2, 3.4),
        line,
        0.45,
        outward=True,
    )
    _arc_text(
        canvas, "대한민국", (cx, cy), lettering, (126, 54), (3.2, 3.4), line, 0.4, outward=False
    )
    for angle in (143.0, 37.0):
        a = math.radians(angle)
        canvas.circle(cx + lettering * math.cos(a), cy + lettering * math.sin(a), 0.5, fill=line)


# The EV logo (p. 47 가, traced): an italic "E" whose lower bar runs into the "V", one
# outlined shape. Fractions of the ink box (u across, v down).
_EV_SHAPE = [
    (0.181, 0.0),
    (0.562, 0.0),
    (0.514, 0.172),
    (0.286, 0.172),
    (0.257, 0.236),
    (0.486, 0.236),
    (0.448, 0.379),
    (0.229, 0.379),
    (0.213, 0.411),
    (0.6, 0.414),
    (0.543, 0.76),
    (0.81, 0.414),
    (1.0, 0.414),
    (0.514, 1.0),
    (0.333, 1.0),
    (0.390, 0.570),
    (0.0, 0.570),
]


def ev_logo(canvas: MmCanvas) -> None:
    """The italic outlined "EV" in its 별표18 box (0.9 mm inside it, p. 48), pale fill."""
    x0, y0, x1, y1 = _inset(EV_LOGO_BOX, 0.9)
    points = [(x0 + u * (x1 - x0), y0 + v * (y1 - y0)) for u, v in _EV_SHAPE]
    canvas.polygon(points, colors.EV_EMBLEM_FILL)
    canvas.polyline([*points, points[0], points[1]], colors.EV_EMBLEM_LINE, 0.8)


def latin_text(
    canvas: MmCanvas, text: str, box: Box, fill: RGB, *, stroke: float, slant: float
) -> None:
    """Stroke letters filling `box`, `stroke` of its height thick, sheared by `slant`
    (the top moves right by slant x height), so the artwork needs no font file."""
    x0, y0, x1, y1 = box
    h = y1 - y0
    pen = stroke * h
    # Letters stand inside the box by half a pen and leave room for the shear.
    inner_h = h - pen
    advance = (x1 - x0 - pen - slant * inner_h) / len(text)
    for i, letter in enumerate(text):
        lx = x0 + pen / 2 + i * advance + advance * 0.05
        lw = advance * 0.8
        for path in _LETTERS[letter]:
            canvas.polyline(
                [
                    (lx + u * lw + slant * (1 - v) * inner_h, y0 + pen / 2 + v * inner_h)
                    for u, v in path
                ],
                fill,
                pen,
            )


def film_band(canvas: MmCanvas, height: float) -> None:
    """The film plate's band: bright blue, lighter at the top, with a blue-and-white
    Taegeuk, a faint hologram mark and a bold italic white "KOR" (photographs)."""
    x0, y0, x1, y1 = FILM_BAND_BOX[0], FILM_BAND_BOX[1], FILM_BAND_BOX[2], height - 3.0
    px0, py0 = round(x0 * canvas.scale_x), round(y0 * canvas.scale_y)
    px1, py1 = round(x1 * canvas.scale_x), round(y1 * canvas.scale_y)
    t = np.linspace(0.0, 1.0, max(1, py1 - py0), dtype=np.float32)[:, None]
    top = np.asarray(colors.FILM_BAND_TOP, np.float32)
    bottom = np.asarray(colors.FILM_BAND_BOTTOM, np.float32)
    rows = top + (bottom - top) * t
    band = np.repeat(rows[:, None, :], max(1, px1 - px0), axis=1)
    band_image = Image.fromarray(np.round(band).astype(np.uint8), "RGB")
    # The band follows the plate's rounded left corners; its right edge is straight.
    mask = Image.new("L", band_image.size, 0)
    radius = canvas.width(10.0)
    rounded_rectangle(
        ImageDraw.Draw(mask),
        [0, 0, band_image.width - 1 + 2 * radius, band_image.height - 1],
        radius,
        fill=255,
    )
    canvas.image.paste(band_image, (px0, py0), mask)
    cx = (x0 + x1) / 2
    ty = y0 + 0.34 * (y1 - y0)
    canvas.circle(cx, ty, 17.0, fill=colors.FILM_WHITE)
    taegeuk(canvas, cx, ty, 15.8, colors.FILM_TAEGEUK_LIGHT, colors.FILM_TAEGEUK_DARK)
    hy = y0 + 0.63 * (y1 - y0)
    canvas.draw.ellipse(canvas.rect(cx - 5, hy - 3, cx + 5, hy + 3), fill=colors.FILM_HOLOGRAM)
    latin_text(
        canvas,
        "KOR",
        (x0 + 4.0, y1 - 20.0, x1 - 4.0, y1 - 7.0),
        colors.WHITE,
        stroke=KOR_STROKE,
        slant=KOR_SLANT,
    )


def draw_emblems(
    canvas: MmCanvas, emblems: tuple[Emblem, ...], width: float, height: float, background: RGB
) -> None:
    """Draw each emblem the plate type lists, in the order given (pattern first)."""
    for emblem in emblems:
        if emblem is Emblem.EV_PATTERN:
            ev_pattern(canvas, width, height)
        elif emblem is Emblem.EV_PICTOGRAM:
            ev_pictogram(canvas, background)
        elif emblem is Emblem.EV_TAEGEUK:
            ev_medallion(canvas)
        elif emblem is Emblem.EV_LOGO:
            ev_logo(canvas)
        elif emblem is Emblem.FILM_BAND:
            film_band(canvas, height)
