"""Plate geometry in millimetres: outline, character cells, holes and emblems (spec §1.2, §1.4).

Each plate type has one layout per text length, because the same type can carry
different forms (a 2- or 3-digit electric plate, a 1- or 2-digit green class code,
the national or regional construction plate). A layout is a list of cells, one per
character of the canonical text, in reading order.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kplate.spec import colors
from kplate.spec.colors import RGB
from kplate.spec.types import PlateType


class GlyphKind(StrEnum):
    DIGIT = "digit"
    HANGUL = "hangul"
    HYPHEN = "hyphen"


class Emblem(StrEnum):
    """Artwork drawn on the plate besides the characters."""

    EV_PICTOGRAM = "ev_pictogram"
    EV_TAEGEUK = "ev_taegeuk"
    EV_LOGO = "ev_logo"
    EV_PATTERN = "ev_pattern"
    FILM_BAND = "film_band"


@dataclass(frozen=True)
class Cell:
    """A layout cell in mm. The glyph is fitted inside it by `glyph_box`.

    `ink_height` is the glyph's height as a fraction of the cell height, and `top` the gap
    from the cell top to the ink as a fraction of the cell height; both come from the
    notice's drawings (digits 74/83 with a 4.1 mm gap, Hangul 64.8/83 with 10.4 mm).
    `stretch` lets a glyph widen to fill a wide cell, as the region names on the top row
    of two-row plates do.
    """

    x: float
    y: float
    w: float
    h: float
    kind: GlyphKind
    ink_height: float
    top: float
    stretch: float = 1.0


@dataclass(frozen=True)
class Hole:
    """A mounting hole (circle) or the seal slot (rounded rectangle), centre and size in mm."""

    cx: float
    cy: float
    w: float
    h: float


@dataclass(frozen=True)
class PlateGeometry:
    """Everything about one plate type that does not depend on the text."""

    plate_type: PlateType
    width: float
    height: float
    background: RGB
    ink: RGB
    border: RGB
    layouts: dict[int, tuple[Cell, ...]]
    holes: tuple[Hole, ...] = ()
    emblems: tuple[Emblem, ...] = ()
    corner_radius: float = 12.0
    official: bool = True  # False where the spec had no official drawing and kplate approximates

    @property
    def aspect(self) -> float:
        return self.width / self.height

    def layout_for(self, text: str) -> tuple[Cell, ...]:
        """The cells for a canonical text; KeyError when no layout has that many characters."""
        return self.layouts[len(text)]


# Regulation glyph placement inside an 83 mm cell (N2018 별표2).
DIGIT_INK = 74.0 / 83.0
DIGIT_TOP = 4.1 / 83.0
HANGUL_INK = 64.8 / 83.0
HANGUL_TOP = 10.4 / 83.0


def digits(xs: tuple[float, ...], y: float, w: float, h: float) -> tuple[Cell, ...]:
    return tuple(Cell(x, y, w, h, GlyphKind.DIGIT, DIGIT_INK, DIGIT_TOP) for x in xs)


def hangul(x: float, y: float, w: float, h: float) -> Cell:
    return Cell(x, y, w, h, GlyphKind.HANGUL, HANGUL_INK, HANGUL_TOP)


def top_row_syllables(x: float, y: float, w: float, h: float, count: int = 2) -> tuple[Cell, ...]:
    """Region names on a two-row plate: syllables as tall as the digits beside them, widened."""
    step = w / count
    return tuple(
        Cell(x + i * step, y, step, h, GlyphKind.HANGUL, 0.84, 0.08, stretch=1.25)
        for i in range(count)
    )


def stacked_syllables(x: float, y: float, w: float, h: float) -> tuple[Cell, ...]:
    """A region written as two syllables one above the other (commercial 520x110)."""
    half = h / 2
    return tuple(
        Cell(x, y + i * half, w, half, GlyphKind.HANGUL, 0.86, 0.07, stretch=1.4) for i in range(2)
    )


P7_HOLES = (Hole(20, 55, 7, 7), Hole(500, 55, 7, 9))
P8_HOLES = (Hole(13, 55, 7, 7), Hole(507, 55, 7, 7))

# 별표2: 2-digit 520x110. The Hangul glyph uses the left 60 mm of its 96 mm cell.
P7_CELLS = (
    *digits((44, 100), 13.5, 56, 83),
    hangul(156, 13.5, 60, 83),
    *digits((252, 308, 364, 420), 13.5, 56, 83),
)
# 별표2-1: 3-digit 520x110.
P8_CELLS = (
    *digits((24.09, 80.09, 136.09), 13.5, 56, 83),
    hangul(192.09, 13.5, 79.82, 83),
    *digits((271.91, 327.91, 383.91, 439.91), 13.5, 56, 83),
)
# Film plate (CV, measured): the text is pushed right of the 3-54 mm band.
P8F_CELLS = (
    *digits((65, 115, 165), 12.5, 50, 85),
    hangul(215, 12.5, 85, 85),
    *digits((300, 350, 400, 450), 12.5, 50, 85),
)
# 3-digit electric plate: no drawing exists; the P8 cells squeezed between the emblems
# (pictogram ends at 42.6 mm, the EV logo starts at 477 mm).
EV3_CELLS = (
    *digits((50, 99, 148), 13.5, 49, 83),
    hangul(197, 13.5, 70, 83),
    *digits((270, 319, 368, 417), 13.5, 49, 83),
)
# 별표4: commercial 520x110, region stacked in a 55 mm box.
CE_CELLS = (
    *stacked_syllables(32, 13.5, 55, 83),
    *digits((87, 142), 13.5, 55, 83),
    hangul(197, 13.5, 71, 83),
    *digits((268, 323, 378, 433), 13.5, 55, 83),
)
# Diplomatic 520x110 (별표8 not available): two prefix syllables, mission, hyphen, rank.
DIP_CELLS = (
    hangul(30, 13.5, 58, 83),
    hangul(88, 13.5, 58, 83),
    *digits((156, 206, 256), 13.5, 50, 83),
    Cell(306, 13.5, 28, 83, GlyphKind.HYPHEN, 0.1, 0.45),
    *digits((334, 384, 434), 13.5, 50, 83),
)


def _geometry(
    plate_type: PlateType,
    size: tuple[float, float],
    background: RGB,
    ink: RGB,
    layouts: dict[int, tuple[Cell, ...]],
    holes: tuple[Hole, ...],
    *,
    border: RGB | None = None,
    emblems: tuple[Emblem, ...] = (),
    official: bool = True,
    corner_radius: float = 12.0,
) -> PlateGeometry:
    return PlateGeometry(
        plate_type=plate_type,
        width=size[0],
        height=size[1],
        background=background,
        ink=ink,
        border=border or ink,
        layouts=layouts,
        holes=holes,
        emblems=emblems,
        official=official,
        corner_radius=corner_radius,
    )


def _build() -> dict[PlateType, PlateGeometry]:
    t = PlateType
    pw, pb = colors.PINKISH_WHITE, colors.PURPLISH_BLACK
    long_plate = (520.0, 110.0)
    ps_holes = (Hole(65, 25, 10, 10), Hole(270, 25, 10, 10))
    two_row_holes = (Hole(65, 26, 10, 10), Hole(270, 26, 10, 10))
    ev_emblems = (Emblem.EV_PATTERN, Emblem.EV_PICTOGRAM, Emblem.EV_TAEGEUK, Emblem.EV_LOGO)

    # 별표1: 335x155 short private plate.
    ps_cells = (
        *digits((8, 53), 46.2, 45, 83),
        hangul(98, 46.2, 49, 83),
        *digits((147, 192, 237, 282), 46.2, 45, 83),
    )
    # 별표3: commercial 335x170, region and class on the top row.
    cy_cells = (
        *top_row_syllables(82, 9, 95, 48),
        *digits((177, 215), 9, 38, 48),
        hangul(13.5, 68, 60, 92),
        *digits((73.5, 135.5, 197.5, 259.5), 68, 62, 92),
    )
    # 별표5: large 440x200.
    lp_cells = (
        *digits((11, 70), 60, 59, 105),
        hangul(129, 60, 64, 105),
        *digits((193, 252, 311, 370), 60, 59, 105),
    )
    # 별표6: large commercial 440x220.
    lc_cells = (
        *top_row_syllables(107, 11, 126, 61),
        *digits((233, 283), 11, 50, 61),
        hangul(19.5, 84, 89, 116),
        *digits((108.5, 186.5, 264.5, 342.5), 84, 78, 116),
    )
    # Green 1973-2003 (CV, measured); a 1-digit class sits centred over both class cells.
    g73_bottom = (hangul(22, 60, 60, 60), *digits((105, 161, 217, 273), 60, 45, 90))
    g73_top_region = top_row_syllables(90, 14, 79, 36)
    g73_cells_2 = (*g73_top_region, *digits((178, 215), 14, 30, 40), *g73_bottom)
    g73_cells_1 = (*g73_top_region, *digits((196.5,), 14, 30, 40), *g73_bottom)
    # Green 2004-2006 (CV, measured): class and Hangul on top, the serial below.
    g04_cells = (
        *digits((90, 145), 13, 45, 37),
        Cell(200, 13, 45, 37, GlyphKind.HANGUL, 0.92, 0.04),
        *digits((15, 95, 175, 255), 64, 65, 92),
    )
    green_border = colors.WHITE

    return {
        t.PRIVATE_2DIGIT: _geometry(t.PRIVATE_2DIGIT, long_plate, pw, pb, {7: P7_CELLS}, P7_HOLES),
        t.PRIVATE_3DIGIT: _geometry(t.PRIVATE_3DIGIT, long_plate, pw, pb, {8: P8_CELLS}, P8_HOLES),
        t.PRIVATE_3DIGIT_FILM: _geometry(
            t.PRIVATE_3DIGIT_FILM,
            long_plate,
            colors.FILM_WHITE,
            colors.BLACK,
            {8: P8F_CELLS},
            (Hole(507, 55, 7, 7),),
            emblems=(Emblem.FILM_BAND,),
            official=False,
        ),
        t.PRIVATE_SHORT: _geometry(t.PRIVATE_SHORT, (335, 155), pw, pb, {7: ps_cells}, ps_holes),
        t.ELECTRIC: _geometry(
            t.ELECTRIC,
            long_plate,
            colors.EV_SKY_BLUE,
            colors.BLACK,
            {7: P7_CELLS, 8: EV3_CELLS},
            # 별표18 drills only the seal hole, the 별표2 7x9 slot at (500, 55) (p. 48 라).
            (P7_HOLES[1],),
            emblems=ev_emblems,
        ),
        t.CORPORATE: _geometry(
            t.CORPORATE,
            long_plate,
            colors.CORPORATE_GREEN,
            colors.BLACK,
            {8: P8_CELLS},
            P8_HOLES,
            official=False,
        ),
        t.COMMERCIAL_LONG: _geometry(
            t.COMMERCIAL_LONG, long_plate, colors.YELLOW, colors.BLACK, {9: CE_CELLS}, P7_HOLES
        ),
        t.COMMERCIAL_TWO_ROW: _geometry(
            t.COMMERCIAL_TWO_ROW,
            (335, 170),
            colors.YELLOW,
            colors.BLACK,
            {9: cy_cells},
            two_row_holes,
        ),
        t.LARGE_PRIVATE: _geometry(
            t.LARGE_PRIVATE,
            (440, 200),
            pw,
            pb,
            {7: lp_cells},
            (Hole(75, 30, 10, 10), Hole(365, 30, 10, 10)),
        ),
        t.LARGE_COMMERCIAL: _geometry(
            t.LARGE_COMMERCIAL,
            (440, 220),
            colors.YELLOW,
            colors.BLACK,
            {9: lc_cells},
            (Hole(75, 34, 10, 10), Hole(365, 34, 10, 10)),
        ),
        t.GREEN_REGIONAL: _geometry(
            t.GREEN_REGIONAL,
            (335, 170),
            colors.GREEN,
            colors.WHITE,
            {9: g73_cells_2, 8: g73_cells_1},
            two_row_holes,
            border=green_border,
            official=False,
        ),
        t.GREEN_NATIONAL: _geometry(
            t.GREEN_NATIONAL,
            (335, 170),
            colors.GREEN,
            colors.WHITE,
            {7: g04_cells},
            two_row_holes,
            border=green_border,
            official=False,
        ),
        t.DIPLOMATIC: _geometry(
            t.DIPLOMATIC,
            long_plate,
            colors.NAVY,
            colors.WHITE,
            {9: DIP_CELLS},
            P7_HOLES,
            official=False,
        ),
        t.CONSTRUCTION: _geometry(
            t.CONSTRUCTION,
            long_plate,
            pw,
            colors.BLACK,
            {8: P8_CELLS},
            P8_HOLES,
            official=False,
        ),
        t.MILITARY: _geometry(
            t.MILITARY, long_plate, pw, pb, {7: P7_CELLS}, P7_HOLES, official=False
        ),
    }


# --------------------------------------------------------------------------- construction (#15)
# Regional construction machinery plates (before 26 Nov 2022). No drawing was found; the
# layouts are measured from real_dev's IR crops (docs/plate-types.md, "Construction
# machinery plates"), as fractions of the plate's box, then written here in mm.

#: Two-row form, 400x220 (one of the three pre-2022 sizes). The region's two syllables sit
#: spread apart on the top row (ink centres at 0.30 and 0.64 of the width, ink 0.13-0.34
#: of the height, wide and squat); the class code, a small use syllable and the serial
#: share the bottom row (digit ink 0.51-0.875 of the height, 0.135 of the width apart;
#: syllable ink 0.30 of the height, centred on the digits), measured on ksy_0097/ksy_0643.
CR2_SIZE = (400.0, 220.0)
CR2_DIGIT_W = 52.0  # cells 54 mm apart; the ink (about 46 mm) is centred in each
CR2_DIGIT_Y, CR2_DIGIT_H = 112.0, 80.0
CR2_SYLLABLE_W, CR2_SYLLABLE_Y, CR2_SYLLABLE_H = 34.0, 120.0, 66.0
CR2_REGION_CENTRES, CR2_REGION_W, CR2_REGION_Y, CR2_REGION_H = (120.0, 256.0), 64.0, 29.0, 46.0
CR2_CLASS_CENTRES = (48.0, 102.0)
CR2_SYLLABLE_CENTRE = 146.0
CR2_SERIAL_CENTRES = (191.0, 245.0, 299.0, 353.0)


def _cr2_cells() -> tuple[Cell, ...]:
    def digit(cx: float) -> Cell:
        x = cx - CR2_DIGIT_W / 2
        return Cell(x, CR2_DIGIT_Y, CR2_DIGIT_W, CR2_DIGIT_H, GlyphKind.DIGIT, 1.0, 0.0)

    region = tuple(
        Cell(cx - CR2_REGION_W / 2, CR2_REGION_Y, CR2_REGION_W, CR2_REGION_H,
             GlyphKind.HANGUL, 1.0, 0.0, stretch=2.0)
        for cx in CR2_REGION_CENTRES
    )  # fmt: skip
    syllable = Cell(
        CR2_SYLLABLE_CENTRE - CR2_SYLLABLE_W / 2, CR2_SYLLABLE_Y, CR2_SYLLABLE_W,
        CR2_SYLLABLE_H, GlyphKind.HANGUL, 1.0, 0.0,
    )  # fmt: skip
    return (
        *region,
        *(digit(cx) for cx in CR2_CLASS_CENTRES),
        syllable,
        *(digit(cx) for cx in CR2_SERIAL_CENTRES),
    )


def _construction_regional() -> dict[PlateType, PlateGeometry]:
    """The two regional construction forms: white characters; the plate is green, or
    orange for rental serials (the renderer picks it per number)."""
    t = PlateType
    green, ink = colors.CONSTRUCTION_REGIONAL_GREEN, colors.CONSTRUCTION_REGIONAL_INK
    return {
        # One row, 520x110: the crops place region, class, syllable and serial as the
        # commercial 520x110 drawing (별표4) does, so its cells are reused.
        t.CONSTRUCTION_REGIONAL: _geometry(
            t.CONSTRUCTION_REGIONAL,
            (520.0, 110.0),
            green,
            ink,
            {9: CE_CELLS},
            P7_HOLES,
            official=False,
        ),
        t.CONSTRUCTION_REGIONAL_TWO_ROW: _geometry(
            t.CONSTRUCTION_REGIONAL_TWO_ROW,
            CR2_SIZE,
            green,
            ink,
            {9: _cr2_cells()},
            (Hole(84, 25, 10, 10), Hole(316, 25, 10, 10)),
            official=False,
        ),
    }


GEOMETRY: dict[PlateType, PlateGeometry] = {**_build(), **_construction_regional()}


def geometry(plate_type: PlateType) -> PlateGeometry:
    """The geometry of a plate type (construction plates pick their colour per number)."""
    return GEOMETRY[plate_type]
