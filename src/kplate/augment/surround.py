"""What surrounds a plate on a car: frame, dealer text, screws, plate lights, plate edge.

A detector's crop shows these around the plate, and a recogniser must learn to ignore
them (bolts and frame edges read as an extra digit, a dealer's name as characters).
Everything is drawn in the plate's own plane, on a canvas a little larger than the
clean plate that holds the plate itself, and the canvas replaces the plate in the
geometry's one warp, so a frame tilts and foreshortens with it at no second warp's cost.
Nothing may cover a character: frame lips and shadows stay in the plate's free border
(between its edge and the nearest character box, CLEAR pixels short of it), screws that
would come near a character box are left out, dealer text sits on a bar *below* the
plate, and every character box plus a CLEAR-pixel ring is copied back from the plate
before the warp (so each character is sampled from the plate's own pixels).

All randomness beyond the sampled values comes from each effect's recorded seed.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import cv2
import numpy as np

from kplate.augment.geometry import cv_matrix
from kplate.render.record import PlateRecord
from kplate.render.typeface import SYLLABLES, outline, rasterize
from kplate.spec.geometry import geometry
from kplate.spec.types import PlateType

#: The group's effects, in drawing order (later ones on top).
EFFECTS = ("thickness", "frame", "dealer", "screws", "lights")
SEEDED = set(EFFECTS)

#: Share of the free border (plate edge to nearest character) a frame lip may cover.
LIP_SHARE = 0.8
#: Pixels around each character box that nothing may reach: the warp's bilinear
#: footprint is one source pixel, so this keeps the box's warped pixels the plate's own.
CLEAR = 2
BRANDS = ("HYUNDAI", "KIA", "GENESIS", "RENAULT", "CHEVROLET", "BMW", "TESLA", "MOTORS", "AUTO")


def _gaps(record: PlateRecord) -> tuple[float, float, float, float]:
    """Free border of the clean plate in pixels: left, top, right, bottom."""
    if not record.chars:
        return record.width / 4, record.height / 4, record.width / 4, record.height / 4
    x0, y0, x1, y1 = zip(*(c.box for c in record.chars), strict=True)
    return (
        max(0.0, min(x0)),
        max(0.0, min(y0)),
        max(0.0, record.width - max(x1)),
        max(0.0, record.height - max(y1)),
    )


class _Canvas:
    """Premultiplied RGBA in the plate plane; the plate spans [x0, x1) x [y0, y1).

    Opaque shapes drawn with OpenCV's anti-aliasing onto it stay premultiplied (their
    edges blend colour and alpha alike from transparent black), so it warps as it is.
    """

    def __init__(self, w0: int, h0: int, side: int, top: int, bottom: int) -> None:
        self.w0, self.h0 = w0, h0
        self.x0, self.y0 = side, top
        self.x1, self.y1 = side + w0, top + h0
        self.w, self.h = w0 + 2 * side, h0 + top + bottom
        self.rgba = np.zeros((self.h, self.w, 4), np.uint8)
        self.drawn = [self.w, self.h, 0, 0]  # bounds of what was drawn: x0, y0, x1, y1

    def touch(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Widen the drawn bounds (cheaper than searching the alpha channel afterwards)."""
        d = self.drawn
        d[0], d[1] = max(0, min(d[0], math.floor(x0))), max(0, min(d[1], math.floor(y0)))
        d[2], d[3] = min(self.w, max(d[2], math.ceil(x1))), min(self.h, max(d[3], math.ceil(y1)))

    def rect(self, box: tuple[float, float, float, float], colour: Any) -> None:
        """An opaque rectangle [x0, x1) x [y0, y1) (rounded to pixels)."""
        x0, y0, x1, y1 = (round(v) for v in box)
        if x1 > x0 and y1 > y0:
            cv2.rectangle(self.rgba, (x0, y0), (x1 - 1, y1 - 1), (*map(int, colour), 255), -1)
            self.touch(x0, y0, x1, y1)


