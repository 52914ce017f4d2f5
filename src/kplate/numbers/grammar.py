"""Plate-number grammar (spec §2 and §4): normalise, validate, infer the type and sample.

Validation is hand-written rather than one regex per type so that every rejection can say
exactly which part is wrong (the character, the region, the class code, the syllable or the
serial). The common shape is matched by one precompiled regex; the slower tokenising path
only runs for strings that do not have that shape, so validating a CSV row stays cheap.

Decisions the spec leaves open (docs/numbers.md):
- electric accepts 2-digit codes 01-99 and 3-digit passenger codes 100-699, never 700-999:
  electric vans, trucks and special vehicles keep 2-digit codes (M21).
- green_regional accepts a 1-digit class 0-9 (0 meant imports until 1991) or 2 digits 01-99.
- diplomatic ranks may be 000; only the mission number 000 is rejected (spec §4).
- military (low confidence, spec §5.7) uses the 2-digit rules and adds no warnings.
- construction machinery: the machine-type code is 01-27 (the 27 kinds of machine of the
  Construction Machinery Management Act's enforcement decree, 별표1; real plates show 06
  dump trucks and 14 concrete mixer trucks). `construction` is the 2022 national form
  0 + code; the older regional form region + code is `construction_regional` (one row) or
  `construction_regional_two_row`, and `construction` refuses it with their names.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass

from kplate.errors import InvalidPlateError
from kplate.numbers.priors import NumberPrior, parse_number_prior, realistic_prior
from kplate.spec.alphabet import (
    COMMERCIAL_SYLLABLES,
    CONSTRUCTION_SYLLABLES,
    DIPLOMATIC_PREFIXES,
    MILITARY_SYLLABLES,
    PRIVATE_SYLLABLES,
    REGIONS,
    REGIONS_1973,
    RENTAL_SYLLABLES,
)
from kplate.spec.types import PlateType, parse_plate_type

__all__ = [
    "Inference",
    "PlateNumber",
    "candidates",
    "explain",
    "infer_type",
    "is_orange_construction",
    "normalize",
    "sample",
    "validate",
]

T = PlateType

# --------------------------------------------------------------------------- normalisation

#: Characters that carry no meaning on a plate: every Unicode whitespace (all sit below
#: U+3001), the BOM and the zero-width characters that copy-paste and CSV tools leave behind.
_INVISIBLE = {i for i in range(0x3001) if chr(i).isspace()} | {
    0x180E,  # Mongolian vowel separator (was whitespace before Unicode 6.3)
    0x200B,  # zero width space
    0x200C,  # zero width non-joiner
    0x200D,  # zero width joiner
    0x2060,  # word joiner
    0xFEFF,  # BOM / zero width no-break space
}
_DROP_TABLE = dict.fromkeys(_INVISIBLE)


def normalize(text: str) -> str:
    """NFC and no invisible characters, so pasted or spaced-out numbers compare equal.

    Invisible characters are dropped before composing so that decomposed jamo separated by a
    zero-width character still become one syllable.
    """
    text = text.translate(_DROP_TABLE)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


# --------------------------------------------------------------------------- result type


@dataclass(frozen=True)
class PlateNumber:
    """A validated plate number split into the parts the renderer draws."""

    text: str
    type: PlateType
    region: str | None
    class_code: str | None
    use: str
    serial: str | None
    warnings: tuple[str, ...] = ()

    def fields(self) -> dict[str, str | None]:
        """The drawable parts by name (labels and layouts key on these)."""
        return {
            "region": self.region,
            "class_code": self.class_code,
            "use": self.use,
            "serial": self.serial,
        }


#: Every construction machinery type: their serials say the use (spec §2.3).
CONSTRUCTION_TYPES = frozenset(
    {
        PlateType.CONSTRUCTION,
        PlateType.CONSTRUCTION_REGIONAL,
        PlateType.CONSTRUCTION_REGIONAL_TWO_ROW,
    }
)
#: Machine-type codes: the 27 kinds of construction machine, 01-27.
MACHINE_TYPE_CODES = range(1, 28)


def is_orange_construction(number: PlateNumber) -> bool:
    """Construction serials 6000-9999 belong to rental businesses, which get orange plates
    (both on the 2022 national plate and on the older regional ones)."""
    return (
        number.type in CONSTRUCTION_TYPES
        and number.serial is not None
        and 6000 <= int(number.serial) <= 9999
    )


# --------------------------------------------------------------------------- character sets

_PRIV = frozenset(PRIVATE_SYLLABLES)
_RENT = frozenset(RENTAL_SYLLABLES)
_COMM = frozenset(COMMERCIAL_SYLLABLES)
_MIL = frozenset(MILITARY_SYLLABLES)
_CONS = frozenset(CONSTRUCTION_SYLLABLES)
_PRIV_RENT = _PRIV | _RENT
_GREEN_USE = _PRIV | {"허"}
_REGIONS = frozenset(REGIONS)
_REGIONS_1973 = frozenset(REGIONS_1973)
_DIP = frozenset(DIPLOMATIC_PREFIXES)

# Order of the allowed-lists in messages: the spec's order.
_PRIV_RENT_STR = PRIVATE_SYLLABLES + RENTAL_SYLLABLES
_GREEN_USE_STR = PRIVATE_SYLLABLES + "허"

_BAD_CHAR = re.compile(r"[^0-9\-\uac00-\ud7a3]")
_FAST = re.compile(r"([\uac00-\ud7a3]{2})?([0-9]{1,3})([\uac00-\ud7a3])([0-9]{4})")
_TOKENS = re.compile(r"[0-9]+|[\uac00-\ud7a3]+|-")


def _show(char: str) -> str:
    """A character as it can be printed on one line (control characters escaped)."""
    return char if char.isprintable() else repr(char)[1:-1]


def _bad_char_reason(char: str) -> str:
    """Name the offending character and its code point, with a hint for common mix-ups."""
    code = ord(char)
    base = f"character '{_show(char)}' (U+{code:04X}) is not allowed on Korean plates"
    if char.isascii() and char.isalpha():
        return base + " (Latin letters never appear on them)"
    if 0x3131 <= code <= 0x318E or 0x1100 <= code <= 0x11FF or 0xA960 <= code <= 0xD7FF:
        return base + " (a lone jamo; plates use whole syllables such as 가)"
    if 0xFF10 <= code <= 0xFF19:
        return base + f" (full-width digit; use the ASCII digit {code - 0xFF10})"
    if char.isdigit():
        return base + " (only the ASCII digits 0-9 are used)"
    if char in "\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d":
        return base + " (diplomatic numbers use the ASCII '-')"
    return base


# --------------------------------------------------------------------------- parsing


@dataclass(slots=True)
class _Parts:
    """A normalised string cut at its runs; `dip` marks the prefix+mission+rank shape."""

    prefix: str
    cls: str
    use: str
    serial: str
    dip: bool = False


_EXAMPLE = "e.g. 12가3456 or 서울52바3108"


def _split(norm: str, original: str) -> _Parts:
    """Cut a normalised string into prefix, class, use and serial, or say what is missing."""
    m = _FAST.fullmatch(norm)
    if m is not None:
        return _Parts(m.group(1) or "", m.group(2), m.group(3), m.group(4))

    def fail(reason: str) -> InvalidPlateError:
        return InvalidPlateError(original, reason)

    if not norm:
        raise fail("empty plate number")
    bad = _BAD_CHAR.search(norm)
    if bad is not None:
        raise fail(_bad_char_reason(bad.group()))

    tokens = _TOKENS.findall(norm)
    shape = "".join("-" if t == "-" else ("D" if t[0].isdigit() else "H") for t in tokens)

    # A non-diplomatic prefix in the exact diplomatic shape (외국005-003) is kept as
    # diplomatic, so that the diplomatic rule can name the unknown prefix.
    if shape == "HD-D" and tokens[0] not in _DIP and len(tokens[1]) == 3 and len(tokens[3]) == 3:
        return _Parts(tokens[0], tokens[1], "", tokens[3], dip=True)

    # Diplomatic: prefix, 3-digit mission, optional '-', 3-digit rank.
    if shape in ("HD", "HD-D") and tokens[0] in _DIP:
        if shape == "HD":
            digits = tokens[1]
            if len(digits) != 6:
                raise fail(
                    f"expected a 3-digit mission and a 3-digit rank after '{tokens[0]}' "
                    f"(e.g. {tokens[0]}005-003), got '{digits}'"
                )
            return _Parts(tokens[0], digits[:3], "", digits[3:], dip=True)
        mission, rank = tokens[1], tokens[3]
        if len(mission) != 3:
            raise fail(f"mission number '{mission}' must have 3 digits")
        if len(rank) != 3:
            raise fail(f"rank '{rank}' must have 3 digits")
        return _Parts(tokens[0], mission, "", rank, dip=True)

    if "-" in tokens:
        if tokens[0] in _DIP:
            raise fail(
                f"a diplomatic number takes one '-' between the 3-digit mission and the "
                f"3-digit rank (e.g. {tokens[0]}005-003)"
            )
        raise fail("'-' is only allowed in diplomatic numbers")

    prefix = ""
    rest = shape
    if rest.startswith("H") and len(rest) > 1:
        prefix = tokens[0]
        tokens = tokens[1:]
        rest = rest[1:]
    if rest == "DHD":
        cls, use, serial = tokens
        if len(use) != 1:
            raise fail(f"expected one hangul use syllable after the class code, got '{use}'")
        return _Parts(prefix, cls, use, serial)
    if rest.startswith("DHD"):
        extra = "".join(tokens[3:])
        raise fail(f"unexpected '{extra}' after the serial {tokens[2]}")
    if rest == "DH":
        raise fail(f"missing the 4-digit serial after '{tokens[1]}'")
    if rest == "D":
        raise fail(f"no hangul use syllable between the class code and the serial ({_EXAMPLE})")
    if rest == "H":
        raise fail(f"no digits: a plate number needs a class code and a serial ({_EXAMPLE})")
    if rest.startswith("H"):  # hangul first after the prefix was taken: 가1234 style
        raise fail(f"missing the class code before '{tokens[0]}' ({_EXAMPLE})")
    raise fail(f"not a plate number shape ({_EXAMPLE})")


# --------------------------------------------------------------------------- part checks


def _region_list(regions: tuple[str, ...]) -> str:
    return ", ".join(regions)


def _check_no_region(p: _Parts, t: PlateType, text: str) -> None:
    if not p.prefix:
        return
    if p.prefix in _REGIONS:
        raise InvalidPlateError(
            text,
            f"region '{p.prefix}' is not used on {t} plates "
            "(regions appear on commercial and green_regional plates)",
        )
    if p.prefix in _DIP:
        raise InvalidPlateError(text, f"diplomatic prefix '{p.prefix}' is not used on {t} plates")
    raise InvalidPlateError(
        text, f"unexpected '{p.prefix}' before the class code ({t} plates carry no region)"
    )


def _check_region(p: _Parts, t: PlateType, text: str, regions: tuple[str, ...]) -> None:
    if not p.prefix:
        raise InvalidPlateError(
            text, f"{t} plates need a region before the class code (e.g. 서울52바3108)"
        )
    if p.prefix in regions:
        return
    if p.prefix == "세종" and regions is REGIONS_1973:
        raise InvalidPlateError(text, "region '세종' did not exist on 1973-2003 green plates")
    raise InvalidPlateError(
        text, f"region '{p.prefix}' unknown (use one of {_region_list(regions)})"
    )


def _check_cls2(p: _Parts, t: PlateType, text: str, hint: str = "") -> None:
    if len(p.cls) != 2:
        raise InvalidPlateError(text, f"class code {p.cls} must have 2 digits for {t}{hint}")
    if p.cls == "00":
        raise InvalidPlateError(text, f"class code 00 out of range for {t} (01-99)")


def _check_cls3(p: _Parts, t: PlateType, text: str, lo: int, hi: int, hint: str = "") -> None:
    if len(p.cls) != 3:
        raise InvalidPlateError(
            text, f"class code {p.cls} must have 3 digits for {t} ({lo}-{hi}){hint}"
        )
    value = int(p.cls)
    if not lo <= value <= hi:
        extra = "; a leading 0 marks construction machinery" if p.cls[0] == "0" else ""
        raise InvalidPlateError(text, f"class code {p.cls} out of range for {t} ({lo}-{hi}{extra})")


def _check_use(p: _Parts, t: PlateType, text: str, allowed: frozenset[str], order: str) -> None:
    if p.use not in allowed:
        raise InvalidPlateError(
            text, f"hangul '{p.use}' is not allowed for {t} (allowed: {' '.join(order)})"
        )


def _check_serial(p: _Parts, text: str) -> None:
    if len(p.serial) != 4:
        raise InvalidPlateError(text, f"serial {p.serial} must have 4 digits")
    if p.serial == "0000":
        raise InvalidPlateError(text, "serial 0000 is never issued")


def _check_not_dip(p: _Parts, t: PlateType, text: str) -> None:
    if p.dip:
        if p.prefix not in _DIP:
            raise InvalidPlateError(text, "'-' is only allowed in diplomatic numbers")
        raise InvalidPlateError(
            text, f"diplomatic number ('{p.prefix}' + mission + rank) is not a {t} plate"
        )


def _anachronism(p: _Parts, t: PlateType, text: str, era: str) -> None:
    """Rental 하/호 (2013-) and delivery 배 (about 2013-) cannot be on an older green plate."""
    if p.use in ("하", "호"):
        raise InvalidPlateError(
            text,
            f"hangul '{p.use}' is anachronistic on {t} plates ({era}): 하 and 호 are rental "
            "syllables from 2013; rentals of that era used 허",
        )
    if p.use == "배":
        raise InvalidPlateError(
            text,
            f"hangul '배' is anachronistic on {t} plates ({era}): "
            "the delivery syllable dates from about 2013",
        )


# --------------------------------------------------------------------------- per-type rules

_Result = tuple[str | None, tuple[str, ...]]  # (region, warnings)


def _private2(p: _Parts, t: PlateType, text: str) -> _Result:
    _check_not_dip(p, t, text)
    _check_no_region(p, t, text)
    hint = ""
    if len(p.cls) == 3:
        hint = " (3-digit codes are private_3digit, 0 + 2 digits is construction)"
        if t is T.PRIVATE_SHORT:
            hint = " (3-digit class on a 335×155 plate is not regulation, N2018 §5)"
    _check_cls2(p, t, text, hint)
    _check_use(p, t, text, _PRIV_RENT, _PRIV_RENT_STR)
    _check_serial(p, text)
    return None, ()


#: The 3-digit codes that are not passenger codes, by kind (spec §2.1: M21 and EMG), with
#: why an electric plate does not carry them.
_KEEP_TWO = (
    "; electric vans, trucks and special vehicles keep 2-digit codes 70-99 (MOLIT notice 2021-202)"
)
_THREE_DIGIT_KINDS = (
    (700, 799, "van/bus", _KEEP_TWO),
    (800, 979, "truck", _KEEP_TWO),
    (980, 997, "special-vehicle", _KEEP_TWO),
    (998, 999, "emergency-vehicle", ""),
)


def _electric(p: _Parts, t: PlateType, text: str) -> _Result:
    """2-digit codes 01-99 (passenger 01-69, N2018 §5; vans, trucks and special vehicles
    70-99, which keep 2 digits on electric plates, M21) or 3-digit passenger codes 100-699
    (cars registered since 1 Sep 2019). 700-999 would be a 3-digit van, truck, special or
    emergency code, which no electric plate carries."""
    _check_not_dip(p, t, text)
    _check_no_region(p, t, text)
    if len(p.cls) == 3:
        value = int(p.cls)
        for lo, hi, kind, why in _THREE_DIGIT_KINDS:
            if lo <= value <= hi:
                raise InvalidPlateError(
                    text,
                    f"class code {p.cls} out of range for {t} (3-digit codes are the passenger "
                    f"codes 100-699): {p.cls} is a 3-digit {kind} code ({lo}-{hi}){why}",
                )
        _check_cls3(p, t, text, 100, 699)
    elif len(p.cls) == 2:
        _check_cls2(p, t, text)
    else:
        raise InvalidPlateError(
            text, f"class code {p.cls} must have 2 digits (01-99) or 3 (100-699) for {t}"
        )
    _check_use(p, t, text, _PRIV_RENT, _PRIV_RENT_STR)
    _check_serial(p, text)
    return None, ()


def _private3(p: _Parts, t: PlateType, text: str) -> _Result:
    _check_not_dip(p, t, text)
    _check_no_region(p, t, text)
    hi = 699 if t is T.CORPORATE else 999
    hint = " (2-digit codes are private_2digit)" if len(p.cls) == 2 else ""
    _check_cls3(p, t, text, 100, hi, hint)
    _check_use(p, t, text, _PRIV_RENT, _PRIV_RENT_STR)
    _check_serial(p, text)
    return None, ()


def _commercial(p: _Parts, t: PlateType, text: str) -> _Result:
    _check_not_dip(p, t, text)
    _check_region(p, t, text, REGIONS)
    _check_cls2(p, t, text)
    _check_use(p, t, text, _COMM, COMMERCIAL_SYLLABLES)
    _check_serial(p, text)
    warnings: tuple[str, ...] = ()
    if t is T.LARGE_COMMERCIAL and int(p.cls) < 70:
        warnings = (f"class code {p.cls} is not a large-vehicle code (usually 70-99)",)
    return p.prefix, warnings


def _large_private(p: _Parts, t: PlateType, text: str) -> _Result:
    _check_not_dip(p, t, text)
    _check_no_region(p, t, text)
    _check_cls2(p, t, text)
    _check_use(p, t, text, _PRIV_RENT, _PRIV_RENT_STR)
    _check_serial(p, text)
    warnings: tuple[str, ...] = ()
    if int(p.cls) < 70:
        warnings = (f"class code {p.cls} is a passenger code (large vehicles use 70-99)",)
    return None, warnings


def _green_regional(p: _Parts, t: PlateType, text: str) -> _Result:
    _check_not_dip(p, t, text)
    _check_region(p, t, text, REGIONS_1973)
    if len(p.cls) not in (1, 2):
        raise InvalidPlateError(text, f"class code {p.cls} must have 1 or 2 digits for {t}")
    if p.cls == "00":
        raise InvalidPlateError(text, f"class code 00 out of range for {t} (0-9 or 01-99)")
    _anachronism(p, t, text, "1973-2003")
    _check_use(p, t, text, _GREEN_USE, _GREEN_USE_STR)
    _check_serial(p, text)
    return p.prefix, ()


def _green_national(p: _Parts, t: PlateType, text: str) -> _Result:
    _check_not_dip(p, t, text)
    _check_no_region(p, t, text)
    _check_cls2(p, t, text)
    _anachronism(p, t, text, "2004-2006")
    _check_use(p, t, text, _GREEN_USE, _GREEN_USE_STR)
    _check_serial(p, text)
    return None, ()


def _diplomatic(p: _Parts, t: PlateType, text: str) -> _Result:
    if not p.dip:
        prefixes = ", ".join(DIPLOMATIC_PREFIXES)
        if p.prefix in _DIP:
            raise InvalidPlateError(
                text,
                f"diplomatic numbers are '{p.prefix}' + 3-digit mission + '-' + 3-digit rank, "
                f"without a use syllable (e.g. {p.prefix}005-003)",
            )
        if p.prefix:
            raise InvalidPlateError(
                text, f"diplomatic prefix '{p.prefix}' unknown (use one of {prefixes})"
            )
        raise InvalidPlateError(text, f"diplomatic numbers start with one of {prefixes}")
    if p.prefix not in _DIP:
        prefixes = ", ".join(DIPLOMATIC_PREFIXES)
        raise InvalidPlateError(
            text, f"diplomatic prefix '{p.prefix}' unknown (use one of {prefixes})"
        )
    if p.cls == "000":
        raise InvalidPlateError(text, "mission number 000 is never issued")
    return None, ()


def _check_machine_type(code: str, t: PlateType, text: str) -> None:
    if int(code) not in MACHINE_TYPE_CODES:
        raise InvalidPlateError(
            text,
            f"machine-type code {code} out of range for {t} (01-27, the 27 kinds of "
            "construction machine)",
        )


def _construction(p: _Parts, t: PlateType, text: str) -> _Result:
    _check_not_dip(p, t, text)
    if p.prefix:
        hint = ""
        if p.prefix in _REGIONS and len(p.cls) == 2:
            hint = (
                "; a region + 2-digit code is the pre-2022 regional plate: use "
                f"{T.CONSTRUCTION_REGIONAL} (one row) or {T.CONSTRUCTION_REGIONAL_TWO_ROW}"
            )
        raise InvalidPlateError(
            text,
            f"'{p.prefix}': the 2022 national {t} plate carries no region (e.g. 012가4568)" + hint,
        )
    if len(p.cls) != 3 or p.cls[0] != "0":
        raise InvalidPlateError(
            text,
            f"class code {p.cls} out of range for {t}: national numbers are 0 + a 2-digit "
            "machine-type code (e.g. 012가4568); regional ones (경기06조7425) are "
            f"{T.CONSTRUCTION_REGIONAL} or {T.CONSTRUCTION_REGIONAL_TWO_ROW}",
        )
    _check_machine_type(p.cls[1:], t, text)
    _check_use(p, t, text, _CONS, CONSTRUCTION_SYLLABLES)
    _check_serial(p, text)
    return None, ()


def _construction_regional(p: _Parts, t: PlateType, text: str) -> _Result:
    _check_not_dip(p, t, text)
    _check_region(p, t, text, REGIONS)
    if len(p.cls) != 2:
        raise InvalidPlateError(
            text,
            f"class code {p.cls} must be a 2-digit machine-type code on a {t} plate "
            "(e.g. 경기06조7425)",
        )
    _check_machine_type(p.cls, t, text)
    _check_use(p, t, text, _CONS, CONSTRUCTION_SYLLABLES)
    _check_serial(p, text)
    return p.prefix, ()


def _military(p: _Parts, t: PlateType, text: str) -> _Result:
    # Low confidence (spec §5.7: only dataset labels); kept strict like the 2-digit types,
    # without warnings, so labels stay clean.
    _check_not_dip(p, t, text)
    _check_no_region(p, t, text)
    _check_cls2(p, t, text)
    _check_use(p, t, text, _MIL, MILITARY_SYLLABLES)
    _check_serial(p, text)
    return None, ()


_RULES = {
    T.PRIVATE_2DIGIT: _private2,
    T.PRIVATE_SHORT: _private2,
    T.ELECTRIC: _electric,
    T.PRIVATE_3DIGIT: _private3,
    T.PRIVATE_3DIGIT_FILM: _private3,
    T.CORPORATE: _private3,
    T.COMMERCIAL_LONG: _commercial,
    T.COMMERCIAL_TWO_ROW: _commercial,
    T.LARGE_COMMERCIAL: _commercial,
    T.LARGE_PRIVATE: _large_private,
    T.GREEN_REGIONAL: _green_regional,
    T.GREEN_NATIONAL: _green_national,
    T.DIPLOMATIC: _diplomatic,
    T.CONSTRUCTION: _construction,
    T.CONSTRUCTION_REGIONAL: _construction_regional,
    T.CONSTRUCTION_REGIONAL_TWO_ROW: _construction_regional,
    T.MILITARY: _military,
}
assert set(_RULES) == set(PlateType), "every plate type needs a grammar rule"


# --------------------------------------------------------------------------- inference


def _infer(p: _Parts, text: str) -> PlateType:
    """Pick the type a string's shape implies (spec order), or say why none fits."""
    if p.dip and p.prefix not in _DIP:
        prefixes = ", ".join(DIPLOMATIC_PREFIXES)
        raise InvalidPlateError(
            text,
            f"'-' is only allowed in diplomatic numbers, and '{p.prefix}' is not a "
            f"diplomatic prefix (use one of {prefixes})",
        )
    if p.dip or p.prefix in _DIP:
        return T.DIPLOMATIC
    use = p.use
    if p.prefix:
        if use in _COMM:
            return T.COMMERCIAL_TWO_ROW
        if use in _PRIV or use in _RENT:
            # 하/호 with a region fits no type; green_regional explains the anachronism.
            return T.GREEN_REGIONAL
        if use in _MIL:
            raise InvalidPlateError(text, f"military syllable '{use}' is never used with a region")
        raise InvalidPlateError(text, f"hangul '{use}' is not a use syllable on Korean plates")
    if len(p.cls) == 3 and p.cls[0] == "0":
        return T.CONSTRUCTION
    if use in _COMM:
        raise InvalidPlateError(
            text, f"commercial syllable '{use}' needs a region (e.g. 서울{p.cls[-2:]}{use}3108)"
        )
    if use in _MIL:
        return T.MILITARY
    if use in _PRIV_RENT:
        if len(p.cls) == 3:
            return T.PRIVATE_3DIGIT
        if len(p.cls) == 2:
            return T.PRIVATE_2DIGIT
        raise InvalidPlateError(
            text,
            f"class code {p.cls} must have 2 or 3 digits "
            "(or 0 + 2 digits for construction machinery)",
        )
    raise InvalidPlateError(text, f"hangul '{use}' is not a use syllable on Korean plates")


