"""The drawn ink boxes of every plate type: what tests/test_drawings.py holds kplate to.

Each `Drawing` is one text as the notice (or, where it has none, a measurement) places it:
per character the ink box x0-x1, y0-y1 in mm from the plate's top-left corner, and where
each number comes from. A `None` edge is not held (a glyph whose shape another part of
kplate owns, or a row the source cannot resolve).

Sources, read by issue #15:
- N2018 pp. 8-11 (별표2) and pp. 20-31 (별표2-1) print dimensions in mm: the cells, each
  digit's width, top and height (pp. 8-10), the "1" at 10.6-36.3 mm of its 56 mm cell
  (pp. 8, 20), the syllable centred on the line 28.0 mm into the 2-digit plate's 96 mm
  cell (p. 11) and starting 7.0 mm into the 3-digit plate's 79.82 mm cell (pp. 23-31).
- 별표1/3/4/5/6 (annex-drawings.pptx) are rasters at 1.1-1.8 px/mm without glyph
  dimensions: the boxes were measured on them (ink darker than 140/255, the plate frame
  from the border line), so they hold to 1 mm plus half a raster pixel (`tolerance`).
  별표4's frame was calibrated on its cell lines (+1.5 mm in x, +0.75 mm in y).
- Types without a drawing reuse the nearest one (`approximate`): the film, corporate and
  construction plates the 별표2-1 rules on their cells; military and the 2-digit electric
  plate 별표2 (별표18 draws the same cells); green_national was measured on three real
  crops of old green plates (see GREEN_NATIONAL_NOTE); diplomatic and green_regional have
  neither a drawing nor a usable crop and hold kplate's own layout.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kplate.spec.types import PlateType


@dataclass(frozen=True)
class DrawnBox:
    char: str
    x0: float | None
    x1: float | None
    y0: float | None
    y1: float | None


@dataclass(frozen=True)
class Drawing:
    plate_type: PlateType
    text: str
    boxes: tuple[DrawnBox, ...]
    source: str
    approximate: bool = False
    tolerance: float = 1.0


# -- 별표2 / 별표2-1 glyph pages ---------------------------------------------------------
#: Digit ink width, top below the cell top and height in an 83 mm cell (pp. 8-10; the
#: 3-digit pages 20-22 repeat them: "0" 40.8 x 74.8 there).
DIGIT_PAGES: dict[str, tuple[float, float, float]] = {
    "0": (40.9, 4.1, 75.0),
    "1": (25.7, 4.3, 74.2),
    "2": (40.2, 3.8, 74.8),
    "3": (42.3, 5.7, 73.3),
    "4": (48.1, 4.6, 74.0),
    "5": (42.5, 5.4, 73.8),
    "6": (44.6, 4.7, 74.6),
    "7": (44.4, 5.2, 73.0),
    "8": (44.0, 4.1, 75.0),
    "9": (43.6, 4.1, 74.0),
}
#: "1": its ink starts 10.6 mm into a 56 mm cell, so its centre is 4.55 mm left of centre.
ONE_SHIFT_56 = 4.55
#: Syllable ink widths (pp. 11, 23, 31); all 64.8 mm high, 10.4 mm below the cell top.
SYLLABLE_PAGES: dict[str, float] = {"가": 45.9, "나": 46.9, "허": 46.8}
#: Syllable placement: centred 28.0 mm into the 96 mm cell (p. 11) / from 7.0 mm (p. 23).
P7_SYLLABLE_CENTRE = 28.0
P8_SYLLABLE_INSET = 7.0


def _page_boxes(
    text: str,
    cells: tuple[tuple[float, float], ...],
    y: float,
    h: float,
    syllable: str,
    condense: float = 1.0,
) -> tuple[DrawnBox, ...]:
    """Boxes of `text` on cells (x, w) of height h at y, by the glyph pages' numbers."""
    scale = h / 83.0
    boxes = []
    for char, (x, w) in zip(text, cells, strict=True):
        if char.isdigit():
            width, top, height = (v * scale for v in DIGIT_PAGES[char])
            width *= condense
            centre = x + w / 2 - (ONE_SHIFT_56 * w / 56 if char == "1" else 0.0)
            boxes.append(
                DrawnBox(char, centre - width / 2, centre + width / 2, y + top, y + top + height)
            )
        else:
            width = SYLLABLE_PAGES.get(char)
            x0 = x + P8_SYLLABLE_INSET * scale if syllable == "inset" else None
            if syllable == "centre" and width is not None:
                x0 = x + P7_SYLLABLE_CENTRE - width / 2
            x1 = x0 + width * scale if x0 is not None and width is not None else None
            boxes.append(DrawnBox(char, x0, x1, y + 10.4 * scale, y + 75.2 * scale))
    return tuple(boxes)


