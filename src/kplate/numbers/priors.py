"""Number priors: how `sample` spreads its draws over the numbers a type allows.

The grammar says which numbers are legal; a prior says how often each is drawn.
`NumberPrior.UNIFORM` draws every part evenly over its legal range (the earlier
behaviour: a third of 3-digit private plates got van/truck codes 700-999 and serials
started at 0001). `NumberPrior.REALISTIC`, the default, follows what is issued:

- serials 0100-9999 (spec §2.3: the range issued to cars; 0001-0099 are not handed out);
- class codes by vehicle kind, each kind over its regulation range (spec §2.1), with the
  3-digit passenger codes 100-699 falling off from 100 upward because they are issued in
  that order since 1 Sep 2019 (N2018 부칙);
- use syllables evenly, except the delivery syllable 배, which only delivery vans carry.

- construction machinery by the machines a road camera sees: dump trucks (code 06) and
  concrete mixer trucks (14) first, the other road-going kinds next, the 27 kinds flat
  for the rest; serials by use (rental 6000-9999 half of the plates, as the uniform
  sampler, so both plate colours render).

The shares between kinds are rounded judgements, written as data below with their
reason; docs/numbers.md gives the sources. A type without a rule here (diplomatic,
military, and any type added later) is drawn by the uniform sampler, so a new type never
lacks numbers.
"""

from __future__ import annotations

import enum
import itertools
import random
from dataclasses import dataclass, field

from kplate.errors import OptionError
from kplate.spec.alphabet import (
    COMMERCIAL_SYLLABLES,
    CONSTRUCTION_SYLLABLES,
    PRIVATE_SYLLABLES,
    REGIONS,
    REGIONS_1973,
    RENTAL_SYLLABLES,
)
from kplate.spec.types import PlateType

__all__ = [
    "CodeBand",
    "NumberPrior",
    "TypePrior",
    "parse_number_prior",
    "realistic_prior",
]


class NumberPrior(enum.StrEnum):
    """How a random number is spread over its type's legal numbers (recorded in run.json)."""

    REALISTIC = "realistic"
    UNIFORM = "uniform"


def parse_number_prior(value: NumberPrior | str, option: str = "number_prior") -> NumberPrior:
    """A prior from its name; an unknown name is one line naming the choices."""
    if isinstance(value, NumberPrior):
        return value
    try:
        return NumberPrior(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(p.value for p in NumberPrior)
        raise OptionError(option, f"{{option}} must be one of {choices}, got '{value}'") from None


class Shape(enum.Enum):
    """How codes spread inside a band."""

    FLAT = "flat"
    #: Density falling linearly from the band's first code to zero after its last: codes
    #: issued in order, so the low ones have been on the road longest.
    ISSUE_ORDER = "issue order"


@dataclass(frozen=True)
class CodeBand:
    """A share of a type's class codes, spread over lo..hi (printed with `digits` digits)."""

    share: float
    lo: int
    hi: int
    digits: int
    shape: Shape = Shape.FLAT

    def draw(self, rng: random.Random) -> str:
        if self.shape is Shape.FLAT:
            value = rng.randint(self.lo, self.hi)
        else:
            value = min(int(rng.triangular(self.lo, self.hi + 1, self.lo)), self.hi)
        return f"{value:0{self.digits}d}"


@dataclass(frozen=True)
class TypePrior:
    """The realistic rule of one type: its regions, class-code bands, syllables and serials."""

    codes: tuple[CodeBand, ...]
    uses: tuple[tuple[str, float], ...]
    regions: tuple[str, ...] = ()
    serial: tuple[int, int] = (100, 9999)
    #: (share, lo, hi) serial bands where a type's serials say more than "issued", as
    #: construction serials say the use; empty: `serial` alone.
    serial_bands: tuple[tuple[float, int, int], ...] = ()
    _code_cum: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _use_cum: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _serial_cum: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _use_chars: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_code_cum", tuple(itertools.accumulate(b.share for b in self.codes))
        )
        object.__setattr__(self, "_use_chars", tuple(s for s, _ in self.uses))
        object.__setattr__(self, "_use_cum", tuple(itertools.accumulate(w for _, w in self.uses)))
        object.__setattr__(
            self, "_serial_cum", tuple(itertools.accumulate(b[0] for b in self.serial_bands))
        )

    def draw(self, rng: random.Random) -> str:
        """One canonical number: region, class code, use syllable, serial (in that order)."""
        region = rng.choice(self.regions) if self.regions else ""
        band = rng.choices(self.codes, cum_weights=self._code_cum)[0]
        use = rng.choices(self._use_chars, cum_weights=self._use_cum)[0]
        lo, hi = self.serial
        if self.serial_bands:
            _, lo, hi = rng.choices(self.serial_bands, cum_weights=self._serial_cum)[0]
        return f"{region}{band.draw(rng)}{use}{rng.randint(lo, hi):04d}"