# --------------------------------------------------------------------------- public API


def _validate_parts(p: _Parts, t: PlateType, text: str) -> PlateNumber:
    region, warnings = _RULES[t](p, t, text)
    if p.dip:
        return PlateNumber(
            text=f"{p.prefix}{p.cls}-{p.serial}",
            type=t,
            region=None,
            class_code=p.cls,
            use=p.prefix,
            serial=p.serial,
            warnings=warnings,
        )
    return PlateNumber(
        text=f"{p.prefix}{p.cls}{p.use}{p.serial}",
        type=t,
        region=region,
        class_code=p.cls,
        use=p.use,
        serial=p.serial,
        warnings=warnings,
    )


def validate(text: str, plate_type: PlateType | str | None = None) -> PlateNumber:
    """Check a plate string against a type (or the inferred one) and split it into parts.

    Raises InvalidPlateError naming the first wrong part. The earlier project's alias
    'basic_europe' covered 2- and 3-digit plates, so only when the caller passes that exact
    string is a 3-digit private number moved to private_3digit.
    """
    if not isinstance(text, str):
        raise InvalidPlateError(repr(text), f"expected a string, got {type(text).__name__}")
    parts = _split(normalize(text), text)
    if plate_type is None:
        inferred = _infer(parts, text)
        try:
            return _validate_parts(parts, inferred, text)
        except InvalidPlateError:
            # The shape's usual type refuses the text, but another may take it (세종14마5758:
            # 세종 never was on a green plate, but is on regional construction plates).
            valid = _valid_types(parts, text)
            if not valid:
                raise
            return _validate_parts(parts, valid[0], text)
    t = parse_plate_type(plate_type)
    if (
        isinstance(plate_type, str)
        and not isinstance(plate_type, PlateType)
        and plate_type.strip().lower() == "basic_europe"
        and not parts.dip
        and not parts.prefix
        and len(parts.cls) == 3
    ):
        t = T.PRIVATE_3DIGIT
    return _validate_parts(parts, t, text)