def _thickness(c: _Canvas, v: dict[str, Any], rng: np.random.Generator) -> None:
    """The plate's pressed edge seen at an angle: a light metal band below and on one side."""
    d = max(1.0, v["depth"] * c.h0)
    dx = d if rng.random() < 0.5 else -d
    metal = tuple(int(x) for x in rng.uniform(150, 225) * rng.uniform(0.95, 1.05, 3))
    # Only the strips beside the plate: the edge below it and on one side.
    c.rect((c.x0 + dx, c.y1, c.x1 + dx, c.y1 + d), metal)
    side = (c.x1, c.x1 + dx) if dx > 0 else (c.x0 + dx, c.x0)
    c.rect((side[0], c.y0 + d, side[1], c.y1 + d), metal)


def _frame_colour(kind: str, rng: np.random.Generator, rows: int) -> np.ndarray:
    """(rows, 1, 4) opaque colours down a bar: chrome mirrors light and dark bands."""
    t = np.linspace(0, 1, max(1, rows), dtype=np.float32)
    if kind == "chrome":
        phase = rng.uniform(0, 2 * np.pi)
        shade = 150 + 90 * np.sin(t * rng.uniform(4, 9) + phase)
    elif kind == "silver":
        shade = rng.uniform(140, 190) + 25 * (0.5 - t)
    else:
        shade = rng.uniform(18, 45) + 30 * np.exp(-((t - 0.2) ** 2) / 0.01)
    out = np.full((max(1, rows), 1, 4), 255, np.uint8)
    out[:, 0, :3] = np.clip(shade, 0, 255).astype(np.uint8)[:, None]
    return out


def _bar(c: _Canvas, box: tuple[float, float, float, float], shades: np.ndarray) -> None:
    """A bar coloured row by row from `shades`, an (h, 1, 4) column for the canvas's
    rows (OpenCV repeats it: numpy broadcasting 4-byte pixels is several times slower)."""
    x0, y0, x1, y1 = (round(v) for v in box)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(c.w, x1), min(c.h, y1)
    if x1 > x0 and y1 > y0:
        c.rgba[y0:y1, x0:x1] = cv2.repeat(shades[y0:y1], 1, x1 - x0).reshape(y1 - y0, x1 - x0, 4)
        c.touch(x0, y0, x1, y1)


def _frame(c: _Canvas, v: dict[str, Any], rng, gaps, bottom_bar: float) -> None:
    """A frame: four bars around the plate, a lip over its free border, and the shadow
    the frame casts on the plate (from above)."""
    fw = max(1.0, v["width"] * c.h0)
    kind = v["kind"]
    gl, gt, gr, gb = gaps
    lip = v["lip"] * LIP_SHARE
    il, it, ir, ib = (min(g * lip, max(0.0, g - CLEAR - 1)) for g in (gl, gt, gr, gb))
    ox0, oy0, ox1, oy1 = c.x0 - fw, c.y0 - fw, c.x1 + fw, c.y1 + max(fw, bottom_bar)
    shades = _frame_colour(kind, rng, c.h)
    _bar(c, (ox0, oy0, ox1, c.y0 + it), shades)  # top
    _bar(c, (ox0, c.y1 - ib, ox1, oy1), shades)  # bottom
    _bar(c, (ox0, oy0, c.x0 + il, oy1), shades)  # left
    _bar(c, (c.x1 - ir, oy0, ox1, oy1), shades)  # right
    # Dark inner edge and a light outer rim: what makes a bar read as a moulded frame.
    inner = ((round(c.x0 + il), round(c.y0 + it)), (round(c.x1 - ir) - 1, round(c.y1 - ib) - 1))
    cv2.rectangle(c.rgba, *inner, (12, 12, 12, 255), 1)
    outer = ((round(ox0), round(oy0)), (round(ox1) - 1, round(oy1) - 1))
    cv2.rectangle(c.rgba, *outer, (200, 200, 200, 255), 1)
    c.touch(ox0 - 1, oy0 - 1, ox1 + 1, oy1 + 1)
    # The frame's shadow on the plate: a soft band inside the lip, top and one side.
    strength = v["shadow"]
    if strength > 0:
        depth_top = max(0, int(gt - it - CLEAR - 2))
        y = round(c.y0 + it) + 1
        fade = 255 * strength * (1 - np.arange(depth_top) / max(1, depth_top))
        rows = c.rgba[y : y + depth_top, round(c.x0 + il) + 1 : round(c.x1 - ir) - 1]
        rows[..., 3] = fade.astype(np.uint8)[:, None]


