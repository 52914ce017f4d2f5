"""Plate-number grammar: sampling is valid and covers every part, rejections say why."""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from dataclasses import FrozenInstanceError

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kplate.errors import InvalidPlateError, KplateError
from kplate.numbers import (
    NumberPrior,
    PlateNumber,
    infer_type,
    is_orange_construction,
    normalize,
    sample,
    validate,
)
from kplate.spec.alphabet import CONSTRUCTION_SYLLABLES
from kplate.spec.types import PlateType

T = PlateType
N_SAMPLES = 20_000

# Written out from spec §2.2/§2.4 rather than imported, so a wrong constant cannot hide.
PRIV = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주"
RENT = "하허호"
COMM = "바사아자배"
MIL = "육해공국합"
REGIONS = [
    "서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기",
    "강원", "충북", "충남", "전북", "전남", "경북", "경남", "제주",
]  # fmt: skip
REGIONS_1973 = [r for r in REGIONS if r != "세종"]
DIPLOMATIC = ["외교", "영사", "준외", "준영", "국기", "협정", "대표"]

#: Per type: the class-code ranges as (lowest, highest, width).
CLASS_RANGES: dict[PlateType, list[tuple[int, int, int]]] = {
    T.PRIVATE_2DIGIT: [(1, 99, 2)],
    T.PRIVATE_SHORT: [(1, 99, 2)],
    T.ELECTRIC: [(1, 99, 2), (100, 699, 3)],  # 700-997 are van/truck codes (M21)
    T.PRIVATE_3DIGIT: [(100, 999, 3)],
    T.PRIVATE_3DIGIT_FILM: [(100, 999, 3)],
    T.CORPORATE: [(100, 699, 3)],
    T.COMMERCIAL_LONG: [(1, 99, 2)],
    T.COMMERCIAL_TWO_ROW: [(1, 99, 2)],
    T.LARGE_PRIVATE: [(70, 99, 2)],
    T.LARGE_COMMERCIAL: [(70, 99, 2)],
    T.GREEN_REGIONAL: [(0, 9, 1), (1, 99, 2)],
    T.GREEN_NATIONAL: [(1, 99, 2)],
    T.DIPLOMATIC: [(1, 999, 3)],
    T.CONSTRUCTION: [(1, 27, 3)],  # 0 + a machine-type code 01-27
    T.CONSTRUCTION_REGIONAL: [(1, 27, 2)],  # region + 01-27
    T.CONSTRUCTION_REGIONAL_TWO_ROW: [(1, 27, 2)],
    T.MILITARY: [(1, 99, 2)],
}
SERIAL_RANGES: dict[PlateType, tuple[int, int, int]] = {t: (1, 9999, 4) for t in PlateType}
SERIAL_RANGES[T.DIPLOMATIC] = (0, 999, 3)

USES: dict[PlateType, str] = {
    T.PRIVATE_2DIGIT: PRIV + RENT,
    T.PRIVATE_SHORT: PRIV + RENT,
    T.ELECTRIC: PRIV + RENT,
    T.PRIVATE_3DIGIT: PRIV + RENT,
    T.PRIVATE_3DIGIT_FILM: PRIV + RENT,
    T.CORPORATE: PRIV + RENT,
    T.COMMERCIAL_LONG: COMM,
    T.COMMERCIAL_TWO_ROW: COMM,
    T.LARGE_PRIVATE: PRIV + RENT,
    T.LARGE_COMMERCIAL: COMM,
    T.GREEN_REGIONAL: PRIV + "허",
    T.GREEN_NATIONAL: PRIV + "허",
    T.CONSTRUCTION: CONSTRUCTION_SYLLABLES,
    T.CONSTRUCTION_REGIONAL: CONSTRUCTION_SYLLABLES,
    T.CONSTRUCTION_REGIONAL_TWO_ROW: CONSTRUCTION_SYLLABLES,
    T.MILITARY: MIL,
}
REGION_SETS: dict[PlateType, list[str]] = {
    T.COMMERCIAL_LONG: REGIONS,
    T.COMMERCIAL_TWO_ROW: REGIONS,
    T.LARGE_COMMERCIAL: REGIONS,
    T.GREEN_REGIONAL: REGIONS_1973,
    T.CONSTRUCTION_REGIONAL: REGIONS,
    T.CONSTRUCTION_REGIONAL_TWO_ROW: REGIONS,
}


