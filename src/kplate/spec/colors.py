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

#: EV artwork colours (B18, PANTONE approximations).
EV_PICTOGRAM_BLUE: RGB = (0, 114, 206)  # 2727C outlines and lettering
EV_PICTOGRAM_FILL: RGB = (0, 86, 184)  # 283C-ish fill
TAEGEUK_RED: RGB = (205, 46, 58)
TAEGEUK_BLUE: RGB = (0, 71, 160)
FILM_BAND_TOP: RGB = (40, 42, 80)  # the film plate's band: navy at the top ...
FILM_BAND_BOTTOM: RGB = (80, 128, 192)  # ... to blue at the bottom (CV template pixels)

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