@functools.lru_cache(maxsize=4096)
def _glyph(char: str, height: int) -> np.ndarray:
    """A built-in typeface glyph's coverage at `height` pixels (uint8)."""
    glyph = outline(char)
    width = max(1, round(glyph.width / glyph.height * height))
    return (rasterize(glyph, width, height, supersample=2) * 255).astype(np.uint8)


#: Distinct dealer lines: each image picks one, so their coverage is drawn once per size.
DEALER_LINES = 256


@functools.lru_cache(maxsize=1024)
def _dealer_text(line: int, height: int) -> np.ndarray:
    """Dealer line number `line` as uint8 coverage (read-only, shared): a Hangul name and
    phone number in kplate's own typeface, or a Latin brand in OpenCV's Hershey font."""
    cover = _draw_dealer_text(np.random.default_rng(line), height)
    cover.flags.writeable = False
    return cover


def _draw_dealer_text(rng: np.random.Generator, height: int) -> np.ndarray:
    if rng.random() < 0.6:
        name = "".join(SYLLABLES[i] for i in rng.integers(0, len(SYLLABLES), rng.integers(2, 6)))
        phone = f"0{rng.integers(2, 70)}-{rng.integers(100, 999)}-{rng.integers(1000, 9999)}"
        gap = max(1, height // 3)
        parts: list[np.ndarray] = []
        for char in name + " " + phone:
            if char == " ":
                parts.append(np.zeros((height, 2 * gap), np.uint8))
            elif char == "-":
                dash = np.zeros((height, max(2, height // 2)), np.uint8)
                dash[height // 2 - max(1, height // 10) : height // 2 + 1, :] = 255
                parts.append(dash)
            else:
                digit = char.isdigit()
                g = _glyph(char, height if not digit else max(2, round(height * 0.9)))
                if g.shape[0] < height:
                    g = np.pad(g, ((height - g.shape[0], 0), (0, 0)))
                parts.append(g)
            parts.append(np.zeros((height, max(1, height // 8)), np.uint8))
        return np.concatenate(parts, axis=1)
    word = str(BRANDS[int(rng.integers(len(BRANDS)))])
    if rng.random() < 0.5:
        word += f" {rng.integers(10, 99)}-{rng.integers(1000, 9999)}"
    scale = cv2.getFontScaleFromHeight(cv2.FONT_HERSHEY_SIMPLEX, height, 1)
    thick = max(1, height // 8)
    (tw, th), base = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    canvas = np.zeros((th + base + 2, tw + 2), np.uint8)
    cv2.putText(canvas, word, (1, th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thick, cv2.LINE_AA)
    return cv2.resize(canvas, (max(1, round(canvas.shape[1] * height / canvas.shape[0])), height))


def _dealer(c: _Canvas, v: dict[str, Any], rng, framed: dict[str, Any] | None) -> None:
    """A dealer's bar below the plate (the frame's own, or a plastic holder's) with text."""
    bar = max(2.0, v["bar"] * c.h0)
    kind = framed["kind"] if framed else "black"
    y0, y1 = c.y1 + 1, c.y1 + bar
    if not framed:
        _bar(c, (c.x0, y0 - 1, c.x1, y1), _frame_colour(kind, rng, c.h))
    text_h = max(3, round(bar * v["size"]))
    cover = _dealer_text(int(rng.integers(DEALER_LINES)), text_h)
    room = int((c.x1 - c.x0) * 0.85)
    if cover.shape[1] > room:
        cover = cv2.resize(cover, (room, text_h), interpolation=cv2.INTER_AREA)
    th, tw = cover.shape
    tx = round((c.x0 + c.x1 - tw) / 2 + rng.uniform(-0.05, 0.05) * c.w0)
    ty = round((y0 + y1 - th) / 2)
    tx, ty = max(0, tx), max(c.y1 + 1, ty)
    th, tw = min(th, c.h - ty), min(tw, c.w - tx)
    if th <= 0 or tw <= 0:
        return
    ink = (235, 235, 235) if kind == "black" else (20, 20, 20)
    region = c.rgba[ty : ty + th, tx : tx + tw, :3].astype(np.float32)
    k = cover[:th, :tw, None].astype(np.float32) / 255.0
    blend = region * (1 - k) + np.float32(ink) * k
    c.rgba[ty : ty + th, tx : tx + tw, :3] = blend.astype(np.uint8)
    c.rgba[ty : ty + th, tx : tx + tw, 3] = 255
    c.touch(tx, ty, tx + tw, ty + th)


def _screws(c: _Canvas, v: dict[str, Any], rng, record: PlateRecord) -> None:
    """Screw or bolt caps in the plate's holes, unless one would touch a character box."""
    try:
        geo = geometry(PlateType(record.plate_type))
    except ValueError:
        return
    sx, sy = c.w0 / geo.width, c.h0 / geo.height
    boxes = [c_.box for c_ in record.chars]
    shade = v["shade"]
    k = CLEAR + 2
    for hole in geo.holes:
        r = max(1.0, v["size"] * min(hole.w, hole.h) / 2 * sx)
        cx, cy = hole.cx * sx, hole.cy * sy
        if any(
            cx + r + k > x0 and cx - r - k < x1 and cy + r + k > y0 and cy - r - k < y1
            for x0, y0, x1, y1 in boxes
        ):
            continue
        centre = (round((c.x0 + cx) * 16), round((c.y0 + cy) * 16))
        radius = round(r * 16)
        base = int(40 + 190 * shade * rng.uniform(0.8, 1.0))
        rim, shine = max(0, base - 70), min(255, base + 60)
        cv2.circle(c.rgba, centre, radius, (base, base, base, 255), -1, cv2.LINE_AA, 4)
        c.touch(c.x0 + cx - r - 2, c.y0 + cy - r - 2, c.x0 + cx + r + 2, c.y0 + cy + r + 2)
        cv2.circle(c.rgba, centre, radius, (rim, rim, rim, 255), 1, cv2.LINE_AA, 4)
        hx, hy = centre[0] - radius // 3, centre[1] - radius // 3
        cv2.circle(c.rgba, (hx, hy), max(8, radius // 3), (shine, shine, shine, 255), -1, 16, 4)
        if rng.random() < 0.5:  # a slot or cross
            a = rng.uniform(0, math.pi)
            dx, dy = round(math.cos(a) * radius * 0.7), round(math.sin(a) * radius * 0.7)
            p0, p1 = (centre[0] - dx, centre[1] - dy), (centre[0] + dx, centre[1] + dy)
            slot = max(0, base - 90)
            cv2.line(c.rgba, p0, p1, (slot, slot, slot, 255), 1, cv2.LINE_AA, 4)


def _lights(c: _Canvas, v: dict[str, Any], rng) -> None:
    """Two licence-plate lamps in the bumper above the plate (frame's top bar, if any)."""
    lamp_w, lamp_h = 0.12 * c.h0 * rng.uniform(1.5, 3.0), 0.08 * c.h0 * rng.uniform(1, 1.6)
    y1 = c.y0 - 0.08 * c.h0 - rng.uniform(0, 0.1) * c.h0
    lit = v["intensity"]
    lens = (int(60 + 195 * lit), int(60 + 190 * lit), int(55 + 160 * lit))
    for centre in (0.22, 0.78):
        x = c.x0 + (centre + rng.uniform(-0.05, 0.05)) * c.w0
        box = (x - lamp_w / 2, y1 - lamp_h, x + lamp_w / 2, y1)
        c.rect((box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1), (25, 25, 25))
        c.rect(box, lens)


def padding(values: dict[str, Any], h0: int) -> tuple[int, int, int]:
    """Canvas padding (side, top, bottom) in clean-plate pixels for these effects."""
    fw = values["frame"]["width"] * h0 if "frame" in values else 0.0
    depth = values["thickness"]["depth"] * h0 if "thickness" in values else 0.0
    bar = values["dealer"]["bar"] * h0 if "dealer" in values else 0.0
    lights = 0.45 * h0 if "lights" in values else 0.0
    side = math.ceil(fw + depth) + 2
    top = math.ceil(max(fw, lights)) + 2
    bottom = math.ceil(max(fw, bar) + depth) + 2
    return side, top, bottom


def warp_onto(
    image: np.ndarray,
    clean: PlateRecord,
    values: dict[str, Any],
    matrix: np.ndarray,
    background: np.ndarray,
) -> np.ndarray:
    """The clean plate and this group's surroundings, warped by the plate's `matrix`
    onto `background` in one pass (what geometry.warp_onto does for the bare plate).

    `clean` is the unwarped plate's record (its size, type and character boxes). The
    canvas holds the plate itself at (side, top); each character box, plus a safety
    ring, is copied back from the plate after drawing, so nothing drawn reaches it.
    """
    h0, w0 = image.shape[:2]
    side, top, bottom = padding(values, h0)
    c = _Canvas(w0, h0, side, top, bottom)
    gaps = _gaps(clean)
    rngs = {e: np.random.default_rng(values[e]["seed"]) for e in EFFECTS if e in values}
    if "thickness" in values:
        _thickness(c, values["thickness"], rngs["thickness"])
    # Whole 4-byte pixels copied from an RGBA plate: per-channel numpy writes into a
    # 4-channel array are strided and several times slower.
    opaque = cv2.cvtColor(image, cv2.COLOR_RGB2RGBA)
    plate = c.rgba[c.y0 : c.y1, c.x0 : c.x1]
    plate[...] = opaque
    bar = values["dealer"]["bar"] * h0 if "dealer" in values and "frame" in values else 0.0
    if "frame" in values:
        _frame(c, values["frame"], rngs["frame"], gaps, bar)
    if "dealer" in values:
        _dealer(c, values["dealer"], rngs["dealer"], values.get("frame"))
    if "screws" in values:
        _screws(c, values["screws"], rngs["screws"], clean)
    if "lights" in values:
        _lights(c, values["lights"], rngs["lights"])
    for char in clean.chars:
        x0, y0, x1, y1 = char.box
        x0, y0 = max(0, x0 - CLEAR), max(0, y0 - CLEAR)
        x1, y1 = min(w0, x1 + CLEAR), min(h0, y1 + CLEAR)
        plate[y0:y1, x0:x1] = opaque[y0:y1, x0:x1]
    # The inverse map OpenCV would compute for the bare plate (LU), moved by the canvas
    # offset: the plate's own pixels are sampled exactly as without this group.
    _, inverse = cv2.invert(cv_matrix(matrix), flags=cv2.DECOMP_LU)
    inverse[0] += side * inverse[2]
    inverse[1] += top * inverse[2]
    out_h, out_w = background.shape[:2]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpPerspective(c.rgba, inverse, (out_w, out_h), flags=flags)
    rest = cv2.cvtColor(255 - cv2.extractChannel(warped, 3), cv2.COLOR_GRAY2RGB)
    behind = cv2.multiply(background, rest, scale=1.0 / 255.0)
    return cv2.add(cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB), behind)
