"""The electric plate's emblems and the film plate's band, measured on rendered pixels.

The drawn numbers below are 별표18's (notice 2018-529 p. 48) and photographs of film plates;
they are written here as data so that the tests measure the renderer, not its constants.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from kplate.render import Renderer
from kplate.render.emblems import MmCanvas, draw_emblems
from kplate.render.plate import SURROUND
from kplate.spec import GEOMETRY, PlateType, colors
from kplate.spec.geometry import Emblem

#: About 3.9 px/mm: thin lines reach their full colour, as they do on a close photograph.
HEIGHT = 430
#: 별표18 p. 48: the emblem boxes (x0, y0, x1, y1) in mm.
DRAWN_BOXES = {
    Emblem.EV_PICTOGRAM: (6.8, 13.5, 42.6, 42.7),
    Emblem.EV_TAEGEUK: (6.8, 60.7, 42.6, 96.5),
    Emblem.EV_LOGO: (477.0, 34.4, 512.2, 75.6),
}
#: How far (Rec. 709 luminance, 0-255) an emblem pixel may be from the sky-blue plate: a
#: third of the characters' 183. Real plates show 40-75 on the outlines.
MAX_CONTRAST = 70.0
EV_TEXTS = ("52가3108", "633조1735")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def _luminance(pixels: np.ndarray) -> np.ndarray:
    rgb = pixels.astype(np.float32)
    return 0.2126 * rgb[..., 0] + 0.7152 * rgb[..., 1] + 0.0722 * rgb[..., 2]


def _px(image: np.ndarray, box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """A box in mm -> pixel bounds on a 520 x 110 plate image."""
    sx, sy = image.shape[1] / 520.0, image.shape[0] / 110.0
    x0, y0, x1, y1 = box
    return round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy)


def _without_holes(image: np.ndarray) -> np.ndarray:
    """A mask of the plate minus its holes (and 1 mm round them): a hole is no emblem."""
    keep = np.ones(image.shape[:2], bool)
    for hole in GEOMETRY[PlateType.ELECTRIC].holes:
        half_w, half_h = hole.w / 2 + 1, hole.h / 2 + 1
        box = (hole.cx - half_w, hole.cy - half_h, hole.cx + half_w, hole.cy + half_h)
        x0, y0, x1, y1 = _px(image, box)
        keep[y0:y1, x0:x1] = False
    return keep


def _contrast(image: np.ndarray, keep: np.ndarray) -> float:
    body = float(_luminance(np.asarray(colors.EV_SKY_BLUE)))
    return float(np.abs(_luminance(image)[keep] - body).max())


@pytest.mark.parametrize("text", EV_TEXTS)
@pytest.mark.parametrize("emblem", list(DRAWN_BOXES))
def test_ev_emblems_are_pale_blue_on_blue(renderer: Renderer, text: str, emblem: Emblem) -> None:
    image = renderer.render(text, PlateType.ELECTRIC, height=HEIGHT).image
    x0, y0, x1, y1 = _px(image, DRAWN_BOXES[emblem])
    keep = np.zeros(image.shape[:2], bool)
    keep[y0:y1, x0:x1] = True
    keep &= _without_holes(image)
    region = image[keep]
    assert _contrast(image, keep) <= MAX_CONTRAST, emblem
    # Blue on blue: every emblem pixel keeps blue its strongest channel.
    assert (region[:, 2].astype(int) >= region[:, :2].max(axis=1)).all(), emblem
    # ... and the emblem is there at all (not merely the plate colour).
    assert _contrast(image, keep) >= 20.0, emblem


@pytest.mark.parametrize("text", EV_TEXTS)
def test_nothing_beside_the_first_and_last_characters_reads_as_a_character(
    renderer: Renderer, text: str
) -> None:
    """Between the border and the first character, and the last character and the border,
    every pixel stays within MAX_CONTRAST of the plate (characters are 183 off)."""
    plate = renderer.render(text, PlateType.ELECTRIC, height=HEIGHT)
    image = plate.image
    first, last = plate.record.chars[0].box, plate.record.chars[-1].box
    shadow = max(1, round(0.7 * image.shape[0] / 110.0)) + 1  # the last glyph's drop shadow
    # Inside the border line (4 mm in) and clear of its R8 corners.
    inner_x0, inner_y0, inner_x1, inner_y1 = _px(image, (5.0, 12.5, 515.0, 97.5))
    keep = np.zeros(image.shape[:2], bool)
    keep[inner_y0:inner_y1, inner_x0 : first[0] - 1] = True
    keep[inner_y0:inner_y1, last[2] + shadow : inner_x1] = True
    keep &= _without_holes(image)
    assert _contrast(image, keep) <= MAX_CONTRAST


@pytest.mark.parametrize("emblem", list(DRAWN_BOXES))
def test_emblem_ink_fills_its_drawn_box_and_clears_the_characters(
    renderer: Renderer, emblem: Emblem
) -> None:
    scale = 8.0  # px per mm
    body = colors.EV_SKY_BLUE
    canvas = MmCanvas(
        Image.new("RGB", (round(520 * scale), round(110 * scale)), body), scale, scale
    )
    draw_emblems(canvas, (emblem,), 520.0, 110.0, body)
    ink = (np.asarray(canvas.image) != np.asarray(body, np.uint8)).any(axis=2)
    ys, xs = np.nonzero(ink)
    drawn = (xs.min() / scale, ys.min() / scale, (xs.max() + 1) / scale, (ys.max() + 1) / scale)
    # The page is a 1 px/mm raster: its boxes are good to about half a millimetre.
    assert np.allclose(drawn, DRAWN_BOXES[emblem], atol=0.6), (emblem, drawn)
    for text in (*EV_TEXTS, "44가4444", "488조8888"):
        plate = renderer.render(text, PlateType.ELECTRIC, height=HEIGHT)
        mm = 520.0 / plate.image.shape[1]
        first_x0, last_x1 = plate.record.chars[0].box[0] * mm, plate.record.chars[-1].box[2] * mm
        if emblem is Emblem.EV_LOGO:
            assert drawn[0] - last_x1 >= 1.0, (text, drawn, last_x1)
        else:
            assert first_x0 - drawn[2] >= 1.0, (text, drawn, first_x0)


def test_electric_plate_keeps_the_right_seal_hole_where_drawn(renderer: Renderer) -> None:
    image = renderer.render("52가3108", PlateType.ELECTRIC, height=HEIGHT).image.astype(int)
    sx, sy = image.shape[1] / 520.0, image.shape[0] / 110.0

    def at(x: float, y: float) -> np.ndarray:
        return image[round(y * sy), round(x * sx)]

    # 별표18 p. 48 (라): the seal hole at (500, 55); the left mounting hole (20, 55) may go.
    for dx, dy in ((0, 0), (0, -3.0), (0, 3.0), (-2.5, 0), (2.5, 0)):
        assert np.abs(at(500 + dx, 55 + dy) - np.asarray(SURROUND)).max() <= 12, (dx, dy)
    assert np.abs(at(20, 55) - np.asarray(SURROUND)).max() > 60
    assert np.abs(at(500, 48.5) - np.asarray(SURROUND)).max() > 60  # 7 x 9 mm, not larger


# -- the film plate's band ---------------------------------------------------------------
FILM_TEXT = "103호5845"


@pytest.fixture(scope="module")
def film(renderer: Renderer) -> np.ndarray:
    return renderer.render(FILM_TEXT, PlateType.PRIVATE_3DIGIT_FILM, height=HEIGHT).image


def test_film_band_is_bright_blue_not_navy(film: np.ndarray) -> None:
    # A strip of bare band at its left edge, clear of the Taegeuk and the lettering.
    x0, y0, x1, y1 = _px(film, (4.5, 8.0, 6.5, 102.0))
    strip = film[y0:y1, x0:x1].reshape(-1, 3).astype(int)
    r, g, b = np.median(strip, axis=0)
    assert b >= 180 and b - r >= 120 and b >= g, (r, g, b)
    assert float(np.median(_luminance(strip))) >= 60.0  # navy (37, 43, 99) is 44
    top, bottom = strip[: len(strip) // 4], strip[-len(strip) // 4 :]
    assert np.median(_luminance(top)) > np.median(_luminance(bottom))  # lighter at the top


def test_film_band_taegeuk_is_blue_and_white_without_red(film: np.ndarray) -> None:
    x0, y0, x1, y1 = _px(film, (3.0, 3.0, 54.0, 107.0))
    band = film[y0:y1, x0:x1].astype(int)
    r, g, b = band[..., 0], band[..., 1], band[..., 2]
    assert int(((r - np.maximum(g, b)) > 30).sum()) == 0  # no red anywhere in the band
    tx0, ty0, tx1, ty1 = _px(film, (11.0, 20.0, 46.0, 56.0))  # the Taegeuk (upper third)
    disc = film[ty0:ty1, tx0:tx1].reshape(-1, 3).astype(int)
    lum = _luminance(disc)
    light = disc[lum > 150]
    dark = disc[(lum < 70) & (disc[:, 2] > 140)]
    assert len(light) > 0.05 * len(disc) and len(dark) > 0.05 * len(disc)
    assert (light[:, 0] <= light[:, 2] + 8).all()  # white or light blue, never pink


def test_film_band_kor_is_bold_italic_white(film: np.ndarray) -> None:
    x0, y0, x1, y1 = _px(film, (4.5, 78.0, 52.5, 105.0))
    region = film[y0:y1, x0:x1]
    mask = region.min(axis=2) > 200
    assert mask.sum() > 0
    assert np.median(region[mask], axis=0).min() >= 225  # white
    ys = np.nonzero(mask)[0]
    height = ys.max() - ys.min() + 1
    px_per_mm = film.shape[0] / 110.0
    assert 9.0 <= height / px_per_mm <= 16.0, height / px_per_mm
    # Italic: the shear that makes the strokes most upright (the sharpest column profile)
    # leans the letters' tops right by over 8 degrees.
    assert _slant(mask) >= 0.15, _slant(mask)
    # Bold: strokes (twice the area over the outline's length) are a fifth of the height.
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, closed=True) for c in contours)
    stroke = 2.0 * float(mask.sum()) / perimeter
    assert stroke / height >= 0.19, stroke / height


def _slant(mask: np.ndarray) -> float:
    """The shear s (x moves by s per pixel up) that best makes the ink's strokes vertical."""
    ys, xs = np.nonzero(mask)
    rise = ys.mean() - ys
    scores = {}
    for shear in np.linspace(-0.6, 0.6, 61):
        columns = np.round(xs - shear * rise).astype(int)
        counts = np.bincount(columns - columns.min())
        scores[float(shear)] = float((counts.astype(float) ** 2).sum())
    return max(scores, key=scores.__getitem__)


def test_artwork_is_deterministic_and_drawn_once_per_size(monkeypatch) -> None:
    import kplate.render.plate as plate_module

    calls = []
    original = plate_module.draw_emblems

    def counting(*args, **kwargs):
        calls.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(plate_module, "draw_emblems", counting)
    first, second = Renderer(), Renderer()
    for text, plate_type in (("52가3108", PlateType.ELECTRIC), (FILM_TEXT, "private_3digit_film")):
        a = first.render(text, plate_type, height=110).image
        first.render(text, plate_type, height=110)
        first.render("12가3456" if plate_type is PlateType.ELECTRIC else "123가4568", plate_type)
        b = second.render(text, plate_type, height=110).image
        assert np.array_equal(a, b)
    assert len(calls) == 4  # two types, two renderers, once each