P7_DRAWN_CELLS = ((44, 56), (100, 56), (156, 96), (252, 56), (308, 56), (364, 56), (420, 56))
P8_DRAWN_CELLS = (
    (24.09, 56),
    (80.09, 56),
    (136.09, 56),
    (192.09, 79.82),
    (271.91, 56),
    (327.91, 56),
    (383.91, 56),
    (439.91, 56),
)
#: kplate's film and 3-digit electric cells (no drawing): the 별표2-1 rules applied there.
FILM_CELLS = ((65, 50), (115, 50), (165, 50), (215, 85), (300, 50), (350, 50), (400, 50), (450, 50))
EV3_CELLS = ((50, 49), (99, 49), (148, 49), (197, 70), (270, 49), (319, 49), (368, 49), (417, 49))


def _p7(plate_type: PlateType, text: str, source: str, approximate: bool = False) -> Drawing:
    boxes = _page_boxes(text, P7_DRAWN_CELLS, 13.5, 83.0, "centre")
    return Drawing(plate_type, text, boxes, source, approximate)


def _p8(
    plate_type: PlateType,
    text: str,
    source: str,
    cells: tuple[tuple[float, float], ...] = P8_DRAWN_CELLS,
    y: float = 13.5,
    h: float = 83.0,
    approximate: bool = False,
    condense: float = 1.0,
) -> Drawing:
    boxes = _page_boxes(text, cells, y, h, "inset", condense)
    return Drawing(plate_type, text, boxes, source, approximate)


def _measured(
    plate_type: PlateType,
    text: str,
    rows: tuple[tuple[float | None, float | None, float | None, float | None], ...],
    source: str,
    tolerance: float,
    approximate: bool = False,
) -> Drawing:
    boxes = tuple(DrawnBox(c, *row) for c, row in zip(text, rows, strict=True))
    return Drawing(plate_type, text, boxes, source, approximate, tolerance)


def _ones(base: Drawing, slots: tuple[tuple[int, float, float, float, float], ...]) -> Drawing:
    """`base` with a "1" in each given slot (index, cell x, cell w, digit top, bottom):
    the p. 8 "1" (25.7/74 of the digit height wide, 4.55/56 of the cell left of centre),
    condensed like the drawing's other digits where it condenses them."""
    chars = list(base.text)
    boxes = list(base.boxes)
    for index, x, w, top, bottom, *rest in slots:
        condense = rest[0] if rest else 1.0
        width = 25.7 / 74.0 * (bottom - top) * condense
        centre = x + w / 2 - ONE_SHIFT_56 * w / 56
        chars[index] = "1"
        boxes[index] = DrawnBox("1", centre - width / 2, centre + width / 2, top, bottom)
    text = "".join(chars)
    return Drawing(
        base.plate_type,
        text,
        tuple(boxes),
        base.source + "; the 1s by the p. 8 rule",
        True,
        base.tolerance,
    )


T = PlateType
_P7_SRC = "N2018 p. 8 (별표2 cells), pp. 8-11 (glyph dimensions)"
_P8_SRC = "N2018 p. 20 (별표2-1 cells), pp. 20-31 (glyph dimensions, the 7.0 mm syllable inset)"