def digits_by_position(ranges: list[tuple[int, int, int]]) -> dict[tuple[int, int], set[str]]:
    """(width, position) -> the digits that the ranges allow there, by enumeration."""
    allowed: dict[tuple[int, int], set[str]] = {}
    for lo, hi, width in ranges:
        for value in range(lo, hi + 1):
            for pos, digit in enumerate(f"{value:0{width}d}"):
                allowed.setdefault((width, pos), set()).add(digit)
    return allowed


def observed_by_position(codes: list[str | None]) -> dict[tuple[int, int], set[str]]:
    seen: dict[tuple[int, int], set[str]] = {}
    for code in codes:
        assert code is not None
        for pos, digit in enumerate(code):
            seen.setdefault((len(code), pos), set()).add(digit)
    return seen


@pytest.fixture(scope="module")
def sampled() -> dict[PlateType, list[tuple[str, PlateNumber]]]:
    """N_SAMPLES strings per type with their validation, computed once for the module."""
    out = {}
    for index, plate_type in enumerate(PlateType):
        rng = random.Random(1000 + index)
        strings = [sample(plate_type, rng) for _ in range(N_SAMPLES)]
        out[plate_type] = [(s, validate(s, plate_type)) for s in strings]
    return out


# --------------------------------------------------------------------------- sampling


@pytest.mark.parametrize("plate_type", list(PlateType), ids=str)
def test_samples_validate_and_round_trip(sampled, plate_type: PlateType) -> None:
    pairs = sampled[plate_type]
    assert len(pairs) >= 10_000
    for text, number in pairs:
        assert number.type is plate_type
        assert number.text == text  # samples are already canonical
        assert validate(number.text, plate_type) == number
        assert normalize(text) == text


@pytest.mark.parametrize("plate_type", list(PlateType), ids=str)
def test_every_digit_reachable_in_every_position(sampled, plate_type: PlateType) -> None:
    numbers = [n for _, n in sampled[plate_type]]
    assert observed_by_position([n.class_code for n in numbers]) == digits_by_position(
        CLASS_RANGES[plate_type]
    )
    assert observed_by_position([n.serial for n in numbers]) == digits_by_position(
        [SERIAL_RANGES[plate_type]]
    )


def test_zero_appears_inside_three_digit_class_codes(sampled) -> None:
    """The earlier project never drew a 0 in the 3-digit positions; that must not recur."""
    for plate_type in (T.PRIVATE_3DIGIT, T.PRIVATE_3DIGIT_FILM, T.CORPORATE, T.ELECTRIC):
        codes = [n.class_code for _, n in sampled[plate_type] if len(n.class_code or "") == 3]
        for pos in (1, 2):
            assert any(code[pos] == "0" for code in codes), (plate_type, pos)
        serials = [n.serial or "" for _, n in sampled[plate_type]]
        for pos in range(4):
            assert any(s[pos] == "0" for s in serials), (plate_type, pos)


@pytest.mark.parametrize("plate_type", list(PlateType), ids=str)
def test_every_syllable_and_region_reachable(sampled, plate_type: PlateType) -> None:
    numbers = [n for _, n in sampled[plate_type]]
    uses = {n.use for n in numbers}
    if plate_type is T.DIPLOMATIC:
        assert uses == set(DIPLOMATIC)
    else:
        assert uses == set(USES[plate_type])
    regions = {n.region for n in numbers} - {None}
    assert regions == set(REGION_SETS.get(plate_type, []))


def test_sampled_parts_are_roughly_uniform() -> None:
    """The uniform prior (the realistic default's shares: test_number_priors.py)."""
    rng = random.Random(1002)
    numbers = [
        validate(sample(T.PRIVATE_3DIGIT, rng, NumberPrior.UNIFORM), T.PRIVATE_3DIGIT)
        for _ in range(N_SAMPLES)
    ]
    first = Counter((n.class_code or "")[0] for n in numbers)
    expected = len(numbers) / 9
    assert all(abs(first[d] - expected) < 0.15 * expected for d in "123456789")
    syllables = Counter(n.use for n in numbers)
    expected = len(numbers) / len(PRIV + RENT)
    assert all(abs(syllables[s] - expected) < 0.3 * expected for s in PRIV + RENT)