def infer_type(text: str) -> PlateType:
    """The type a valid string belongs to; an invalid string raises with the reason."""
    return validate(text).type


# --------------------------------------------------------------------------- candidates


@dataclass(frozen=True)
class Inference:
    """What a text alone says about its type: every type it is valid for (PlateType
    order), the one `validate(text)` picks, and why. Without a type the text can be
    ambiguous (`경기06조7425` is a green 1973-2003 plate or a regional construction plate),
    so callers that know the plate should give its type."""

    text: str
    picked: PlateType
    reason: str
    candidates: tuple[PlateType, ...]


def candidates(text: str) -> list[PlateType]:
    """Every plate type `text` is valid for, in PlateType order (empty when none)."""
    if not isinstance(text, str):
        return []
    try:
        parts = _split(normalize(text), text)
    except InvalidPlateError:
        return []
    return _valid_types(parts, text)


def _valid_types(parts: _Parts, text: str) -> list[PlateType]:
    valid = []
    for plate_type in PlateType:
        try:
            _RULES[plate_type](parts, plate_type, text)
        except InvalidPlateError:
            continue
        valid.append(plate_type)
    return valid


def _pick_reason(number: PlateNumber) -> str:
    """Why inference chose `number.type` (the branch of `_infer` it took), in words."""
    t, use = number.type, number.use
    shape = _infer(_split(number.text, number.text), number.text)
    if shape is not t:
        return f"its shape reads as {shape}, which refuses it; {t} is the first type it fits"
    if t is T.DIPLOMATIC:
        return f"'{use}' is a diplomatic prefix"
    if t is T.COMMERCIAL_TWO_ROW:
        return (
            f"a region with the commercial syllable '{use}' reads as the common yellow "
            "335x170 commercial plate"
        )
    if t is T.GREEN_REGIONAL:
        return f"a region with the private syllable '{use}' reads as the 1973-2003 green plate"
    if t is T.CONSTRUCTION:
        return "a 3-digit class code starting with 0 marks 2022 construction machinery"
    if t is T.MILITARY:
        return f"'{use}' is a military syllable"
    digits = len(number.class_code or "")
    return f"a {digits}-digit class code with the syllable '{use}' and no region"