def _even(syllables: str, total: float = 1.0) -> tuple[tuple[str, float], ...]:
    return tuple((s, total / len(syllables)) for s in syllables)


F, ISSUE = Shape.FLAT, Shape.ISSUE_ORDER

# --------------------------------------------------------------------------- the rules

#: Non-business 2-digit codes by vehicle kind (spec §2.1, 1996-2019 and the vans and trucks
#: that keep 2 digits): passenger 01-69, van/bus 70-79, truck 80-97, special 98-99. The
#: shares are the registered fleet's by kind, rounded (about 80 % passenger cars, 16 %
#: trucks, 3 % vans and buses, 1 % special). All of 01-69 has long been issued: flat.
TWO_DIGIT_NON_BUSINESS = (
    CodeBand(0.80, 1, 69, 2),
    CodeBand(0.03, 70, 79, 2),
    CodeBand(0.16, 80, 97, 2),
    CodeBand(0.01, 98, 99, 2),
)

#: Yellow business plates: taxis 01-69, buses 70-79, trucks 80-97, special vehicles
#: (tractors, tow trucks) 98-99. Trucks are the largest group, then taxis (judgement).
TWO_DIGIT_BUSINESS = (
    CodeBand(0.30, 1, 69, 2),
    CodeBand(0.15, 70, 79, 2),
    CodeBand(0.45, 80, 97, 2),
    CodeBand(0.10, 98, 99, 2),
)

#: Large plates carry large buses, trucks and special vehicles only: 70-99, flat (no
#: better knowledge than the range).
LARGE = (CodeBand(1.0, 70, 99, 2),)

#: 3-digit passenger codes 100-699 since 1 Sep 2019, issued from 100 upward (N2018 부칙).
PASSENGER_3DIGIT = CodeBand(1.0, 100, 699, 3, ISSUE)

#: private_3digit: passenger codes, plus 5 % non-business van/truck/special codes 700-997
#: (M21: from 2021 only, and far fewer vehicles). The emergency codes 998/999 (EMG, from
#: Nov 2021) are too rare to draw; the uniform prior still reaches them.
THREE_DIGIT_PRIVATE = (
    CodeBand(0.95, 100, 699, 3, ISSUE),
    CodeBand(0.05, 700, 997, 3),
)

#: Electric: 3-digit passenger codes for cars registered since Sep 2019; 2-digit passenger
#: codes 01-69 for the 2017-2019 ones (N2018 §5); electric vans and trucks keep 2-digit
#: codes (M21), and electric 1-tonne trucks are a large part of the EV fleet. Shares are a
#: judgement from the EV fleet's growth (most EVs were registered after 2019).
ELECTRIC = (
    CodeBand(0.60, 100, 699, 3, ISSUE),
    CodeBand(0.15, 1, 69, 2),
    CodeBand(0.03, 70, 79, 2),
    CodeBand(0.22, 80, 97, 2),
)

#: green_regional (1973-2003): 1-digit codes 0-9 until 1995 (a minority, as the uniform
#: sampler's GREEN_ONE_DIGIT_SHARE), then the 2-digit kinds.
GREEN_REGIONAL = (
    CodeBand(0.10, 0, 9, 1),
    *(CodeBand(0.90 * b.share, b.lo, b.hi, b.digits, b.shape) for b in TWO_DIGIT_NON_BUSINESS),
)