def test_sampled_variants_all_occur(sampled) -> None:
    for plate_type in (T.CONSTRUCTION, T.CONSTRUCTION_REGIONAL, T.CONSTRUCTION_REGIONAL_TWO_ROW):
        construction = [n for _, n in sampled[plate_type]]
        orange = sum(is_orange_construction(n) for n in construction) / len(construction)
        assert 0.4 < orange < 0.6
        for n in construction:
            assert (len(n.class_code or "") == 3) == (n.region is None)
    rng = random.Random(5)  # the uniform prior; the realistic one: test_number_priors.py
    electric = [
        validate(sample(T.ELECTRIC, rng, NumberPrior.UNIFORM), T.ELECTRIC)
        for _ in range(N_SAMPLES // 4)
    ]
    three = sum(len(n.class_code or "") == 3 for n in electric) / len(electric)
    assert 0.4 < three < 0.6
    green = [n for _, n in sampled[T.GREEN_REGIONAL]]
    one_digit = sum(len(n.class_code or "") == 1 for n in green) / len(green)
    assert 0.05 < one_digit < 0.15


def test_sample_is_deterministic_per_seed() -> None:
    for plate_type in PlateType:
        rng1, rng2 = random.Random(7), random.Random(7)
        first = [sample(plate_type, rng1) for _ in range(50)]
        assert first == [sample(plate_type, rng2) for _ in range(50)]
        assert len(set(first)) > 40  # and actually random


def test_sample_accepts_aliases_and_rejects_unknown() -> None:
    assert validate(sample("green_old", random.Random(1)), T.GREEN_REGIONAL)
    with pytest.raises(KplateError, match="unknown plate type"):
        sample("nope", random.Random(1))


# --------------------------------------------------------------------------- validation


def test_valid_examples_split_into_fields() -> None:
    n = validate("12가3456")
    assert n == PlateNumber("12가3456", T.PRIVATE_2DIGIT, None, "12", "가", "3456")
    assert n.fields() == {"region": None, "class_code": "12", "use": "가", "serial": "3456"}
    assert validate("서울52바3108", "commercial_long").fields()["region"] == "서울"
    dip = validate("외교 005 003")
    assert (dip.text, dip.use, dip.class_code, dip.serial) == ("외교005-003", "외교", "005", "003")
    national = validate("012가4568")
    assert (national.type, national.class_code, national.region) == (T.CONSTRUCTION, "012", None)
    regional = validate("경기06조7425", T.CONSTRUCTION_REGIONAL)
    assert (regional.class_code, regional.region, regional.use) == ("06", "경기", "조")
    assert validate("서울5가1234").class_code == "5"
    with pytest.raises(FrozenInstanceError):
        n.text = "x"  # type: ignore[misc]


def test_is_orange_construction() -> None:
    assert is_orange_construction(validate("012가6000"))
    assert is_orange_construction(validate("경기06조9999", "construction_regional"))
    assert is_orange_construction(validate("전남14나6000", "construction_regional_two_row"))
    assert not is_orange_construction(validate("전남14나5999", "construction_regional_two_row"))
    assert not is_orange_construction(validate("012가5999"))
    assert not is_orange_construction(validate("12가7000"))  # not construction


def test_warnings_are_not_errors() -> None:
    assert validate("서울52바3108", "large_commercial").warnings
    assert validate("서울80바3108", "large_commercial").warnings == ()
    warned = validate("12가3456", "large_private")
    assert "passenger" in warned.warnings[0]
    assert validate("80가3456", "large_private").warnings == ()
    assert validate("05육2107").warnings == ()


def test_basic_europe_alias_moves_three_digit_strings_only_when_named() -> None:
    assert validate("123가4567", "basic_europe").type is T.PRIVATE_3DIGIT
    assert validate("12가3456", "basic_europe").type is T.PRIVATE_2DIGIT
    for plate_type in ("private_2digit", T.PRIVATE_2DIGIT):
        with pytest.raises(InvalidPlateError, match="must have 2 digits"):
            validate("123가4567", plate_type)
    with pytest.raises(InvalidPlateError, match="out of range for private_2digit"):
        validate("00가4567", "basic_europe")


INVALID = [
    ("12A3456", None, ["'A'", "U+0041", "not allowed on Korean plates"]),
    ("12ㄱ3456", None, ["'ㄱ'", "U+3131"]),
    ("１2가3456", None, ["'１'", "U+FF11", "full-width"]),
    ("12가3456\x00", None, ["U+0000"]),
    ("12가3456!", None, ["'!'", "U+0021"]),
    ("12가0000", None, ["serial 0000 is never issued"]),
    ("12가345", None, ["serial 345 must have 4 digits"]),
    ("12가34567", "private_2digit", ["serial 34567 must have 4 digits"]),
    ("12가", None, ["missing the 4-digit serial"]),
    ("123456", None, ["no hangul use syllable"]),
    ("12가나3456", None, ["'가나'"]),
    ("12핳3456", None, ["hangul '핳' is not a use syllable"]),
    ("1가3456", None, ["class code 1 must have 2 or 3 digits"]),
    ("", None, ["empty plate number"]),
    ("12바3456", "private_2digit", ["hangul '바' is not allowed for private_2digit", "가 나"]),
    ("00가3456", "private_2digit", ["class code 00 out of range for private_2digit"]),
    ("123가4567", "private_2digit", ["class code 123 must have 2 digits", "private_3digit"]),
    ("123가4567", "private_short", ["335×155", "not regulation"]),
    ("서울12가3456", "private_2digit", ["region '서울' is not used on private_2digit"]),
    ("099가1234", "private_3digit", ["class code 099 out of range for private_3digit"]),
    ("012가1234", "private_3digit", ["class code 012 out of range", "construction"]),
    ("700가1234", "corporate", ["class code 700 out of range for corporate"]),
    ("998가1234", "electric", ["class code 998 out of range for electric"]),
    ("12바3456", None, ["commercial syllable '바' needs a region"]),
    ("서룰12바3456", None, ["region '서룰' unknown", "서울, 부산"]),
    ("12바3456", "commercial_long", ["commercial_long plates need a region"]),
    ("서울12가3456", "commercial_two_row", ["hangul '가' is not allowed for commercial_two_row"]),
    ("서울123바3456", "large_commercial", ["class code 123 must have 2 digits"]),
    ("세종12가3456", "green_regional", ["region '세종' did not exist on 1973-2003 green plates"]),
    ("서울12하3456", None, ["hangul '하'", "anachronistic"]),
    ("서울12호3456", "green_old", ["hangul '호'", "anachronistic"]),
    ("서울12배3456", "green_regional", ["hangul '배'", "anachronistic"]),
    ("서울12바3456", "green_regional", ["hangul '바' is not allowed for green_regional"]),
    ("12하3456", "green_national", ["hangul '하'", "anachronistic"]),
    ("서울00가3456", "green_regional", ["class code 00 out of range"]),
    ("외교000-003", None, ["mission number 000"]),
    ("외교05-003", None, ["mission number '05' must have 3 digits"]),
    ("외교00512", None, ["3-digit mission and a 3-digit rank"]),
    ("외국005-003", "diplomatic", ["diplomatic prefix '외국' unknown", "외교"]),
    ("12가3456", "diplomatic", ["diplomatic numbers start with one of"]),
    ("외교005-003", "private_2digit", ["is not a private_2digit plate"]),
    ("12-가3456", None, ["'-' is only allowed in diplomatic numbers"]),
    ("12가3456", "construction", ["class code 12 out of range for construction"]),
    ("000가1234", "construction", ["machine-type code 00 out of range", "01-27"]),
    ("035소6430", None, ["machine-type code 35 out of range for construction", "01-27"]),
    ("경기06조7425", "construction", ["no region", "construction_regional"]),
    ("경기28조7425", "construction_regional", ["machine-type code 28 out of range"]),
    ("경기006조7425", "construction_regional_two_row", ["2-digit machine-type code"]),
    ("06조7425", "construction_regional", ["need a region"]),
    ("경기06육7425", "construction_regional", ["hangul '육' is not allowed"]),
    ("012육1234", "construction", ["hangul '육' is not allowed for construction"]),
    ("12가3456", "military", ["hangul '가' is not allowed for military"]),
    ("서울12육3456", None, ["military syllable '육'", "region"]),
]


@pytest.mark.parametrize(("text", "plate_type", "fragments"), INVALID)
def test_invalid_strings_say_why(text: str, plate_type: str | None, fragments: list[str]) -> None:
    with pytest.raises(InvalidPlateError) as info:
        validate(text, plate_type)
    assert info.value.text == text
    for fragment in fragments:
        assert fragment in info.value.reason
    assert "\n" not in info.value.reason


INFERENCE = [
    ("12가3456", T.PRIVATE_2DIGIT),
    ("09허1234", T.PRIVATE_2DIGIT),
    ("12하3456", T.PRIVATE_2DIGIT),
    (" 12 가 3456 ", T.PRIVATE_2DIGIT),
    ("123가4567", T.PRIVATE_3DIGIT),
    ("999호1234", T.PRIVATE_3DIGIT),
    ("서울52바3108", T.COMMERCIAL_TWO_ROW),
    ("경기06배7425", T.COMMERCIAL_TWO_ROW),
    ("서울12가3456", T.GREEN_REGIONAL),
    ("부산12허3456", T.GREEN_REGIONAL),
    ("서울5가3456", T.GREEN_REGIONAL),
    ("012가4568", T.CONSTRUCTION),
    ("05육2107", T.MILITARY),
    ("외교005-003", T.DIPLOMATIC),
    ("국기123456", T.DIPLOMATIC),
    ("대표001-000", T.DIPLOMATIC),
]


@pytest.mark.parametrize(("text", "expected"), INFERENCE)
def test_infer_type(text: str, expected: PlateType) -> None:
    assert infer_type(text) is expected
    assert validate(text).type is expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("12바3456", "needs a region"),
        ("서룰12가3456", "region '서룰' unknown"),
        ("서울123-456", "'서울' is not a diplomatic prefix"),
        ("12파3456", "hangul '파' is not a use syllable"),
    ],
)
def test_infer_type_rejects_with_reason(text: str, fragment: str) -> None:
    with pytest.raises(InvalidPlateError, match=fragment):
        infer_type(text)