def explain(text: str) -> Inference:
    """The inferred type of a valid `text`, the reason, and every type it is valid for;
    an invalid text raises InvalidPlateError like `validate`."""
    number = validate(text)
    return Inference(number.text, number.type, _pick_reason(number), tuple(candidates(text)))


# --------------------------------------------------------------------------- sampling

_PRIV_RENT_T = tuple(_PRIV_RENT_STR)
_COMM_T = tuple(COMMERCIAL_SYLLABLES)
_GREEN_T = tuple(_GREEN_USE_STR)
_CONS_T = tuple(CONSTRUCTION_SYLLABLES)
_MIL_T = tuple(MILITARY_SYLLABLES)
_CLS2 = tuple(f"{i:02d}" for i in range(1, 100))
_CLS2_LARGE = tuple(f"{i:02d}" for i in range(70, 100))
_CLS1 = tuple(str(i) for i in range(10))
_CLS3 = tuple(str(i) for i in range(100, 1000))
#: 3-digit passenger codes: the only 3-digit codes of electric and corporate plates.
_CLS3_PASSENGER = tuple(str(i) for i in range(100, 700))
_MACHINE_TYPES = tuple(f"{i:02d}" for i in MACHINE_TYPE_CODES)
_MISSIONS = tuple(f"{i:03d}" for i in range(1, 1000))
_RANKS = tuple(f"{i:03d}" for i in range(1000))