PRIVATE_SHORT = _measured(
    T.PRIVATE_SHORT,
    "39나2764",
    (
        (13.4, 48.1, 51.4, 125.2),
        (57.7, 92.4, 50.3, 124.6),
        (102.7, 139.6, 66.7, 124.6),
        (153.3, 185.7, 49.7, 124.6),
        (195.9, 232.3, 50.8, 124.6),
        (242.6, 278.4, 50.8, 125.2),
        (285.2, 322.8, 49.7, 125.2),
    ),
    "별표1 (annex-drawings.pptx slide 2, 1.76 px/mm)",
    1.3,
)
COMMERCIAL_TWO_ROW = _measured(
    T.COMMERCIAL_TWO_ROW,
    "서울39바2764",
    (
        (84.8, 117.9, 13.2, 53.4),
        (125.5, 159.2, 12.6, 52.8),
        (180.5, 210.1, 13.2, 54.0),
        (218.9, 247.9, 12.6, 53.4),
        (18.0, 70.0, 73.5, 133.1),  # 바 0.873 of its height wide (strokes 9.2-9.5 mm)
        (81.8, 127.3, 71.1, 155.6),
        (140.3, 191.7, 72.9, 155.6),
        (203.0, 254.4, 72.3, 156.2),
        (262.7, 316.4, 72.3, 155.6),
    ),
    "별표3 (annex-drawings.pptx slide 4, 1.69 px/mm)",
    1.3,
)
COMMERCIAL_LONG = _measured(
    T.COMMERCIAL_LONG,
    "서울52바3108",
    (
        (36.4, 80.8, 16.9, 50.5),
        (37.2, 82.5, 54.0, 92.0),
        (94.1, 136.7, None, None),  # digit rows: 1.13 px/mm cannot resolve them; p. 8 holds
        (150.0, 190.0, None, None),
        (202.4, None, 22.2, 87.6),
        (273.5, 316.1, None, None),
        (333.9, 359.6, None, None),
        (385.4, 427.1, None, None),
        (438.7, 483.1, None, None),
    ),
    "별표4 (annex-drawings.pptx slide 5, 1.13 px/mm, calibrated on its cell lines)",
    1.45,
)
LARGE_PRIVATE = _measured(
    T.LARGE_PRIVATE,
    "80가3018",
    (
        (17.8, 64.4, 64.95, 161.5),  # the two 8s and the two 0s are averaged in y
        (78.0, 121.8, 64.2, 161.15),
        (133.9, 181.3, 83.5, 160.8),
        (198.5, 244.4, 66.4, 160.8),
        (259.4, 303.9, 64.2, 161.15),
        (322.5, 350.5, 64.9, 160.8),
        (375.6, 423.7, 64.95, 161.5),
    ),
    "별표5 (annex-drawings.pptx slide 6, 1.39 px/mm)",
    1.35,
)
LARGE_COMMERCIAL = _measured(
    T.LARGE_COMMERCIAL,
    "서울80바2764",
    (
        (110.6, 157.0, 16.1, 68.0),
        (166.5, 212.1, 15.4, 68.0),
        (237.3, 277.5, 16.1, 68.8),
        (287.7, 327.0, 15.4, 68.8),
        (24.8, 93.5, 90.0, 173.2),  # 바 0.826 of its height wide
        (116.1, 173.6, 88.4, 194.4),
        (193.2, 258.6, 90.0, 195.2),
        (271.9, 336.5, 89.2, 196.0),
        (345.1, 413.6, 89.2, 194.4),
    ),
    "별표6 (annex-drawings.pptx slide 7, 1.27 px/mm)",
    1.4,
)

#: The regional one-row construction plate: its crops place the region, class, syllable
#: and serial as 별표4 does (docs/plate-types.md, "Construction machinery plates"), so it
#: is held to 별표4's boxes; its class digits differ from the drawing's text and are free.
CONSTRUCTION_REGIONAL = Drawing(
    T.CONSTRUCTION_REGIONAL,
    "서울06조3108",
    tuple(
        DrawnBox(char, None, None, None, None) if index in (2, 3) else replace(box, char=char)
        for index, (char, box) in enumerate(zip("서울06조3108", COMMERCIAL_LONG.boxes, strict=True))
    ),
    COMMERCIAL_LONG.source + " (no regional construction drawing: the crops match its cells)",
    approximate=True,
    tolerance=COMMERCIAL_LONG.tolerance,
)
CONSTRUCTION_REGIONAL_TWO_ROW = _measured(
    T.CONSTRUCTION_REGIONAL_TWO_ROW,
    "전남14다3323",
    (
        (110.0, 162.7, 49.7, 97.7),
        (237.6, 290.4, 49.7, 97.7),
        (None, None, 112.6, 174.0),
        (91.5, 128.5, 112.6, 174.0),
        (138.7, 170.1, 121.3, 169.5),
        (177.5, 214.5, 112.6, 174.0),
        (225.5, 262.5, 112.6, 174.0),
        (271.5, 308.5, 112.6, 174.0),
        (317.5, 354.5, 112.6, 174.0),
    ),
    "no drawing: the medians of real_dev's two-row construction crops (43 digits and 17 "
    "region syllables, all on the nine non-rental plates; glyph boxes as fractions of "
    "each crop's plate, found and deskewed by tools/measure_crop_margins.py's heuristic; "
    "tools/measure_construction_two_row.py) "
    "scaled to 400x220 mm, less the 4-5 % that Otsu and the heuristic add to a blurred "
    "glyph's box (kplate's own plates measured that way before this layout); the use "
    "syllable the same way on 8 of those crops, measured in session 31 (docs/plate-types.md, "
    '"Session 14: the two-row construction plates")',
    3.0,
    approximate=True,
)

