"""Plate type identifiers: the user-facing names, and the earlier project's names as aliases."""

from __future__ import annotations

from enum import StrEnum

from kplate.errors import KplateError, OptionError


class PlateType(StrEnum):
    """Every plate type kplate draws. The value is the id users type on the command line."""

    PRIVATE_2DIGIT = "private_2digit"
    PRIVATE_3DIGIT = "private_3digit"
    PRIVATE_3DIGIT_FILM = "private_3digit_film"
    PRIVATE_SHORT = "private_short"
    ELECTRIC = "electric"
    CORPORATE = "corporate"
    COMMERCIAL_LONG = "commercial_long"
    COMMERCIAL_TWO_ROW = "commercial_two_row"
    LARGE_PRIVATE = "large_private"
    LARGE_COMMERCIAL = "large_commercial"
    GREEN_REGIONAL = "green_regional"
    GREEN_NATIONAL = "green_national"
    DIPLOMATIC = "diplomatic"
    CONSTRUCTION = "construction"
    CONSTRUCTION_REGIONAL = "construction_regional"
    CONSTRUCTION_REGIONAL_TWO_ROW = "construction_regional_two_row"
    MILITARY = "military"


DESCRIPTIONS: dict[PlateType, str] = {
    PlateType.PRIVATE_2DIGIT: "520x110 white, 2-digit class, 2006- (12가3456)",
    PlateType.PRIVATE_3DIGIT: "520x110 white paint, 3-digit class, 2019- (123가4568)",
    PlateType.PRIVATE_3DIGIT_FILM: "520x110 white film with the blue Taegeuk/KOR band, 2020- (123가4568)",
    PlateType.PRIVATE_SHORT: "335x155 white, for cars that cannot take a 520 plate (39나2764)",
    PlateType.ELECTRIC: "520x110 sky-blue electric/hydrogen plate with its emblems, 2017- (52가3108)",
    PlateType.CORPORATE: "520x110 light-green corporate car plate, 2024- (123가4568)",
    PlateType.COMMERCIAL_LONG: "520x110 yellow commercial, region as two stacked syllables (서울52바3108)",
    PlateType.COMMERCIAL_TWO_ROW: "335x170 yellow commercial, region and class on top (서울52바3108)",
    PlateType.LARGE_PRIVATE: "440x200 white large non-business vehicle, class 70-99 (80가3018)",
    PlateType.LARGE_COMMERCIAL: "440x220 yellow large commercial, two rows (서울80바2764)",
    PlateType.GREEN_REGIONAL: "335x170 green with region on top, 1973-2003 (서울12가3456)",
    PlateType.GREEN_NATIONAL: "335x170 green without region, 2004-2006 (12가3456)",
    PlateType.DIPLOMATIC: "520x110 navy with white text (외교005-003)",
    PlateType.CONSTRUCTION: "520x110 construction machinery, orange for rental or white, 2022- (012가4568)",
    PlateType.CONSTRUCTION_REGIONAL: (
        "520x110 regional construction machinery, white on green or on orange for rental, "
        "-2022 (경기06조4568)"
    ),
    PlateType.CONSTRUCTION_REGIONAL_TWO_ROW: (
        "400x220 regional construction machinery, region on top, white on green or orange, "
        "-2022 (전남14나3108)"
    ),
    PlateType.MILITARY: "520x110 white military plate, low-confidence format (05육2107)",
}

#: One regulation example per type, used for the samples and the documentation.
EXAMPLES: dict[PlateType, str] = {
    PlateType.PRIVATE_2DIGIT: "12가3456",
    PlateType.PRIVATE_3DIGIT: "123가4568",
    PlateType.PRIVATE_3DIGIT_FILM: "123가4568",
    PlateType.PRIVATE_SHORT: "39나2764",
    PlateType.ELECTRIC: "52가3108",
    PlateType.CORPORATE: "157허4568",
    PlateType.COMMERCIAL_LONG: "서울52바3108",
    PlateType.COMMERCIAL_TWO_ROW: "서울52바3108",
    PlateType.LARGE_PRIVATE: "80가3018",
    PlateType.LARGE_COMMERCIAL: "서울80바2764",
    PlateType.GREEN_REGIONAL: "서울12가3456",
    PlateType.GREEN_NATIONAL: "12가3456",
    PlateType.DIPLOMATIC: "외교005-003",
    PlateType.CONSTRUCTION: "012가4568",
    PlateType.CONSTRUCTION_REGIONAL: "경기06조4568",
    PlateType.CONSTRUCTION_REGIONAL_TWO_ROW: "전남14나3108",
    PlateType.MILITARY: "05육2107",
}

#: The earlier project's type names. `basic_europe` covered both 2- and 3-digit plates;
#: it maps to the 2-digit type here and the grammar moves 3-digit strings to private_3digit.
ALIASES: dict[str, PlateType] = {
    "basic_europe": PlateType.PRIVATE_2DIGIT,
    "basic_north": PlateType.PRIVATE_SHORT,
    "commercial_europe": PlateType.COMMERCIAL_LONG,
    "commercial_north": PlateType.COMMERCIAL_TWO_ROW,
    "green_old": PlateType.GREEN_REGIONAL,
    "green_basic": PlateType.GREEN_NATIONAL,
}


#: The `style` names of the labelled real crops in shared/data/real_dev (its labels.csv
#: `style` column), each mapped to the kplate type that draws that plate, so a labels.csv
#: with that column renders every row as its real type. A style names a plate family, not
#: always one form: `region_commercial(yellow)` holds one-row and two-row crops (the
#: two-row form is the larger share) and the construction style holds the one-row and the
#: two-row regional form (34 and 14 crops); a row of the other form needs its type given
#: (docs/plate-types.md, "Construction machinery plates").
STYLE_NAMES: dict[str, PlateType] = {
    "private_2digit": PlateType.PRIVATE_2DIGIT,
    "private_2digit (P1-1)": PlateType.PRIVATE_2DIGIT,
    "private_3digit": PlateType.PRIVATE_3DIGIT,
    "private_3digit (P1-3)": PlateType.PRIVATE_3DIGIT,
    "private_3digit_blue_band (P1-4)": PlateType.PRIVATE_3DIGIT_FILM,
    "EV_blue_2digit (P1-2)": PlateType.ELECTRIC,
    "military/government (P1-1 layout)": PlateType.MILITARY,
    "region_commercial(yellow)": PlateType.COMMERCIAL_TWO_ROW,
    "region_commercial_one_row (P4)": PlateType.COMMERCIAL_LONG,
    "region_commercial_yellow_two_row (P3)": PlateType.COMMERCIAL_TWO_ROW,
    "region_construction_machinery(06/14 code)": PlateType.CONSTRUCTION_REGIONAL,
    # Region and class on the top row, syllable and serial below, light on dark: the
    # 1973-2003 green plate.
    "region_old_private": PlateType.GREEN_REGIONAL,
    "region_old_private_two_row (P5)": PlateType.GREEN_REGIONAL,
    # Class and syllable on top, serial below: the 2004-2006 green plate.
    "old_green_two_row": PlateType.GREEN_NATIONAL,
    "old_green_two_row (P6)": PlateType.GREEN_NATIONAL,
    # The crops are white 335-wide plates with one row (12무7419): the short private plate.
    "old_green/white two_row (P2)": PlateType.PRIVATE_SHORT,
}
_STYLE_KEYS = {name.lower(): plate_type for name, plate_type in STYLE_NAMES.items()}


def parse_plate_type(name: str | PlateType) -> PlateType:
    """Turn an id, an earlier-project alias or a real_dev style name into a PlateType, or
    fail with the valid names."""
    if isinstance(name, PlateType):
        return name
    if name.strip().lower() in _STYLE_KEYS:
        return _STYLE_KEYS[name.strip().lower()]
    key = name.strip().lower().replace("-", "_")
    if key in ALIASES:
        return ALIASES[key]
    try:
        return PlateType(key)
    except ValueError:
        valid = ", ".join(t.value for t in PlateType)
        raise KplateError(f"unknown plate type '{name}' (use one of: {valid})") from None


def parse_plate_types(names: str) -> list[PlateType]:
    """Parse a comma-separated list of types, where `all` means every type in order.

    A type named twice (or once by its id and once by an alias) is refused: it would
    silently double that type's share of a random run.
    """
    parts = [p for p in (s.strip() for s in names.split(",")) if p]
    if not parts:
        raise KplateError("empty plate type list")
    if parts == ["all"]:
        return list(PlateType)
    types: list[PlateType] = []
    for part in parts:
        plate_type = parse_plate_type(part)
        if plate_type in types:
            raise OptionError(
                "types",
                f"{{option}} names {plate_type.value} more than once ('{part}'); list each "
                "type once (a random run's shares are set with {weights})",
                also=("weights",),
            )
        types.append(plate_type)
    return types


def plate_characters(plate_type: PlateType) -> frozenset[str]:
    """Every character a random plate of this type can contain: what a glyph source (a
    --font, a --glyph-dir) must draw before a run of that type starts."""
    from kplate.spec import alphabet as a

    t = PlateType
    digits = set(a.DIGITS)
    uses = {
        t.COMMERCIAL_LONG: a.COMMERCIAL_SYLLABLES,
        t.COMMERCIAL_TWO_ROW: a.COMMERCIAL_SYLLABLES,
        t.LARGE_COMMERCIAL: a.COMMERCIAL_SYLLABLES,
        t.GREEN_REGIONAL: a.PRIVATE_SYLLABLES + "허",
        t.GREEN_NATIONAL: a.PRIVATE_SYLLABLES + "허",
        t.CONSTRUCTION: a.CONSTRUCTION_SYLLABLES,
        t.CONSTRUCTION_REGIONAL: a.CONSTRUCTION_SYLLABLES,
        t.CONSTRUCTION_REGIONAL_TWO_ROW: a.CONSTRUCTION_SYLLABLES,
        t.MILITARY: a.MILITARY_SYLLABLES,
        t.DIPLOMATIC: "".join(a.DIPLOMATIC_PREFIXES) + "-",
    }
    regions = {
        t.COMMERCIAL_LONG: a.REGIONS,
        t.COMMERCIAL_TWO_ROW: a.REGIONS,
        t.LARGE_COMMERCIAL: a.REGIONS,
        t.CONSTRUCTION_REGIONAL: a.REGIONS,
        t.CONSTRUCTION_REGIONAL_TWO_ROW: a.REGIONS,
        t.GREEN_REGIONAL: a.REGIONS_1973,
    }
    chars = digits | set(uses.get(plate_type, a.PRIVATE_SYLLABLES + a.RENTAL_SYLLABLES))
    chars.update("".join(regions.get(plate_type, ())))
    return frozenset(chars)