# --------------------------------------------------------------------------- normalisation


def test_normalize_drops_invisible_characters_and_composes() -> None:
    assert normalize("\ufeff12\u200b가\u00a03456\u3000\u2060\t\n") == "12가3456"
    decomposed = unicodedata.normalize("NFD", "12가3456")
    assert decomposed != "12가3456"
    assert normalize(decomposed) == "12가3456"
    # Decomposed jamo split by a zero-width space still form one syllable.
    assert normalize("12\u1100\u200b\u1161" + "3456") == "12가3456"
    assert validate(decomposed).text == "12가3456"


PLATE_TYPES = st.sampled_from(list(PlateType))
NOISE = st.sampled_from([" ", "\t", "\n", "\u00a0", "\u3000", "\u200b", "\u200d", "\ufeff"])
JAMOISH = st.characters(min_codepoint=0x1100, max_codepoint=0x11FF) | st.sampled_from(
    list("ㄱㄴㅏㅓ0123456789가바서울외교-허 \u200b１２A")
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=20), plate_type=st.none() | PLATE_TYPES)
def test_random_unicode_only_raises_invalid_plate(text: str, plate_type: PlateType | None) -> None:
    try:
        number = validate(text, plate_type)
    except InvalidPlateError as error:
        assert error.reason
    else:
        assert validate(number.text, number.type) == number


