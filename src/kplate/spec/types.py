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
    PlateType.CONSTRUCTION: "520x110 construction machinery, orange for rental or white (012가4568)",
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


def parse_plate_type(name: str | PlateType) -> PlateType:
    """Turn an id or an earlier-project alias into a PlateType, or fail with the valid names."""
    if isinstance(name, PlateType):
        return name
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
        t.MILITARY: a.MILITARY_SYLLABLES,
        t.DIPLOMATIC: "".join(a.DIPLOMATIC_PREFIXES) + "-",
    }
    regions = {
        t.COMMERCIAL_LONG: a.REGIONS,
        t.COMMERCIAL_TWO_ROW: a.REGIONS,
        t.LARGE_COMMERCIAL: a.REGIONS,
        t.CONSTRUCTION: a.REGIONS,
        t.GREEN_REGIONAL: a.REGIONS_1973,
    }
    chars = digits | set(uses.get(plate_type, a.PRIVATE_SYLLABLES + a.RENTAL_SYLLABLES))
    chars.update("".join(regions.get(plate_type, ())))
    return frozenset(chars)
