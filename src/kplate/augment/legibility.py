"""Legibility as a rule of the camera chain: no character ends smaller or fainter than a
reader of real crops can still resolve, or the image is drawn again.

After geometry and the camera's downscale a character has an *effective* height: the
smaller of its height in the output image and its height at the downscale stage (where
its pixels were lost). The height floor is checked on the sampled params (cheap: the
warp and the downscale factor give it without touching pixels); the contrast floors
(contrast, and contrast over the window's grain) on the finished image (blur, noise and
JPEG included). A miss redraws the params from the
same generator, so a seed still gives the same bytes: ATTEMPTS draws, then MILDER_TRIES
each with every range pulled toward its mild end and every probability scaled by
MILDER, then the clean plate (no geometry, no light, no camera but an always-infrared
spec's mildest IR), legible by construction. A downscale too coarse for an otherwise
legible draw is redrawn alone, from the legible part of its range.

The floors come from real labelled crops (tools/measure_legibility.py; the table and
the choice are in docs/legibility.md). A spec may change or switch them off with a
`legibility` mapping: `{min_char_height_px: 12, min_contrast: 0.06, max_motion_streak: 0.3,
max_blur_sd: 0.06, min_contrast_to_noise: 12}` (0 switches one off).

A motion streak is held to MAX_MOTION_STREAK of the smallest letter or digit's height
(both where the streak is drawn: the output image, before any downscale). A longer
streak closes a digit's counters and runs its strokes together, while the contrast of
its window stays high; it is drawn again (in place, from the same generator) from the
part of its range that fits, or left out when none does. The lens's blurs (`blur`, a
Gaussian, and `defocus`, a disc) are held the same way, to MAX_BLUR_SD of the smallest
letter or digit: their spread (the kernel's standard deviation along a line).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from kplate.augment.camera import downscale_factor
from kplate.augment.geometry import NEUTRAL, char_corners, transform_points
from kplate.render.record import PlateRecord

if TYPE_CHECKING:
    from kplate.augment.pipeline import Augmenter

#: Smallest character height in effective pixels: the 5th percentile, over real_dev's
#: 835 labelled crops (819 measured), of each crop's smallest character (9.96 px);
#: docs/legibility.md has the table and why the 5th.
MIN_CHAR_HEIGHT_PX = 10.0
#: Lowest character contrast (`char_contrasts`, fraction of 255) in the final image: the
#: 5th percentile of real_dev's per-crop lowest digit contrast (0.039); docs/legibility.md.
MIN_CONTRAST = 0.04
#: Lowest character contrast over the grain of its window (`contrasts_and_noise`): the
#: 5th percentile of real_dev's per-crop lowest digit contrast over its window's noise
#: (10.0). A noisy dark image clears MIN_CONTRAST on grain alone (the noise's spread
#: counts as contrast): the scoreboard's night reader missed 10 of its 16 held-out
#: images under 5 and 11 of the 341 at 10 or more; docs/legibility.md.
MIN_CONTRAST_TO_NOISE = 10.0
#: The grain a clean (or JPEG-flattened) window is credited with at least, so that the
#: ratio stays finite: 0.5 grey levels. At it the ratio floor asks for 0.02 of contrast,
#: under MIN_CONTRAST, so it never binds on a clean image.
NOISE_FLOOR = 0.5 / 255
#: Longest motion streak (the blur kernel's length, `camera.motion_blur`) as a share of
#: the smallest letter or digit's height where the streak is drawn. Why 0.3: the counter
#: of a "0" (the notice's digit: 40.8 mm wide, strokes 9.5 mm, 74.8 mm high) is 0.29 of
#: its height wide, and a streak that long fills it. Measured: the scoreboard's best
#: reader (8000 steps) missed 3.4 % of 2000 held-out plates without a streak, 4-6 % with
#: streaks up to 0.35 of the smallest character, 28 % at 0.35-0.45, 36 % at 0.45-0.6 and
#: 68 % beyond; docs/legibility.md.
MAX_MOTION_STREAK = 0.3
#: Widest lens blur, as its kernel's standard deviation along a line (a Gaussian's
#: sigma; a disc's of radius r: r / 2) over the smallest letter or digit's height where
#: the blur is drawn. Why 0.06: measured (session 41) on 2800 held-out plates of seven
#: sets, each read by its own set's reader, the 1875 not downscaled: unblurred plates were
#: missed 4.9 % of the time, Gaussian blurs up to 0.06 of the smallest character 4.1 %
#: (19 of 469), 0.06-0.087 19 % (7 of 37), wider 30 % (13 of 43); discs up to 0.04 2.7 %,
#: 0.04-0.06 14 % (3 of 21), wider 38 % (10 of 26). The longest streak allowed (0.3 of the
#: height, a box) spreads 0.3 / sqrt(12) = 0.087: the Gaussian's long tails and the
#: Hangul's gaps, narrower than a digit's counter, close sooner; docs/legibility.md.
MAX_BLUR_SD = 0.06
#: A disc of radius r spreads a line by r / 2 (its standard deviation).
DISC_SD_PER_RADIUS = 0.5
#: Digits a redrawn real value keeps (as the augmenter's draws: pipeline.DIGITS).
BLUR_DIGITS = 4
#: A character the clean render already draws small (a small --height) is held to this
#: share of its clean height instead, when that is below the floor: the augmentation may
#: shrink it a little, never by more.
CLEAN_SHARE = 0.8
#: Full-strength draws, then milder ones, before the clean fallback.
ATTEMPTS = 8
MILDER = (0.5, 0.25)
MILDER_TRIES = 4
#: Largest floors a config may ask for.
MAX_CHAR_HEIGHT_PX = 200.0
MAX_CONTRAST_TO_NOISE = 100.0

#: Effects whose probability a milder draw keeps: what a preset's images all are.
KEEP_P = {("camera", "infrared"), ("geometry", "background")}
#: The mild end of every parameter: a milder draw pulls each range toward it (and scales
#: each effect's probability down, except KEEP_P's).
MILD: dict[str, dict[str, dict[str, float]]] = {
    "photometric": {
        "brightness": {"amount": 0.0},
        "contrast": {"amount": 0.0},
        "gamma": {"gamma": 1.0},
        "temperature": {"shift": 0.0},
        "shadow": {"intensity": 0.0},
        "glare": {"intensity": 0.0},
        "dirt": {"amount": 0.0},
        "scratches": {"count": 0.0},
        "fade": {"amount": 0.0},
    },
    "camera": {
        "infrared": {"lift": 0.0, "contrast": 1.0, "bloom": 0.0, "surround": 1.0},
        "blur": {"sigma": 0.0},
        "defocus": {"radius": 1.0},
        "motion_blur": {"length": 3.0},
        "noise": {"sigma": 0.0},
        "downscale": {"plate_height": 400.0},
        "jpeg": {"quality": 100.0},
    },
    "geometry": {
        **{e: {k: v for k, v in d.items() if k != "corners"} for e, d in NEUTRAL.items()},
        "margin": {"x": 0.0, "y": 0.0},
    },
}

#: Contrast is measured with the characters brought to about this many pixels high (an
#: area-average by a whole factor), so that sensor noise at full resolution does not
#: count as ink.
CONTRAST_PX = 16
#: At that scale a 3 x 3 Gaussian blur of this sigma (pixels) takes most grain out before
#: the percentiles are read: noise of sigma 0.06 alone then measures at most about 0.08
#: on 9-22 px characters (0.15-0.24 without it) and 0.03 on 43 px ones, while ink keeps
#: most of its contrast.
CONTRAST_BLUR = 0.8
#: Around each character box, this share of its height is added on every side, so the
#: measured window always holds background as well as ink.
CONTRAST_PAD = 0.15
#: The dark and light levels of a window: these percentiles of its grey values.
CONTRAST_PERCENTILES = (0.1, 0.9)
#: Noise: the Laplacian-difference kernel of Immerkaer (1996); its response to white noise
#: of std s has std 6 s, and to flat areas 0, so the median response over 6 MAD_TO_STD
#: measures the noise (here and in the fit's statistics, kplate.evaluate.statistics).
NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
MAD_TO_STD = 0.6745


def char_contrasts(image: np.ndarray, boxes: Sequence[Sequence[int]]) -> list[float]:
    """Each box's ink-versus-background contrast, as a fraction of 255: the spread
    between the 10th and 90th percentile grey level inside the box (padded by
    CONTRAST_PAD of its height), with the image area-averaged by a whole factor that
    brings the median box nearest CONTRAST_PX high, then blurred by CONTRAST_BLUR. The
    same function measures real crops and kplate's images, so a floor taken from one
    applies to the other. (Only the boxes' surroundings are converted and averaged,
    and by a whole factor: OpenCV's area resize is ten times dearer at other scales.)"""
    return contrasts_and_noise(image, boxes)[0]


def contrasts_and_noise(
    image: np.ndarray, boxes: Sequence[Sequence[int]]
) -> tuple[list[float], float]:
    """`char_contrasts`, and the grain those contrasts are read against: the standard
    deviation (fraction of 255) of the noise in the same averaged window, before the
    blur, by Immerkaer's estimate over the window's flatter half (`_window_noise`: the
    stroke edges left out). A character's contrast over this is
    its contrast-to-noise ratio, which MIN_CONTRAST_TO_NOISE holds: a contrast that
    noise alone could make is not ink."""
    if not len(boxes):
        return [], 0.0
    # Plain Python on a handful of boxes: numpy's per-call cost would exceed the maths.
    bounds = [tuple(int(v) for v in box[:4]) for box in boxes]
    heights = sorted(max(1, y1 - y0) for _, y0, _, y1 in bounds)
    factor = max(1, round(heights[len(heights) // 2] / CONTRAST_PX))
    reach = math.ceil(CONTRAST_PAD * heights[-1])
    h, w = image.shape[:2]
    # One window around every box, its origin on the averaging grid.
    x0 = max(0, min(b[0] for b in bounds) - reach) // factor * factor
    y0 = max(0, min(b[1] for b in bounds) - reach) // factor * factor
    x1 = min(w, max(b[2] for b in bounds) + reach)
    y1 = min(h, max(b[3] for b in bounds) + reach)
    region = image[y0:y1, x0:x1]
    grey = region if region.ndim == 2 else cv2.cvtColor(region, cv2.COLOR_RGB2GRAY)
    if factor > 1:  # the mean of each factor x factor block (OpenCV's area resize)
        rows, cols = grey.shape[0] // factor * factor, grey.shape[1] // factor * factor
        grey = cv2.blur(grey[:rows, :cols], (factor, factor), anchor=(0, 0))[::factor, ::factor]
    grey = np.ascontiguousarray(grey)
    noise = _window_noise(grey)
    grey = cv2.GaussianBlur(grey, (3, 3), CONTRAST_BLUR)
    gh, gw = grey.shape
    lo_q, hi_q = CONTRAST_PERCENTILES
    out = []
    for bx0, by0, bx1, by1 in bounds:
        pad = CONTRAST_PAD * max(1, by1 - by0)
        xa = min(gw - 1, max(0, math.floor((bx0 - pad - x0) / factor)))
        ya = min(gh - 1, max(0, math.floor((by0 - pad - y0) / factor)))
        xb = max(xa + 1, min(gw, math.ceil((bx1 + pad - x0) / factor)))
        yb = max(ya + 1, min(gh, math.ceil((by1 + pad - y0) / factor)))
        values = grey[ya:yb, xa:xb].ravel()
        if values.size < 2:
            out.append(0.0)
            continue
        k_lo, k_hi = int(lo_q * (values.size - 1)), int(hi_q * (values.size - 1))
        part = np.partition(values, (k_lo, k_hi))
        out.append((int(part[k_hi]) - int(part[k_lo])) / 255.0)
    return out, noise


def _window_noise(grey: np.ndarray) -> float:
    """Immerkaer's (1996) noise estimate of a uint8 window, as a fraction of 255, over
    its flatter half: his kernel answers white noise of std s with std 6 s and a flat
    area with 0, so the median absolute response over 6 * MAD_TO_STD is s. Strokes answer
    too, and a character window is mostly stroke edges, so only the pixels whose Sobel
    gradient is at most the window's median count (the edge-excluding variant of Tai
    and Yang, 2008): a sharp clean plate then measures next to no grain."""
    if min(grey.shape) < 3:
        return 0.0
    values = grey.astype(np.float32)
    response = np.abs(cv2.filter2D(values, -1, NOISE_KERNEL)[1:-1, 1:-1])
    gradient = np.abs(cv2.Sobel(values, -1, 1, 0)) + np.abs(cv2.Sobel(values, -1, 0, 1))
    gradient = gradient[1:-1, 1:-1]
    flat = response[gradient <= np.median(gradient)]
    return float(np.median(flat)) / (6 * MAD_TO_STD * 255.0)


def quad_heights(quads: np.ndarray) -> np.ndarray:
    """Heights of (n, 4, 2) quads (top-left, top-right, bottom-right, bottom-left): the
    mean length of the left and right edges, the height a reader sees whatever the tilt."""
    left = quads[:, 3] - quads[:, 0]
    right = quads[:, 2] - quads[:, 1]
    return (np.hypot(left[:, 0], left[:, 1]) + np.hypot(right[:, 0], right[:, 1])) / 2


@dataclass(frozen=True)
class Floors:
    """The floors an image must clear; 0 switches one off."""

    min_char_height_px: float = MIN_CHAR_HEIGHT_PX
    min_contrast: float = MIN_CONTRAST
    max_motion_streak: float = MAX_MOTION_STREAK
    min_contrast_to_noise: float = MIN_CONTRAST_TO_NOISE
    max_blur_sd: float = MAX_BLUR_SD

    @property
    def off(self) -> bool:
        return (
            self.min_char_height_px <= 0
            and self.min_contrast <= 0
            and self.min_contrast_to_noise <= 0
            and not self.streak_held
            and self.max_blur_sd <= 0
        )

    @property
    def streak_held(self) -> bool:
        return self.max_motion_streak > 0


def floors_of(spec: dict[str, Any]) -> Floors:
    """The floors a validated spec asks for (the defaults unless it says otherwise)."""
    return Floors(**spec.get("legibility", {}))


def validate_legibility(values: Any, fail: Callable[..., Exception]) -> dict[str, float]:
    """Check a spec's `legibility` mapping; `fail(path, message)` makes the error."""
    limits = {
        "min_char_height_px": MAX_CHAR_HEIGHT_PX,
        "min_contrast": 1.0,
        "max_motion_streak": 1.0,
        "max_blur_sd": 1.0,
        "min_contrast_to_noise": MAX_CONTRAST_TO_NOISE,
    }
    if values is None:  # `legibility:` with nothing under it: the defaults
        return {}
    if not isinstance(values, dict):
        raise fail(("legibility",), f"expected a mapping of {', '.join(limits)}")
    out: dict[str, float] = {}
    for key, value in values.items():
        path = ("legibility", str(key))
        if key not in limits:
            raise fail(path, f"unknown key; allowed: {', '.join(limits)}")
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not np.isfinite(value) or not 0 <= value <= limits[key]:
            raise fail(path, f"expected a number from 0 to {limits[key]:g}, got {value!r:.60}")
        out[key] = float(value)
    return out


def milder_spec(spec: dict[str, Any], k: float) -> dict[str, Any]:
    """The spec with every range pulled toward its mild end (MILD) by k and every
    effect's probability times k, except those in KEEP_P (a milder cctv image is still
    infrared, at milder values). Parameters without a mild end (a direction, the
    background kinds) keep their range."""
    out: dict[str, Any] = {
        key: value for key, value in spec.items() if key not in MILD and key != "critic"
    }
    for group, effects in spec.items():
        if group not in MILD:
            continue
        out[group] = {}
        for effect, values in effects.items():
            new = dict(values)
            if (group, effect) not in KEEP_P:
                new["p"] = values["p"] * k
            for name, neutral in MILD[group].get(effect, {}).items():
                if name in values:
                    lo, hi = values[name]
                    n = min(max(neutral, lo), hi)
                    new[name] = [n + k * (lo - n), n + k * (hi - n)]
            out[group][effect] = new
    return out


def fallback_camera(spec: dict[str, Any]) -> dict[str, Any]:
    """The fallback's camera: nothing, except that a spec whose every image is infrared
    (cctv) keeps infrared at its mild end, so its images all stay grey."""
    infrared = spec.get("camera", {}).get("infrared")
    if infrared is None or infrared["p"] < 1.0:
        return {}
    mild = MILD["camera"]["infrared"]
    return {
        "infrared": {
            name: min(max(mild[name], lo), hi)
            for name, (lo, hi) in ((n, infrared[n]) for n in mild)
        }
    }


class Rule:
    """Draws an augmenter's params until every character clears the floors."""

    def __init__(
        self, augmenter: Augmenter, floors: Floors, build: Callable[[dict[str, Any]], Augmenter]
    ) -> None:
        self.augmenter = augmenter
        self.floors = floors
        self._build = build
        self._milder: dict[float, Augmenter] = {}

    def _at(self, k: float) -> Augmenter:
        if k == 1.0:
            return self.augmenter
        if k not in self._milder:  # built on first need: most runs never need one
            self._milder[k] = self._build(milder_spec(self.augmenter.spec, k))
        return self._milder[k]

    def __call__(
        self, image: np.ndarray, record: PlateRecord, rng: np.random.Generator
    ) -> tuple[np.ndarray, PlateRecord, dict[str, Any]]:
        size = (image.shape[1], image.shape[0])
        corners = char_corners(record)
        clean = quad_heights(corners)
        letters = np.array([c.char.isalnum() for c in record.chars], bool)
        floor = np.where(
            letters, np.minimum(self.floors.min_char_height_px, CLEAN_SHARE * clean), 0.0
        )
        attempt = 0
        for k, tries in ((1.0, ATTEMPTS), *((m, MILDER_TRIES) for m in MILDER)):
            augmenter = self._at(k)
            for _ in range(tries):
                attempt += 1
                params, warp = augmenter._sample(rng, record, size)
                matrix = np.eye(3) if warp is None else warp.matrix
                heights, plate = _warped(matrix, corners, record)
                # The smallest letter or digit where blur and streak are drawn.
                smallest = float(heights[letters].min()) if letters.any() else None
                streak = self._hold_streak(augmenter, params, smallest, rng)
                blurs = self._hold_blur(augmenter, params, smallest, rng)
                legible = _legible_heights(augmenter, params, heights, plate, floor, rng)
                if legible is None:
                    continue
                heights, redrawn = legible
                out, new_record = self.augmenter._apply(image, record, params, warp)
                measured = self._contrast(out, new_record, letters)
                if measured is None:
                    continue
                contrast, noise = measured
                params["legibility"] = _note(
                    attempt, k, heights, contrast, noise, redrawn, streak=streak, blurs=blurs
                )
                return out, new_record, params
        # The clean plate: every character as the render drew it, legible by construction
        # (an always-infrared spec's plate turned grey at the mildest IR setting).
        params = {
            "preset": self.augmenter.name,
            "geometry": {},
            "photometric": {},
            "camera": fallback_camera(self.augmenter.spec),
            "output_size": [size[0], size[1]],
        }
        out, new_record = self.augmenter._apply(image, record, params, None)
        contrast, noise = contrasts_and_noise(out, [c.box for c in new_record.chars])
        params["legibility"] = _note(attempt + 1, 0.0, clean, contrast, noise, fallback=True)
        return out, new_record, params

    def _hold_streak(
        self,
        augmenter: Augmenter,
        params: dict[str, Any],
        smallest: float | None,
        rng: np.random.Generator,
    ) -> str | None:
        """Hold the drawn motion streak to `max_motion_streak` of the `smallest` letter
        or digit (as warped, before any downscale; None: the plate has none), with
        `_redraw_within`. The kernel of a length is `int(length) | 1` pixels long."""
        motion = params["camera"].get("motion_blur")
        if motion is None or not self.floors.streak_held or smallest is None:
            return None
        longest = math.floor(self.floors.max_motion_streak * smallest + 1e-9)
        longest -= 1 - longest % 2  # the longest odd kernel that fits
        if int(motion["length"]) | 1 <= longest:
            return None
        return _redraw_within(augmenter, params, "motion_blur", "length", None, longest, rng)

    def _hold_blur(
        self,
        augmenter: Augmenter,
        params: dict[str, Any],
        smallest: float | None,
        rng: np.random.Generator,
    ) -> dict[str, str]:
        """Hold the lens's blurs to `max_blur_sd` of the `smallest` letter or digit (as
        warped, where the blur is drawn, before any downscale), with `_redraw_within`: a
        Gaussian's sigma, a disc's radius at DISC_SD_PER_RADIUS. Returns what became of
        each blur that was held (effect -> redrawn or dropped)."""
        done: dict[str, str] = {}
        if self.floors.max_blur_sd <= 0 or smallest is None:
            return done
        widest = self.floors.max_blur_sd * smallest
        camera = params["camera"]
        if "blur" in camera and float(camera["blur"]["sigma"]) > widest + 1e-9:
            done["blur"] = _redraw_within(
                augmenter, params, "blur", "sigma", None, widest, rng, integer=False
            )
        largest = math.floor(widest / DISC_SD_PER_RADIUS + 1e-9)
        if "defocus" in camera and int(camera["defocus"]["radius"]) > largest:
            done["defocus"] = _redraw_within(
                augmenter, params, "defocus", "radius", None, largest, rng
            )
        return done

    def _contrast(
        self, image: np.ndarray, record: PlateRecord, letters: np.ndarray
    ) -> tuple[list[float], float] | None:
        """Each character's contrast and the window's noise, or None when a letter or
        digit is below the contrast floor or the contrast-to-noise floor."""
        contrast, noise = contrasts_and_noise(image, [c.box for c in record.chars])
        values = np.asarray(contrast)
        low = values < self.floors.min_contrast
        low |= values < self.floors.min_contrast_to_noise * max(noise, NOISE_FLOOR)
        return None if (low & letters).any() else (contrast, noise)


def _warped(
    matrix: np.ndarray, corners: np.ndarray, record: PlateRecord
) -> tuple[np.ndarray, np.ndarray]:
    """The characters' heights and the plate's quad under a draw's warp `matrix` (in the
    output image, before any downscale): one transform for every check of the draw."""
    n = len(corners)
    points = np.concatenate((corners.reshape(-1, 2), np.asarray(record.plate_quad, float)))
    mapped = transform_points(matrix, points)
    return quad_heights(mapped[: 4 * n].reshape(-1, 4, 2)), mapped[4 * n :]


def _redraw_within(
    augmenter: Augmenter,
    params: dict[str, Any],
    effect: str,
    name: str,
    at_least: int | None,
    at_most: float | None,
    rng: np.random.Generator,
    integer: bool = True,
) -> str:
    """Draw the camera `effect`'s `name` again, in place and from `rng`, from the part of
    the spec's range within [at_least, at_most] ("redrawn"), or leave the effect out when
    no part of the range is ("dropped"). An `integer` parameter draws an integer; a real
    one a real, rounded down to the augmenter's digits (so a redrawn value never passes
    `at_most`)."""
    low, high = augmenter.spec["camera"][effect][name]
    if integer:
        lo, hi = int(low), int(high)
        top = None if at_most is None else math.floor(at_most + 1e-9)
    else:
        lo, hi, top = float(low), float(high), at_most
    hi = hi if top is None else min(hi, top)
    lo = lo if at_least is None else max(lo, at_least)
    if lo > hi:
        del params["camera"][effect]
        return "dropped"
    if integer:
        value: float = int(rng.integers(lo, hi + 1))
    else:
        scale = 10.0**BLUR_DIGITS
        value = max(lo, math.floor((lo + (hi - lo) * rng.random()) * scale) / scale)
    params["camera"][effect][name] = value
    return "redrawn"


def _legible_heights(
    augmenter: Augmenter,
    params: dict[str, Any],
    heights: np.ndarray,
    plate_quad: np.ndarray,
    floor: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, str | None] | None:
    """Each character's effective height under `params` and what became of the
    downscale ("redrawn", "dropped" or None: as drawn), or None when a character is
    below its floor. When the geometry is legible but the downscale too coarse for it,
    the downscale's plate height is drawn again (in place, from `rng`) from the part of
    its range that keeps every character above its floor, or left out when no part
    does: the cheap way (no new draw of everything), since a plate's smallest
    characters fix the smallest sensor that still shows them."""
    if (heights < floor - 1e-9).any():
        return None
    down = params["camera"].get("downscale")
    if down is None:
        return heights, None
    plate = {"plate_quad": plate_quad}
    factor = downscale_factor(down, plate)
    if not (heights * factor < floor - 1e-9).any():
        return heights * factor, None
    current = max(1.0, float(quad_heights(plate_quad[None])[0]))
    held = floor > 0  # a hyphen has no floor
    needed = math.ceil(current * float(np.max(floor[held] / heights[held])) - 1e-9)
    # No plate height in range shows them: no downscale.
    done = _redraw_within(augmenter, params, "downscale", "plate_height", needed, None, rng)
    if done == "dropped":
        return heights, done
    heights = heights * downscale_factor(down, plate)
    return None if (heights < floor - 1e-9).any() else (heights, done)


def _note(
    attempt: int,
    k: float,
    heights: np.ndarray,
    contrast: Sequence[float],
    noise: float,
    downscale: str | None = None,
    fallback: bool = False,
    streak: str | None = None,
    blurs: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What metadata.jsonl records: which draw was kept and each character's measures."""
    note: dict[str, Any] = {"attempt": attempt}
    if fallback:
        note["fallback"] = "clean"
    elif k < 1.0:
        note["milder"] = k
    if downscale:
        note["downscale"] = downscale
    if streak:
        note["motion_streak"] = streak
    if blurs:
        note["blur"] = dict(blurs)
    note["char_height_px"] = [round(float(h), 2) for h in heights]
    note["contrast"] = [round(float(c), 3) for c in contrast]
    note["noise"] = round(float(noise), 4)
    return note