GREEN_NATIONAL_NOTE = (
    "no drawing: measured on real_dev crops aziz_0021 (08서/5008), cvl_0009 (02누/5770) and "
    "cvl_0010 (01가/8563), each scaled by its border line to 335 mm: the top row is three "
    "glyphs on a 52.7-56 mm pitch centred 2.6 mm left of the plate's centre (164.9 mm), "
    "digits and syllables 42-46 mm wide, the 1 13 mm, 38.8 mm high at y 13.6-52.4 "
    "(±3 mm: 1.5-2.1 mm per pixel). The group spans 45 % of the plate width, not the "
    "issue's 23 %. The serial row is the old typeface: digits 59-65 mm wide and about "
    "91 mm high at y 67-159 (aziz_0021, cvl_0010; the crops' tilt leaves ±5 mm), drawn "
    "62 x 91 mm (spec/geometry.py) and not held."
)
GREEN_NATIONAL = _measured(
    T.GREEN_NATIONAL,
    "12가3456",
    (
        (108.0, 121.0, 13.6, 52.4),
        (145.5, 189.5, 13.6, 52.4),
        (198.5, 242.5, 13.6, 52.4),
        (None, None, None, None),
        (None, None, None, None),
        (None, None, None, None),
        (None, None, None, None),
    ),
    GREEN_NATIONAL_NOTE,
    3.0,
    approximate=True,
)
_OWN = "no drawing and no crop: kplate's own layout (docs/plate-types.md), held as it is"
GREEN_REGIONAL = _measured(
    T.GREEN_REGIONAL,
    "서울12가3456",
    (
        (96.0, 123.2, 16.8, 47.0),
        (135.5, 163.0, 16.8, 47.0),
        (None, None, None, None),
        (220.5, 239.8, None, None),
        (35.0, 68.8, 67.5, 114.2),
        (107.8, 147.2, None, 144.6),
        (163.8, 203.2, None, 144.6),
        (219.8, 259.2, None, 144.6),
        (275.8, 315.2, None, 144.6),
    ),
    _OWN,
    1.0,
    approximate=True,
)
DIPLOMATIC = _measured(
    T.DIPLOMATIC,
    "외교005-003",
    (
        (35.5, 82.5, 23.9, 88.6),
        (93.4, 140.4, 23.9, 88.6),
        (160.5, 201.6, None, 92.2),
        (210.5, 251.6, None, 92.2),
        (259.7, 302.4, None, 92.2),
        (310.3, 329.8, 50.8, 59.2),
        (338.5, 379.6, None, 92.2),
        (388.5, 429.6, None, 92.2),
        (438.0, 480.1, None, 92.2),
    ),
    _OWN,
    1.0,
    approximate=True,
)

DRAWINGS: tuple[Drawing, ...] = (
    _p7(T.PRIVATE_2DIGIT, "52가3108", _P7_SRC),
    _p7(T.PRIVATE_2DIGIT, "11가1111", _P7_SRC),
    _p7(T.ELECTRIC, "52가3108", _P7_SRC + " (별표18 draws the same cells)"),
    _p7(T.MILITARY, "05육2107", _P7_SRC + " (no military drawing)", approximate=True),
    _p8(T.PRIVATE_3DIGIT, "123가4568", _P8_SRC),
    _p8(T.PRIVATE_3DIGIT, "111가1111", _P8_SRC),
    _p8(T.CORPORATE, "157허4568", _P8_SRC + " (no corporate drawing)", approximate=True),
    _p8(T.CONSTRUCTION, "012가4568", _P8_SRC + " (no construction drawing)", approximate=True),
    _p8(
        T.PRIVATE_3DIGIT_FILM,
        "123가4568",
        _P8_SRC + " on the CV-measured film cells, digits condensed to 0.9 (no film drawing)",
        FILM_CELLS,
        12.5,
        85.0,
        approximate=True,
        condense=0.9,
    ),
    _p8(
        T.ELECTRIC,
        "123가4568",
        _P8_SRC + " on kplate's 3-digit EV cells, digits condensed to 0.9",
        EV3_CELLS,
        approximate=True,
        condense=0.9,
    ),
    PRIVATE_SHORT,
    _ones(PRIVATE_SHORT, ((0, 8, 45, 50.35, 124.85, 0.80), (6, 282, 45, 50.35, 124.85, 0.80))),
    COMMERCIAL_LONG,
    _ones(COMMERCIAL_LONG, ((3, 142, 55, 17.6, 92.2), (5, 268, 55, 17.6, 92.2))),
    COMMERCIAL_TWO_ROW,
    _ones(COMMERCIAL_TWO_ROW, ((3, 214.4, 38, 12.9, 53.7, 1.25), (5, 73.1, 62, 72.25, 155.75))),
    LARGE_PRIVATE,
    _ones(LARGE_PRIVATE, ((1, 70, 59, 65.65, 161.15, 0.836), (3, 193, 59, 65.65, 161.15, 0.836))),
    LARGE_COMMERCIAL,
    _ones(LARGE_COMMERCIAL, ((3, 283, 50, 16.4, 68.8, 1.32), (5, 107.35, 75, 89.3, 195.0))),
    GREEN_NATIONAL,
    GREEN_REGIONAL,
    DIPLOMATIC,
    CONSTRUCTION_REGIONAL,
    CONSTRUCTION_REGIONAL_TWO_ROW,
)


def drawings_of(plate_type: PlateType) -> tuple[Drawing, ...]:
    return tuple(d for d in DRAWINGS if d.plate_type is plate_type)