#: Share of 1-digit classes on sampled green_regional plates (1973-1995 only, so a minority).
GREEN_ONE_DIGIT_SHARE = 0.1


def _serial(rng: random.Random) -> str:
    return f"{rng.randrange(1, 10000):04d}"


def sample(
    plate_type: PlateType | str,
    rng: random.Random,
    prior: NumberPrior | str = NumberPrior.REALISTIC,
) -> str:
    """One canonical valid number of `plate_type`, drawn with `prior` (docs/numbers.md).

    REALISTIC (the default) follows what is issued (kplate.numbers.priors); UNIFORM
    spreads each part evenly over its legal range. A type the realistic prior has no
    rule for is drawn uniformly. Deterministic for a seeded rng.
    """
    t = parse_plate_type(plate_type)
    if parse_number_prior(prior, "prior") is NumberPrior.REALISTIC:
        rule = realistic_prior(t)
        if rule is not None:
            return rule.draw(rng)
    return _sample_uniform(t, rng)


def _sample_uniform(t: PlateType, rng: random.Random) -> str:
    """Each part uniform over its valid (preferred) range: the UNIFORM prior.

    Construction types pick an orange (6000-9999) or a white/green (0001-5999) serial
    half and half, so both colours render.
    """
    choice = rng.choice
    if t is T.PRIVATE_2DIGIT or t is T.PRIVATE_SHORT:
        return choice(_CLS2) + choice(_PRIV_RENT_T) + _serial(rng)
    if t is T.PRIVATE_3DIGIT or t is T.PRIVATE_3DIGIT_FILM:
        return choice(_CLS3) + choice(_PRIV_RENT_T) + _serial(rng)
    if t is T.CORPORATE:
        return choice(_CLS3_PASSENGER) + choice(_PRIV_RENT_T) + _serial(rng)
    if t is T.ELECTRIC:
        cls = choice(_CLS3_PASSENGER) if rng.random() < 0.5 else choice(_CLS2)
        return cls + choice(_PRIV_RENT_T) + _serial(rng)
    if t is T.COMMERCIAL_LONG or t is T.COMMERCIAL_TWO_ROW:
        return choice(REGIONS) + choice(_CLS2) + choice(_COMM_T) + _serial(rng)
    if t is T.LARGE_COMMERCIAL:
        return choice(REGIONS) + choice(_CLS2_LARGE) + choice(_COMM_T) + _serial(rng)
    if t is T.LARGE_PRIVATE:
        return choice(_CLS2_LARGE) + choice(_PRIV_RENT_T) + _serial(rng)
    if t is T.GREEN_REGIONAL:
        cls = choice(_CLS1) if rng.random() < GREEN_ONE_DIGIT_SHARE else choice(_CLS2)
        return choice(REGIONS_1973) + cls + choice(_GREEN_T) + _serial(rng)
    if t is T.GREEN_NATIONAL:
        return choice(_CLS2) + choice(_GREEN_T) + _serial(rng)
    if t is T.DIPLOMATIC:
        return choice(DIPLOMATIC_PREFIXES) + choice(_MISSIONS) + "-" + choice(_RANKS)
    if t in CONSTRUCTION_TYPES:
        return _sample_construction(t, rng)
    if t is T.MILITARY:
        return choice(_CLS2) + choice(_MIL_T) + _serial(rng)
    raise AssertionError(f"no sampler for {t}")  # pragma: no cover


def _sample_construction(t: PlateType, rng: random.Random) -> str:
    """A construction number: a machine-type code 01-27 (after a 0 on the national plate,
    after a region on the regional ones), and an orange (rental 6000-9999) or green/white
    (0001-5999) serial half and half, so both colours render."""
    code = rng.choice(_MACHINE_TYPES)
    head = "0" + code if t is T.CONSTRUCTION else rng.choice(REGIONS) + code
    if rng.random() < 0.5:
        serial = f"{rng.randrange(6000, 10000):04d}"
    else:
        serial = f"{rng.randrange(1, 6000):04d}"
    return head + rng.choice(_CONS_T) + serial
