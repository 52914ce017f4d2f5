"""How often each plate type is seen on Korean roads: `--types realistic`.

`--types all` draws every type evenly, so private plates, most of the traffic, are under
a fifth of a random run while diplomatic and military plates get as many images as they
do. `realistic` follows the vehicle population instead. The shares are rounded
judgements from public figures (docs/numbers.md "Type shares" gives them with sources):

- MOLIT's registration statistics: about 26 million registered vehicles at the end of
  2023, about 93 % of them non-business (white plates), about 7 % business (yellow);
  about 0.54 million electric cars (sky-blue plates);
- 3-digit passenger codes on every new registration since 1 Sep 2019 (about 1.7 million
  a year), on film plates since 1 Jul 2020, so by the mid-2020s roughly a third of
  private plates are 3-digit and most of those are film;
- construction machinery (about 0.5 million, in its own register), most still on the
  regional plates that the 2022 national form replaces only on new registrations;
- old green plates (1973-2006) are still seen on older vehicles; diplomatic, military
  and corporate (2024-) plates are rare but kept at a small share so a reader meets them.

Every type keeps a share of at least 0.2 %, so nothing is never drawn.

`region-rich` was the recommended mix to train a recogniser on up to scoreboard run 32
(since run 33 `all`, every type evenly, reads more: docs/numbers.md): the realistic
shares with every type that carries a region name (서울, 경기, ... 17 of them) drawn four
times as often, 43 % of plates instead of 16 %. At realistic shares a 6000-plate set
holds about 60 plates per region name, spread over six layouts, and the scoreboard's
reader trained on it for 4000 steps reads 13-24 % of real yellow commercial plates,
against 43-47 % on region-rich (docs/numbers.md); private plates stay the largest group.
The one two-row layout without a region (green_national, `12가` over `3456`) is drawn
four times as often with them, so that two-row plates keep their realistic share of top
rows without a region (1 in 9.5): drawn at its realistic share beside the boosted region
types (1 in 35), a reader learns that a top row is a region name and invents one for
these plates (docs/numbers.md).
"""

from __future__ import annotations

from kplate.spec.types import PlateType, parse_plate_types

#: The named choices for `--types`.
REALISTIC = "realistic"
REGION_RICH = "region-rich"
#: How much more often `region-rich` draws a type with a region name (and the two-row
#: layout without one) than `realistic`.
REGION_FACTOR = 4.0
#: The types whose numbers start with a region name (tests/test_type_shares.py checks
#: this against the grammar).
REGION_TYPES = frozenset(
    {
        PlateType.COMMERCIAL_LONG,
        PlateType.COMMERCIAL_TWO_ROW,
        PlateType.LARGE_COMMERCIAL,
        PlateType.GREEN_REGIONAL,
        PlateType.CONSTRUCTION_REGIONAL,
        PlateType.CONSTRUCTION_REGIONAL_TWO_ROW,
    }
)

#: Relative share of each type in the realistic mix (sums to 1).
REALISTIC_SHARES: dict[PlateType, float] = {
    PlateType.PRIVATE_2DIGIT: 0.41,
    PlateType.PRIVATE_3DIGIT: 0.10,
    PlateType.PRIVATE_3DIGIT_FILM: 0.22,
    PlateType.PRIVATE_SHORT: 0.03,
    PlateType.ELECTRIC: 0.03,
    PlateType.CORPORATE: 0.005,
    PlateType.COMMERCIAL_LONG: 0.06,
    PlateType.COMMERCIAL_TWO_ROW: 0.04,
    PlateType.LARGE_PRIVATE: 0.02,
    PlateType.LARGE_COMMERCIAL: 0.02,
    PlateType.GREEN_REGIONAL: 0.02,
    PlateType.GREEN_NATIONAL: 0.01,
    PlateType.DIPLOMATIC: 0.002,
    PlateType.CONSTRUCTION: 0.01,
    PlateType.CONSTRUCTION_REGIONAL: 0.015,
    PlateType.CONSTRUCTION_REGIONAL_TWO_ROW: 0.005,
    PlateType.MILITARY: 0.003,
}


def realistic_types() -> tuple[tuple[PlateType, ...], tuple[float, ...]]:
    """(types, weights) for `GenerateConfig(types=..., weights=...)`: the realistic mix."""
    return tuple(REALISTIC_SHARES), tuple(REALISTIC_SHARES.values())


#: The types `region-rich` draws REGION_FACTOR times as often: the region types and the
#: two-row layout without a region, which keeps its share of two-row top rows.
REGION_RICH_BOOSTED = REGION_TYPES | {PlateType.GREEN_NATIONAL}


def region_rich_types() -> tuple[tuple[PlateType, ...], tuple[float, ...]]:
    """(types, weights): the realistic mix with REGION_RICH_BOOSTED drawn REGION_FACTOR
    times as often, normalised to sum to 1."""
    raw = {
        t: s * (REGION_FACTOR if t in REGION_RICH_BOOSTED else 1.0)
        for t, s in REALISTIC_SHARES.items()
    }
    total = sum(raw.values())
    return tuple(raw), tuple(share / total for share in raw.values())


#: Each named choice of `--types` and the function that gives its (types, weights).
NAMED_MIXES = {REALISTIC: realistic_types, REGION_RICH: region_rich_types}


def types_and_weights(
    types: str,
) -> tuple[tuple[PlateType, ...], tuple[float, ...] | None]:
    """What `--types TEXT` draws: a named mix's (types, weights), or the listed type ids
    (`all`: every type) with no weights (drawn evenly, or by `--weights`)."""
    named = types.strip().lower()
    if named in NAMED_MIXES:
        return NAMED_MIXES[named]()
    return tuple(parse_plate_types(types)), None