@settings(max_examples=400)
@given(text=st.text(alphabet=JAMOISH, max_size=14), plate_type=st.none() | PLATE_TYPES)
def test_jamo_and_digit_soup_only_raises_invalid_plate(
    text: str, plate_type: PlateType | None
) -> None:
    try:
        number = validate(text, plate_type)
    except InvalidPlateError:
        return
    assert normalize(number.text) == number.text
    if number.type is not T.DIPLOMATIC:
        assert number.text == normalize(text)


@settings(max_examples=300)
@given(
    plate_type=PLATE_TYPES,
    seed=st.integers(0, 2**32 - 1),
    noise=st.lists(st.tuples(st.integers(0, 20), NOISE), max_size=8),
)
def test_whitespace_anywhere_gives_the_same_canonical_text(
    plate_type: PlateType, seed: int, noise: list[tuple[int, str]]
) -> None:
    text = sample(plate_type, random.Random(seed))
    noisy = list(text)
    for position, char in noise:
        noisy.insert(position % (len(noisy) + 1), char)
    assert validate("".join(noisy), plate_type).text == text
    if plate_type is T.DIPLOMATIC:  # the '-' is optional on input
        assert validate(text.replace("-", " "), plate_type).text == text


def test_sejong_with_a_machine_type_code_is_inferred_as_regional_construction() -> None:
    """세종 never was on a green plate, so a region + 01-27 + construction syllable with it
    is the regional construction plate (the realistic prior draws such numbers)."""
    assert validate("세종14마5758").type is T.CONSTRUCTION_REGIONAL
    assert validate("경기14마5758").type is T.GREEN_REGIONAL  # the spec order, as before
    for text in ("세종30가1234", "세종12하3456"):  # no machine code / no construction use
        with pytest.raises(InvalidPlateError, match="'세종' did not exist on 1973-2003"):
            validate(text)
