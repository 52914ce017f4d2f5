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
