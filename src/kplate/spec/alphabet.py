"""The characters plates use: use syllables, regions and prefixes, as in spec §2 and §4."""

from __future__ import annotations

DIGITS = "0123456789"

#: Non-business private and government cars (32 syllables, N2013/N2018).
PRIVATE_SYLLABLES = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주"
#: Rental cars: 허, then 하 and 호 from 1 Mar 2013.
RENTAL_SYLLABLES = "하허호"
#: Commercial transport (바 사 아 자) and delivery (배).
COMMERCIAL_SYLLABLES = "바사아자배"
#: Military branch syllables (low confidence, from dataset labels).
MILITARY_SYLLABLES = "육해공국합"
#: Construction machinery: the 35-syllable list was not found, so kplate uses the private
#: syllables plus 바 사 아 자, which the real regional construction plates show (docs/plate-types.md).
CONSTRUCTION_SYLLABLES = PRIVATE_SYLLABLES + "바사아자"

#: The 17 region names of N2018 §6, exactly as written on plates.
REGIONS = (
    "서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기",
    "강원", "충북", "충남", "전북", "전남", "경북", "경남", "제주",
)  # fmt: skip
#: 1973-2003 green plates used the same list without 세종 (created 2012).
REGIONS_1973 = tuple(r for r in REGIONS if r != "세종")

#: Diplomatic prefixes: embassy, consulate, quasi-embassy, quasi-consulate,
#: international organisation, agreement, representative office.
DIPLOMATIC_PREFIXES = ("외교", "영사", "준외", "준영", "국기", "협정", "대표")


def grammar_alphabet() -> frozenset[str]:
    """Every character that any valid plate string can contain; glyph sources must cover it."""
    chars = set(DIGITS) | {"-"}
    for group in (
        PRIVATE_SYLLABLES,
        RENTAL_SYLLABLES,
        COMMERCIAL_SYLLABLES,
        MILITARY_SYLLABLES,
        CONSTRUCTION_SYLLABLES,
    ):
        chars.update(group)
    for name in REGIONS + DIPLOMATIC_PREFIXES:
        chars.update(name)
    return frozenset(chars)
