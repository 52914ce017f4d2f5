"""Plate geometry in millimetres: outline, character cells, holes and emblems (spec §1.2, §1.4).

Each plate type has one layout per text length, because the same type can carry
different forms (a 2- or 3-digit electric plate, a 1- or 2-digit green class code,
the national or regional construction plate). A layout is a list of cells, one per
character of the canonical text, in reading order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from kplate.spec import colors
from kplate.spec.colors import RGB
from kplate.spec.types import PlateType


class GlyphKind(StrEnum):
    DIGIT = "digit"
    HANGUL = "hangul"
    HYPHEN = "hyphen"


class DigitFace(StrEnum):
    """Which typeface a plate's digits are drawn in."""

    NOTICE = "notice"  # the 2018 notice's dimensioned drawings
    OLD = "old"  # the round grotesque of plates made before 2006 (docs/typeface.md)


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
    from the cell top to the nominal ink as a fraction of the cell height; both come from
    the notice's drawings (digits 74/83 with a 4.7 mm gap, Hangul 64.8/83 with 10.4 mm).
    The ink's bottom sits on the nominal box's bottom (a baseline: the drawings' glyphs
    share their bottoms within 0.6 mm while their tops vary by 1.9 mm, pp. 8-10), and a
    glyph's height is its natural height scaled like the nominal one.

    Horizontally the ink is centred in the cell unless `inset` puts its left edge a fixed
    distance from the cell's left edge (the use syllable of the 3-digit plate: 7.0 mm,
    pp. 23-31). `stretch` scales the natural width (above 1 widens, as the top-row digits
    of two-row plates; below 1 condenses, keeping the stroke weight). `widths` gives the
    drawn width of particular characters (the condensed digits of 별표1), and `ink_width`
    one width for every glyph but a narrow one (region syllables drawn into a box). A
    narrow glyph (the "1", natural width under NARROW_ASPECT of its height) keeps its
    proportions and sits `narrow_shift` of the cell width left of the centre (10.6 mm
    from a 56 mm cell's edge, pp. 8 and 20).
    """

    x: float
    y: float
    w: float
    h: float
    kind: GlyphKind
    ink_height: float
    top: float
    stretch: float = 1.0
    inset: float | None = None
    ink_width: float | None = None
    widths: tuple[tuple[str, float], ...] = ()
    narrow_shift: float = 0.0

    def drawn_width(self, char: str) -> float | None:
        """The drawn ink width of `char` in this cell, where the drawing fixes one."""
        for drawn_char, width in self.widths:
            if drawn_char == char:
                return width
        return None


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
    #: Share of each glyph's height taken off every side of its strokes: 0 draws the
    #: notice's typeface; the older green plates were lettered lighter (OLD_GREEN_TRIM).
    stroke_trim: float = 0.0
    #: How far the border line's outer edge sits in from the plate's edge (x, y mm) and
    #: how wide it is: the notice's 2 mm line 2 mm in, unless a type was measured
    #: otherwise (the old regional construction plates' light line well inside a dark rim).
    border_inset: tuple[float, float] = (2.0, 2.0)
    border_width: float = 2.0
    #: The business-use mark (a circled 영) as (centre x, centre y, diameter) mm, or None.
    business_mark: tuple[float, float, float] | None = None
    #: The digits' typeface: the notice's, or the older round one (only the two-row
    #: regional construction plates take it; docs/typeface.md).
    digit_face: DigitFace = DigitFace.NOTICE

    @property
    def aspect(self) -> float:
        return self.width / self.height

    def layout_for(self, text: str) -> tuple[Cell, ...]:
        """The cells for a canonical text; KeyError when no layout has that many characters."""
        return self.layouts[len(text)]


# Regulation glyph placement inside an 83 mm cell (N2018 별표2, pp. 8-11): digits are
# drawn 73.0-75.0 mm high on a common bottom 78.7 mm below the cell top (their tops lie
# 3.8-5.7 mm down); syllables 64.8 mm high, 10.4 mm down.
DIGIT_INK = 74.0 / 83.0
DIGIT_TOP = 4.7 / 83.0
HANGUL_INK = 64.8 / 83.0
HANGUL_TOP = 10.4 / 83.0
#: A glyph narrower than this share of its height (the "1", 0.35) is narrow.
NARROW_ASPECT = 0.45
#: The "1" sits 10.6-36.3 mm in a 56 mm cell (pp. 8, 20): its centre 4.55 mm left of the
#: cell's centre.
ONE_SHIFT = 4.55 / 56.0


def digits(
    xs: tuple[float, ...],
    y: float,
    w: float,
    h: float,
    *,
    ink: float = DIGIT_INK,
    top: float = DIGIT_TOP,
    stretch: float = 1.0,
    widths: tuple[tuple[str, float], ...] = (),
    ink_width: float | None = None,
) -> tuple[Cell, ...]:
    return tuple(
        Cell(
            x,
            y,
            w,
            h,
            GlyphKind.DIGIT,
            ink,
            top,
            stretch,
            ink_width=ink_width,
            widths=widths,
            narrow_shift=ONE_SHIFT,
        )
        for x in xs
    )


def hangul(
    x: float,
    y: float,
    w: float,
    h: float,
    *,
    inset: float | None = None,
    ink: float = HANGUL_INK,
    top: float = HANGUL_TOP,
    stretch: float = 1.0,
) -> Cell:
    return Cell(x, y, w, h, GlyphKind.HANGUL, ink, top, stretch, inset=inset)


def region_box(x0: float, x1: float, y0: float, y1: float) -> Cell:
    """A region syllable drawn into a fixed box (the drawings give each one's ink box)."""
    return Cell(x0, y0, x1 - x0, y1 - y0, GlyphKind.HANGUL, 1.0, 0.0, inset=0.0, ink_width=x1 - x0)


def ink_rows(y: float, h: float, ink_top: float, ink_bottom: float) -> dict[str, float]:
    """`top` and `ink` fractions of a cell (y, h) whose nominal ink spans ink_top-ink_bottom."""
    return {"top": (ink_top - y) / h, "ink": (ink_bottom - ink_top) / h}


def top_row_syllables(x: float, y: float, w: float, h: float, count: int = 2) -> tuple[Cell, ...]:
    """Region names on a two-row plate: syllables as tall as the digits beside them, widened."""
    step = w / count
    return tuple(
        Cell(x + i * step, y, step, h, GlyphKind.HANGUL, 0.84, 0.08, stretch=1.25)
        for i in range(count)
    )


P7_HOLES = (Hole(20, 55, 7, 7), Hole(500, 55, 7, 9))
P8_HOLES = (Hole(13, 55, 7, 7), Hole(507, 55, 7, 7))

# 별표2: 2-digit 520x110. The syllable is centred on the line 28.0 mm into its 96 mm
# cell (p. 11), i.e. in the cell's left 56 mm.
P7_CELLS = (
    *digits((44, 100), 13.5, 56, 83),
    hangul(156, 13.5, 56, 83),
    *digits((252, 308, 364, 420), 13.5, 56, 83),
)
# 별표2-1: 3-digit 520x110; the syllable's ink starts 7.0 mm into its cell (pp. 23-31).
P8_CELLS = (
    *digits((24.09, 80.09, 136.09), 13.5, 56, 83),
    hangul(192.09, 13.5, 79.82, 83, inset=7.0),
    *digits((271.91, 327.91, 383.91, 439.91), 13.5, 56, 83),
)
# Film plate (CV, measured): the text is pushed right of the 3-54 mm band; the syllable
# placed as on 별표2-1 and the digits condensed to 0.9 to keep them apart in 50 mm cells.
P8F_CELLS = (
    *digits((65, 115, 165), 12.5, 50, 85, stretch=0.9),
    hangul(215, 12.5, 85, 85, inset=7.0),
    *digits((300, 350, 400, 450), 12.5, 50, 85, stretch=0.9),
)
# 3-digit electric plate: no drawing exists; the P8 cells squeezed between the emblems
# (pictogram ends at 42.6 mm, the EV logo starts at 477 mm), digits condensed to 0.9.
EV3_CELLS = (
    *digits((50, 99, 148), 13.5, 49, 83, stretch=0.9),
    hangul(197, 13.5, 70, 83, inset=7.0),
    *digits((270, 319, 368, 417), 13.5, 49, 83, stretch=0.9),
)
# 별표4: commercial 520x110, region stacked in a 55 mm box; each syllable's ink box and
# the use syllable's offset (5.4 mm) and rows are measured on the drawing (spec/drawings.py).
CE_CELLS = (
    region_box(36.4, 80.8, 16.9, 50.5),
    region_box(37.2, 82.5, 54.0, 92.0),
    *digits((87, 142), 13.5, 55, 83),
    hangul(197, 13.5, 71, 83, inset=5.4, **ink_rows(13.5, 83, 22.2, 87.6)),
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
    stroke_trim: float = 0.0,
    border_inset: tuple[float, float] = (2.0, 2.0),
    border_width: float = 2.0,
    business_mark: tuple[float, float, float] | None = None,
    digit_face: DigitFace = DigitFace.NOTICE,
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
        stroke_trim=stroke_trim,
        border_inset=border_inset,
        border_width=border_width,
        business_mark=business_mark,
        digit_face=digit_face,
    )


#: The serial digits of the 2004-2006 green plates, in the old typeface: 59-65 mm wide
#: on real_dev's crops of them (spec/drawings.py GREEN_NATIONAL_NOTE), against the
#: notice's 46 mm; the "1" keeps its own width.
G04_SERIAL_INK_W = 62.0

#: The green plates of 1973-2006 carry an older, lighter typeface than the notice's
#: drawings. Measured as stroke width / character height (2 x area / perimeter) on
#: real_dev's light-ink crops, against kplate's plates through the `cctv` chain
#: (docs/plate-types.md): 2004-2006 plates 0.102 (34 crops) against 0.125 untrimmed and
#: 0.103 trimmed; 1973-2003 plates 0.113 (10 crops) against 0.127 and 0.112.
OLD_GREEN_TRIM = {PlateType.GREEN_NATIONAL: 0.015, PlateType.GREEN_REGIONAL: 0.013}


def _build() -> dict[PlateType, PlateGeometry]:
    t = PlateType
    pw, pb = colors.PINKISH_WHITE, colors.PURPLISH_BLACK
    long_plate = (520.0, 110.0)
    ps_holes = (Hole(65, 25, 10, 10), Hole(270, 25, 10, 10))
    two_row_holes = (Hole(65, 26, 10, 10), Hole(270, 26, 10, 10))
    ev_emblems = (Emblem.EV_PATTERN, Emblem.EV_PICTOGRAM, Emblem.EV_TAEGEUK, Emblem.EV_LOGO)

    # 별표1: 335x155 short private plate. The digits are condensed to their drawn widths
    # (others by the drawn digits' mean, 0.80); the syllable is condensed to 37.0 x 57.9 mm
    # and stands on the digits' bottom line.
    ps_digit_rows = ink_rows(46.2, 83, 50.35, 124.85)
    ps_widths = (("3", 34.7), ("9", 34.7), ("2", 32.4), ("7", 36.4), ("6", 35.8), ("4", 37.5))
    ps_cells = (
        *digits((8, 53), 46.2, 45, 83, **ps_digit_rows, stretch=0.80, widths=ps_widths),
        hangul(98, 46.2, 49, 83, inset=4.7, stretch=0.88, **ink_rows(46.2, 83, 66.7, 124.6)),
        *digits(
            (147, 192, 237, 282), 46.2, 45, 83, **ps_digit_rows, stretch=0.80, widths=ps_widths
        ),
    )
    # 별표3: commercial 335x170. Region syllables in their drawn boxes; class digits
    # widened 1.25x; the use syllable 4.5 mm into its cell, top-aligned with the digits,
    # and widened 1.20x as the drawing scales it (바 0.873 of its height, strokes included;
    # docs/typeface.md, "Composed syllables measured against the drawings").
    cy_cells = (
        region_box(84.8, 117.9, 12.9, 53.1),
        region_box(125.5, 159.2, 12.9, 53.1),
        *digits((176.4, 214.4), 9, 38, 48, **ink_rows(9, 48, 12.9, 53.7), stretch=1.25),
        hangul(13.5, 68, 59.6, 92, inset=4.5, stretch=1.20, **ink_rows(68, 92, 73.5, 133.1)),
        *digits((73.1, 135.1, 197.1, 259.1), 68, 62, 92, **ink_rows(68, 92, 72.25, 155.75)),
    )
    # 별표5: large 440x200. Digits condensed to 0.836 of their width, the syllable to
    # 47.3 x 77.3 mm on the digits' bottom line.
    lp_digit_rows = ink_rows(60, 105, 65.65, 161.15)
    lp_cells = (
        *digits((11, 70), 60, 59, 105, **lp_digit_rows, stretch=0.836),
        hangul(129, 60, 64, 105, inset=4.9, stretch=0.85, **ink_rows(60, 105, 83.5, 160.8)),
        *digits((193, 252, 311, 370), 60, 59, 105, **lp_digit_rows, stretch=0.836),
    )
    # 별표6: large commercial 440x220; the serial digits centred where the drawing has
    # them (144.9, 225.9, 304.2 and 379.4 mm); the use syllable widened 1.14x as drawn
    # (바 0.826 of its height).
    lc_cells = (
        region_box(110.6, 157.0, 15.75, 68.0),
        region_box(166.5, 212.1, 15.75, 68.0),
        *digits((233, 283), 11, 50, 61, **ink_rows(11, 61, 16.4, 68.8), stretch=1.32),
        hangul(19.5, 84, 87, 116, inset=5.3, stretch=1.14, **ink_rows(84, 116, 90.0, 173.2)),
        *digits((107.35, 188.4, 266.7, 341.85), 84, 75, 116, **ink_rows(84, 116, 89.3, 195.0)),
    )
    # Green 1973-2003 (CV, measured); a 1-digit class sits centred over both class cells.
    g73_bottom = (
        hangul(22, 60, 60, 60),
        *digits((105, 161, 217, 273), 60, 45, 90, ink_width=39.5),
    )
    g73_top_region = top_row_syllables(90, 14, 79, 36)
    g73_cells_2 = (*g73_top_region, *digits((178, 215), 14, 30, 40), *g73_bottom)
    g73_cells_1 = (*g73_top_region, *digits((196.5,), 14, 30, 40), *g73_bottom)
    # Green 2004-2006 (no drawing; measured on real crops, spec/drawings.py): the class and
    # syllable on top in three 53 mm cells centred on the plate, the old typeface's wide
    # glyphs 44 mm wide (the "1" keeps its own width), 13.6-52.4 mm high. The serial row is
    # the old typeface too: digits G04_SERIAL_INK_W wide and about 91 mm high (y 67.8-158.7),
    # not the notice's 46 x 82 mm.
    g04_top = tuple(
        Cell(x, 10, 53, 45, kind, 38.8 / 45, 3.6 / 45, ink_width=44.0)
        for x, kind in ((88, GlyphKind.DIGIT), (141, GlyphKind.DIGIT), (194, GlyphKind.HANGUL))
    )
    g04_serial = digits((15, 95, 175, 255), 62, 65, 102, ink_width=G04_SERIAL_INK_W)
    g04_cells = (*g04_top, *g04_serial)
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
            stroke_trim=OLD_GREEN_TRIM[t.GREEN_REGIONAL],
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
            stroke_trim=OLD_GREEN_TRIM[t.GREEN_NATIONAL],
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

#: Two-row form, 400x220 (one of the three pre-2022 sizes). Measured on the two-row crops
#: of real_dev's construction style (43 digits and 17 region syllables, all on the nine
#: non-rental plates: each crop's plate found and deskewed by the heuristic of
#: tools/measure_crop_margins.py, glyph boxes as fractions of it, less the 4-5 % Otsu adds
#: to a blurred glyph; tools/measure_construction_two_row.py): the plate's face is a dark
#: rim with a light line well inside it (15 mm in at the sides,
#: 20 mm at top and bottom, 3.5 mm wide), and the characters sit compactly inside that
#: line: the region's two syllables at 0.34 and 0.66 of the width (ink 0.13 wide, 0.23-0.44
#: of the height), class code, a small use syllable and serial on the bottom row (digit
#: ink 0.51-0.79 of the height and 0.093 of the width, centres 0.16 and 0.275, then 0.49-0.84
#: on a 0.117 pitch). Until session 14 of issue #16 the layout came from two crops
#: (ksy_0097/ksy_0643): digits 0.51-0.875 of the height and 0.115 of the width, no inner
#: line; kplate's readers then read none of the 10 two-row crops in real_dev's test split,
#: most of their digits as 8 (docs/plate-types.md, "Session 14").
CR2_SIZE = (400.0, 220.0)
#: Bolt holes just inside the line, beside the region (ksy_0315).
CR2_HOLES = (Hole(104, 30, 10, 10), Hole(296, 30, 10, 10))


@dataclass(frozen=True)
class TwoRowConstructionFace:
    """One face of the two-row construction plate, in mm: where its region, class code,
    use syllable and serial sit, and its border line and business mark."""

    region_centres: tuple[float, float]
    region_w: float
    region_y: float
    region_h: float
    digit_w: float  # the cell; the ink (digit_ink_w) is centred in it
    digit_ink_w: float
    digit_y: float
    digit_h: float
    syllable_centre: float
    syllable_w: float
    syllable_y: float
    syllable_h: float
    class_centres: tuple[float, float]
    serial_centres: tuple[float, float, float, float]
    border_inset: tuple[float, float]  # (x, y) of the line's outer edge
    border_width: float
    business_mark: tuple[float, float, float] | None = None  # centre x, y, diameter

    def cells(self) -> tuple[Cell, ...]:
        def digit(cx: float) -> Cell:
            return Cell(
                cx - self.digit_w / 2, self.digit_y, self.digit_w, self.digit_h,
                GlyphKind.DIGIT, 1.0, 0.0, ink_width=self.digit_ink_w, narrow_shift=ONE_SHIFT,
            )  # fmt: skip

        def hangul(cx: float, w: float, y: float, h: float) -> Cell:
            return Cell(cx - w / 2, y, w, h, GlyphKind.HANGUL, 1.0, 0.0, ink_width=w)

        return (
            *(hangul(cx, self.region_w, self.region_y, self.region_h)
              for cx in self.region_centres),
            *(digit(cx) for cx in self.class_centres),
            hangul(self.syllable_centre, self.syllable_w, self.syllable_y, self.syllable_h),
            *(digit(cx) for cx in self.serial_centres),
        )  # fmt: skip


#: The non-rental face (the measurements above): the light line 15 mm in at the sides and
#: 20 mm at top and bottom, 3.5 mm wide; digits 37 mm of ink in cells about 46.7 mm apart.
CR2 = TwoRowConstructionFace(
    region_centres=(136.0, 264.0), region_w=53.0, region_y=49.5, region_h=48.0,
    digit_w=44.0, digit_ink_w=37.0, digit_y=112.5, digit_h=61.5,
    syllable_centre=154.0, syllable_w=30.0, syllable_y=121.0, syllable_h=48.0,
    class_centres=(64.0, 110.0), serial_centres=(196.0, 243.0, 289.0, 336.0),
    border_inset=(15.0, 20.0), border_width=3.5,
)  # fmt: skip

#: Rental (business) two-row plates, serials 6000-9999, are another face: all five of
#: real_dev's (ksy_0094, 0403, 0542, 0545, 0580) carry the circled 영 business mark left of
#: the region, their line runs near the plate's edge, and their bottom row fills the plate's
#: width with large digits; none of the nine non-rental ones has the mark. Checked by eye
#: (the crop heuristic does not find these lighter plates): digits about 0.51-0.87 of the
#: height across 0.08-0.92 of the width (the layout measured before session 14, kept for
#: them), region syllables at about 0.28 and 0.61 of the width, the mark's circle about
#: 0.09 of the width at (0.11, 0.27).
CR2_RENTAL = TwoRowConstructionFace(
    region_centres=(112.0, 244.0), region_w=60.0, region_y=36.0, region_h=46.0,
    digit_w=52.0, digit_ink_w=46.0, digit_y=112.0, digit_h=80.0,
    syllable_centre=146.0, syllable_w=34.0, syllable_y=114.5, syllable_h=72.0,
    class_centres=(48.0, 102.0), serial_centres=(191.0, 245.0, 299.0, 353.0),
    border_inset=(5.0, 5.0), border_width=3.0, business_mark=(44.0, 59.0, 36.0),
)  # fmt: skip


def _with_face(geo: PlateGeometry, face: TwoRowConstructionFace) -> PlateGeometry:
    """The two-row construction geometry drawn with one of its faces."""
    return dataclasses.replace(
        geo,
        layouts={9: face.cells()},
        border_inset=face.border_inset,
        border_width=face.border_width,
        business_mark=face.business_mark,
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
        t.CONSTRUCTION_REGIONAL_TWO_ROW: _with_face(
            _geometry(
                t.CONSTRUCTION_REGIONAL_TWO_ROW,
                CR2_SIZE,
                green,
                ink,
                {},
                CR2_HOLES,
                official=False,
                digit_face=DigitFace.OLD,
            ),
            CR2,
        ),
    }


GEOMETRY: dict[PlateType, PlateGeometry] = {**_build(), **_construction_regional()}

#: The face a type's rental (business, orange) plates have when it differs from the type's
#: own: the two-row regional construction plate (CR2_RENTAL).
RENTAL_GEOMETRY: dict[PlateType, PlateGeometry] = {
    PlateType.CONSTRUCTION_REGIONAL_TWO_ROW: _with_face(
        GEOMETRY[PlateType.CONSTRUCTION_REGIONAL_TWO_ROW], CR2_RENTAL
    )
}


def geometry(plate_type: PlateType) -> PlateGeometry:
    """The geometry of a plate type (construction plates pick their colour per number)."""
    return GEOMETRY[plate_type]
