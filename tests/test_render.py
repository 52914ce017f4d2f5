"""Rendered plates: sizes, boxes inside the plate, ink inside the boxes, regulation colours."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from kplate.errors import KplateError, MissingGlyphError
from kplate.render import Renderer, output_size, render_plate
from kplate.render.glyphs import FontGlyphs, GlyphDirGlyphs
from kplate.spec import GEOMETRY, PlateType, colors
from kplate.spec.types import EXAMPLES

HEIGHTS = (32, 110, 240)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.mark.parametrize("plate_type", list(PlateType))
@pytest.mark.parametrize("height", HEIGHTS)
def test_every_type_renders_with_boxes_around_the_ink(
    renderer: Renderer, plate_type: PlateType, height: int
) -> None:
    text = EXAMPLES[plate_type]
    plate = renderer.render(text, plate_type, height=height, with_ink_mask=True)
    geo = GEOMETRY[plate_type]
    h, w, channels = plate.image.shape
    assert (h, channels) == (height, 3)
    assert w == round(height * geo.width / geo.height)
    record = plate.record
    assert record.text == text and record.plate_type == plate_type.value
    assert "".join(c.char for c in record.chars) == text
    ink = plate.ink_mask
    assert ink is not None
    covered = np.zeros_like(ink, bool)
    for char_box in record.chars:
        x0, y0, x1, y1 = char_box.box
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        inside = ink[y0:y1, x0:x1]
        # The box is the glyph's ink bounding box: ink touches all four sides.
        assert inside.max() > 0.3
        assert inside[0].max() > 0 and inside[-1].max() > 0
        assert inside[:, 0].max() > 0 and inside[:, -1].max() > 0
        covered[y0:y1, x0:x1] = True
    for a, b in itertools.combinations(record.chars, 2):
        ax0, ay0, ax1, ay1 = a.box
        bx0, by0, bx1, by1 = b.box
        assert min(ax1, bx1) <= max(ax0, bx0) or min(ay1, by1) <= max(ay0, by0), (a, b)
    # No ink outside the boxes.
    assert float(ink[~covered].max(initial=0.0)) == 0.0


def _clear_background_pixels(plate, margin: int = 3) -> np.ndarray:
    """Pixels of the plate body away from glyphs, border, holes and emblems."""
    h, w = plate.image.shape[:2]
    keep = np.zeros((h, w), bool)
    keep[int(h * 0.12) : int(h * 0.88), int(w * 0.12) : int(w * 0.88)] = True
    for c in plate.record.chars:
        x0, y0, x1, y1 = c.box
        keep[max(0, y0 - margin) : y1 + margin, max(0, x0 - margin) : x1 + margin] = False
    return plate.image[keep]


@pytest.mark.parametrize(
    ("plate_type", "background", "ink"),
    [
        (PlateType.PRIVATE_2DIGIT, colors.PINKISH_WHITE, colors.PURPLISH_BLACK),
        (PlateType.COMMERCIAL_TWO_ROW, colors.YELLOW, colors.BLACK),
        (PlateType.GREEN_REGIONAL, colors.GREEN, colors.WHITE),
        (PlateType.DIPLOMATIC, colors.NAVY, colors.WHITE),
        (PlateType.CORPORATE, colors.CORPORATE_GREEN, colors.BLACK),
    ],
)
def test_colours_match_the_spec(renderer: Renderer, plate_type, background, ink) -> None:
    plate = renderer.render(EXAMPLES[plate_type], plate_type, height=220, with_ink_mask=True)
    body = np.median(_clear_background_pixels(plate), axis=0)
    assert np.abs(body - np.asarray(background)).max() <= 4
    assert plate.ink_mask is not None
    solid = plate.image[plate.ink_mask > 0.99]
    # The raised edge is lit, so compare the median of the glyph's inside with the ink.
    assert np.abs(np.median(solid, axis=0) - np.asarray(ink)).max() <= 6


def test_construction_plate_is_orange_for_rental_serials(renderer: Renderer) -> None:
    orange = renderer.render("012가7568", PlateType.CONSTRUCTION, height=220)
    white = renderer.render("012가4568", PlateType.CONSTRUCTION, height=220)
    orange_body = np.median(_clear_background_pixels(orange), axis=0)
    white_body = np.median(_clear_background_pixels(white), axis=0)
    assert np.abs(orange_body - np.asarray(colors.ORANGE)).max() <= 4
    assert np.abs(white_body - np.asarray(colors.PINKISH_WHITE)).max() <= 4


def test_fixed_width_and_height(renderer: Renderer) -> None:
    plate = renderer.render("12가3456", height=64, width=256)
    assert plate.image.shape == (64, 256, 3)
    assert output_size(GEOMETRY[PlateType.PRIVATE_2DIGIT], None, 1040) == (1040, 220)
    with pytest.raises(KplateError):
        renderer.render("12가3456", height=2)


def test_rendering_is_deterministic_and_cached(renderer: Renderer) -> None:
    a = renderer.render("서울52바3108", PlateType.COMMERCIAL_LONG)
    b = Renderer().render("서울52바3108", PlateType.COMMERCIAL_LONG)
    assert np.array_equal(a.image, b.image)
    assert a.record == b.record


def test_invalid_text_is_rejected_before_drawing() -> None:
    with pytest.raises(KplateError, match="serial 0000"):
        render_plate("12가0000")


def test_font_source_scales_glyphs_and_reports_missing_hangul() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    from pathlib import Path

    font = Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"
    source = FontGlyphs(font)
    assert source.missing("0123456789") == set()
    with pytest.raises(MissingGlyphError, match="가"):
        Renderer(source).render("12가3456")


def test_glyph_dir_source(tmp_path) -> None:
    """The earlier project's layout: glyph images named by character, in nested folders."""
    from PIL import Image

    base = Renderer()
    for char in "0123456789가":
        folder = tmp_path / ("digits/digits_white" if char.isdigit() else "letters/letters_white")
        folder.mkdir(parents=True, exist_ok=True)
        coverage = base.glyphs.coverage(char, 40, 70)
        Image.fromarray((255 - coverage * 255).astype(np.uint8)).save(folder / f"{char}.png")
    source = GlyphDirGlyphs(tmp_path)
    plate = Renderer(source).render("12가3456", with_ink_mask=True)
    assert plate.image.shape == (110, 520, 3)
    assert [c.char for c in plate.record.chars] == list("12가3456")
    with pytest.raises(MissingGlyphError, match="나"):
        Renderer(source).render("12나3456")


def test_builtin_typeface_covers_the_whole_grammar_alphabet() -> None:
    from kplate.render.glyphs import BuiltinGlyphs
    from kplate.spec.alphabet import grammar_alphabet

    assert BuiltinGlyphs().missing(grammar_alphabet()) == set()