#: Construction machinery (machine-type codes of the Construction Machinery Management
#: Act's decree, 별표1: 02 excavator, 04 forklift, 06 dump truck, 07 crane, 14 concrete
#: mixer truck, 15 concrete pump). Forklifts and excavators are the most registered kinds,
#: but they work on sites and yards; on the road, where plate cameras are, the machines
#: are the fast, truck-based ones (the 2002 rules call dump trucks the "high-speed"
#: construction machines, forklifts the "low-speed" ones). Shares are a judgement:
#: dump trucks half, mixer trucks a quarter, truck cranes and concrete pumps, a few
#: wheeled excavators and forklifts, and every kind flat for the rest.
MACHINES_ON_THE_ROAD = (
    CodeBand(0.50, 6, 6, 2),
    CodeBand(0.25, 14, 14, 2),
    CodeBand(0.06, 7, 7, 2),
    CodeBand(0.06, 15, 15, 2),
    CodeBand(0.05, 2, 2, 2),
    CodeBand(0.03, 4, 4, 2),
    CodeBand(0.05, 1, 27, 2),
)
#: The 2022 national plate: the same kinds after a 0 (`006`).
MACHINES_ON_THE_ROAD_NATIONAL = tuple(
    CodeBand(b.share, b.lo, b.hi, 3, b.shape) for b in MACHINES_ON_THE_ROAD
)
#: Construction serials by use (spec §2.3): rental businesses 6000-9999 (orange plates)
#: half, as the uniform sampler draws them so that both colours render; private owners
#: 1000-5999 most of the rest; government 0100-0999 a few.
CONSTRUCTION_SERIALS = ((0.50, 6000, 9999), (0.45, 1000, 5999), (0.05, 100, 999))

PRIVATE_USES = _even(PRIVATE_SYLLABLES + RENTAL_SYLLABLES)
GREEN_USES = _even(PRIVATE_SYLLABLES + "허")
#: 배 is for delivery vans only (spec §2.2): 5 %; 바 사 아 자 share the rest evenly.
COMMERCIAL_USES = (*_even(COMMERCIAL_SYLLABLES.replace("배", ""), 0.95), ("배", 0.05))
CONSTRUCTION_USES = _even(CONSTRUCTION_SYLLABLES)

T = PlateType
_REALISTIC: dict[PlateType, TypePrior] = {
    T.PRIVATE_2DIGIT: TypePrior(TWO_DIGIT_NON_BUSINESS, PRIVATE_USES),
    T.PRIVATE_SHORT: TypePrior(TWO_DIGIT_NON_BUSINESS, PRIVATE_USES),
    T.ELECTRIC: TypePrior(ELECTRIC, PRIVATE_USES),
    T.PRIVATE_3DIGIT: TypePrior(THREE_DIGIT_PRIVATE, PRIVATE_USES),
    T.PRIVATE_3DIGIT_FILM: TypePrior(THREE_DIGIT_PRIVATE, PRIVATE_USES),
    T.CORPORATE: TypePrior((PASSENGER_3DIGIT,), PRIVATE_USES),
    T.COMMERCIAL_LONG: TypePrior(TWO_DIGIT_BUSINESS, COMMERCIAL_USES, REGIONS),
    T.COMMERCIAL_TWO_ROW: TypePrior(TWO_DIGIT_BUSINESS, COMMERCIAL_USES, REGIONS),
    T.LARGE_COMMERCIAL: TypePrior(LARGE, COMMERCIAL_USES, REGIONS),
    T.LARGE_PRIVATE: TypePrior(LARGE, PRIVATE_USES),
    T.GREEN_REGIONAL: TypePrior(GREEN_REGIONAL, GREEN_USES, REGIONS_1973),
    T.GREEN_NATIONAL: TypePrior(TWO_DIGIT_NON_BUSINESS, GREEN_USES),
    T.CONSTRUCTION: TypePrior(
        MACHINES_ON_THE_ROAD_NATIONAL, CONSTRUCTION_USES, serial_bands=CONSTRUCTION_SERIALS
    ),
    **{
        t: TypePrior(
            MACHINES_ON_THE_ROAD, CONSTRUCTION_USES, REGIONS, serial_bands=CONSTRUCTION_SERIALS
        )
        for t in (T.CONSTRUCTION_REGIONAL, T.CONSTRUCTION_REGIONAL_TWO_ROW)
    },
}


def realistic_prior(plate_type: PlateType) -> TypePrior | None:
    """The realistic rule of a type, or None where there is none (the uniform sampler
    draws those: diplomatic, military and any type added later)."""
    return _REALISTIC.get(plate_type)
