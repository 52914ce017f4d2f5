"""Plate colours (spec §1.3) as sRGB triples, converted from the notice's Lab and Munsell values."""

from __future__ import annotations

RGB = tuple[int, int, int]

PINKISH_WHITE: RGB = (228, 223, 216)  # L* 89.10 a* 0.58 b* 3.95: non-business paint plates
PURPLISH_BLACK: RGB = (57, 61, 69)  # L* 25.70 a* 0.10 b* -5.48: text on those plates
YELLOW: RGB = (254, 191, 0)  # Munsell 2.5Y 8/16 (clipped to sRGB): commercial plates
BLACK: RGB = (38, 38, 38)  # N1.5: text on yellow, film, EV and corporate plates
NAVY: RGB = (37, 43, 99)  # 7.5PB 2/8: diplomatic background
WHITE: RGB = (241, 241, 241)  # N9.5: diplomatic text
FILM_WHITE: RGB = (246, 246, 244)  # reflective film (KS T 3507) is brighter than the paint white
GREEN: RGB = (0, 115, 55)  # 2.5G 4/10: legacy green plates
EV_SKY_BLUE: RGB = (187, 229, 245)  # PANTONE 290C, sampled from the 별표18 artwork
CORPORATE_GREEN: RGB = (173, 189, 76)  # L* 73.37 a* -21.17 b* 53.88 (blog value, marked [?])
#: Construction machinery rental business plates are orange; the notice gives no value, so
#: this is Munsell 2.5YR 6/14-like safety orange (docs/plate-types.md).
ORANGE: RGB = (236, 120, 32)

#: EV artwork colours. 별표18 names PANTONE inks (2727C lines and lettering, 283C fill,
#: 292C/283C Taegeuk, 2707C lettering ground, 291C/2708C pattern); its artwork (p. 47) and
#: photographs of real plates print them as pale blues on the sky blue, so these are the
#: inks toned to that plate. Luminance difference from EV_SKY_BLUE (221) in brackets; the
#: characters are 183 off, and no emblem may be more than EV_MAX_CONTRAST (70) off.
EV_EMBLEM_LINE: RGB = (122, 166, 212)  # 2727C outlines and lettering (-61)
EV_EMBLEM_FILL: RGB = (152, 198, 232)  # 283C pictogram and logo fill (-31)
EV_MEDALLION_GROUND: RGB = (214, 238, 249)  # 2707C ground of the lettered ring (+12)
EV_TAEGEUK_LIGHT: RGB = (168, 214, 242)  # 283C upper Taegeuk (-17)
EV_TAEGEUK_DARK: RGB = (120, 170, 222)  # 292C lower Taegeuk (-58)
EV_PATTERN_LINE: RGB = (172, 217, 238)  # 291C/2708C background swirls (-12)
EV_HOLOGRAM_LINE: RGB = (158, 204, 232)  # the 15 mm hologram medallions (-25)
#: The film plate's band (photographs, real_dev private_3digit_blue_band): bright blue,
#: lighter at the top, with a Taegeuk in a light cyan and a deep blue (no red).
FILM_BAND_TOP: RGB = (28, 138, 238)
FILM_BAND_BOTTOM: RGB = (0, 62, 202)
FILM_TAEGEUK_LIGHT: RGB = (110, 210, 250)
FILM_TAEGEUK_DARK: RGB = (12, 40, 172)
FILM_HOLOGRAM: RGB = (96, 168, 240)  # the small hologram mark above "KOR", faint

#: Regional construction machinery plates (before 26 Nov 2022): light characters on a
#: coloured plate. Private and government machines (serials 0001-5999) carry green plates
#: and rental-business machines (6000-9999) orange ones; a 2021 trade-press report of the
#: reform says "as before, business machines orange, private and government green", and
#: every one of real_dev's 48 regional crops shows characters lighter than the plate.
#: No colour value is published: the green is the legacy plate green, the orange the
#: national plate's (docs/plate-types.md, "Construction machinery plates").
CONSTRUCTION_REGIONAL_GREEN: RGB = GREEN
CONSTRUCTION_REGIONAL_ORANGE: RGB = ORANGE
CONSTRUCTION_REGIONAL_INK: RGB = WHITE

#: Colour ranges (issue #15). The notice allows ΔE*ab <= 3 around each value (N2018 art. 4 ④),
#: but plates in use drift further: paint and film age, and makers differ. Where photographs
#: show it, a colour has a documented range from one end to the other; `generate` draws one
#: of SHADE_COUNT evenly spaced shades of it per plate, and `render_plate` keeps the nominal
#: colour. The renderer draws a shade by recolouring the finished plate through a look-up
#: table (render/plate.py), so its caches stay one per nominal colour.
SHADE_COUNT = 8
#: Yellow from gold to lemon. The nominal 2.5Y 8/16 clips to an amber (hue angle h_ab 83°)
#: that sits at the gold end; the colour yellow crops of real_dev (cvl_0006/0007/0024/0026,
#: kwon_0014) measure h_ab 85-94°, G/R 0.77-0.88, shown here at the nominal's brightness
#: (exposure is the augmenter's business).
YELLOW_GOLD: RGB = YELLOW
YELLOW_LEMON: RGB = (248, 219, 2)
#: Paint white from the nominal (b* 3.95) to an aged cream (b* about 10, as on kwon_0011).
PINKISH_WHITE_AGED: RGB = (229, 221, 200)
#: nominal colour -> (one end, other end) of its range; colours not listed have no range.
COLOUR_RANGES: dict[RGB, tuple[RGB, RGB]] = {
    YELLOW: (YELLOW_GOLD, YELLOW_LEMON),
    PINKISH_WHITE: (PINKISH_WHITE, PINKISH_WHITE_AGED),
}


def shade(nominal: RGB, index: int) -> RGB:
    """Shade `index` (0 to SHADE_COUNT - 1, 0 = the first end) of `nominal`'s range,
    interpolated in sRGB; a colour without a range comes back unchanged."""
    ends = COLOUR_RANGES.get(nominal)
    if ends is None:
        return nominal
    if not 0 <= index < SHADE_COUNT:
        raise ValueError(f"shade index {index} is not 0 to {SHADE_COUNT - 1}")
    t = index / (SHADE_COUNT - 1)
    a, b = ends
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )
