"""Photometric effects: plate wear (before the warp) and scene lighting (after it).

Wear (fade, dirt, scratches, glare) lives on the plate's surface, so it is drawn on the
clean plate and then warped with it; lighting (shadow, brightness, contrast, gamma,
colour temperature) falls on the whole scene. Each function takes already-sampled
values and is deterministic; randomness beyond the values comes from a recorded seed.
albumentations does brightness/contrast and gamma; the rest is hand-written, because
albumentations has no equivalent (or, for shadows, a far slower one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from kplate.augment._albumentations import import_albumentations
from kplate.augment.backgrounds import grain, smooth_noise

A = import_albumentations()

_BRIGHTNESS_CONTRAST = A.RandomBrightnessContrast(p=1.0)
_GAMMA = A.RandomGamma(p=1.0)

Effect = Callable[[np.ndarray, dict[str, Any]], np.ndarray]


# -- helpers --------------------------------------------------------------------------------


def _coarse_size(w: int, h: int) -> tuple[int, int]:
    return max(2, w // 4), max(2, h // 4)


def _to_alpha(mask: np.ndarray, w: int, h: int) -> np.ndarray:
    """A coarse float mask in [0, 1] enlarged to (h, w, 3) uint8 alpha."""
    small = np.clip(mask * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.cvtColor(
        cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), cv2.COLOR_GRAY2RGB
    )


def blend_toward(img: np.ndarray, colour: Any, alpha: np.ndarray) -> np.ndarray:
    """img * (1 - alpha) + colour * alpha, in saturating uint8 (alpha: (h, w, 3) uint8).

    colour * alpha goes through a per-channel look-up table: OpenCV's multiply by a
    scalar takes a slow floating-point path.
    """
    keep = cv2.multiply(img, cv2.bitwise_not(alpha), scale=1.0 / 255.0)
    c = np.broadcast_to(np.asarray(colour, np.float32).ravel(), (3,))
    return cv2.add(keep, cv2.LUT(alpha, _channel_lut(c)))


def _channel_lut(gains: np.ndarray) -> np.ndarray:
    """A (256, 1, 3) table mapping v to v * gains / 255 per channel."""
    levels = np.arange(256, dtype=np.float32)[:, None] * (gains / 255.0)
    return np.clip(levels + 0.5, 0, 255).astype(np.uint8).reshape(256, 1, 3)


# -- wear, on the clean plate --------------------------------------------------------------


def fade(img: np.ndarray, v: dict[str, Any]) -> np.ndarray:
    """Faded paint: the ink (and emblems) drift toward the plate colour, unevenly."""
    h, w = img.shape[:2]
    cw, ch = _coarse_size(w, h)
    rng = np.random.default_rng(v["seed"])
    plate = img[h // 8 :: max(1, h // 8), :: max(1, w // 32)].reshape(-1, 3).max(axis=0)
    patchy = 0.6 + 0.2 * (smooth_noise(rng, cw, ch, max(2, ch // 2)) + 1.0)
    return blend_toward(img, plate, _to_alpha(v["amount"] * patchy, w, h))


def dirt(img: np.ndarray, v: dict[str, Any]) -> np.ndarray:
    """Grime: brownish blotches, heavier toward the bottom edge, plus small specks."""
    h, w = img.shape[:2]
    cw, ch = _coarse_size(w, h)
    rng = np.random.default_rng(v["seed"])
    blotch = np.clip(smooth_noise(rng, cw, ch, max(2, ch // 3)) * 1.5 + 0.2, 0, 1)
    blotch *= np.linspace(0.6, 1.2, ch, dtype=np.float32)[:, None]
    alpha = _to_alpha(np.clip(v["amount"] * blotch, 0, 0.9), w, h)
    specks = (grain(rng, w, h) > 2.3).astype(np.uint8) * int(200 * v["amount"])
    alpha = cv2.add(alpha, cv2.cvtColor(specks, cv2.COLOR_GRAY2RGB))
    colour = [(92, 80, 62), (70, 66, 60), (120, 110, 95)][int(rng.integers(3))]
    return blend_toward(img, colour, alpha)


def scratches(img: np.ndarray, v: dict[str, Any]) -> np.ndarray:
    """Thin light or dark scratches, mostly long and shallow-angled, half transparent."""
    h, w = img.shape[:2]
    rng = np.random.default_rng(v["seed"])
    overlay = img.copy()
    for _ in range(int(v["count"])):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        length = rng.uniform(0.05, 0.5) * w
        angle = rng.normal(0, 0.5)
        dx, dy = np.cos(angle) * length / 2, np.sin(angle) * length / 2
        shade = (235,) * 3 if rng.random() < 0.6 else (40,) * 3
        p0 = (int(x - dx), int(y - dy))
        p1 = (int(x + dx), int(y + dy))
        cv2.line(overlay, p0, p1, shade, 1, cv2.LINE_AA)
    return cv2.addWeighted(img, 0.45, overlay, 0.55, 0)


def glare(img: np.ndarray, v: dict[str, Any]) -> np.ndarray:
    """A specular streak on the retro-reflective film: a soft bright band toward white."""
    h, w = img.shape[:2]
    cw, ch = _coarse_size(w, h)
    rng = np.random.default_rng(v["seed"])
    angle = rng.uniform(-1.2, 1.2) + np.pi / 2
    ys, xs = np.mgrid[0:ch, 0:cw].astype(np.float32)
    xs, ys = xs / cw * w / h, ys / ch  # in plate heights
    centre = rng.uniform(0.0, w / h)
    d = (xs - centre) * np.cos(angle) + (ys - 0.5) * np.sin(angle)
    width = rng.uniform(0.08, 0.35)
    band = np.exp(-((d / width) ** 2)) * v["intensity"]
    return blend_toward(img, (255, 255, 255), _to_alpha(band, w, h))


# -- lighting, on the warped scene ---------------------------------------------------------


def shadow(img: np.ndarray, v: dict[str, Any]) -> np.ndarray:
    """A cast shadow (car body, pole) over one side of the image, its edge a little soft.

    Hand-written: albumentations' RandomShadow does the same with boolean masks at
    several milliseconds per image.
    """
    h, w = img.shape[:2]
    rng = np.random.default_rng(v["seed"])
    if rng.random() < 0.5:  # a vertical-ish edge: shadow on the left or right
        x0, x1 = rng.uniform(0.15, 0.85, 2) * w
        poly = [(0, 0), (x0, 0), (x1, h), (0, h)]
        if rng.random() < 0.5:
            poly = [(w, 0), (x0, 0), (x1, h), (w, h)]
    else:  # a horizontal-ish edge: shadow from above (boot lid, bumper)
        y0, y1 = rng.uniform(0.2, 0.7, 2) * h
        poly = [(0, 0), (w, 0), (w, y1), (0, y0)]
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.array(poly, np.int32)], round(255 * v["intensity"]))
    mask = cv2.blur(mask, (3, 3))
    if img.ndim == 3:
        mask = cv2.cvtColor(mask, cv2.COLOR_GRAY2RGB)
    return cv2.multiply(img, cv2.bitwise_not(mask), scale=1.0 / 255.0)


def brightness(img: np.ndarray, v: dict[str, Any]) -> np.ndarray:
    return _BRIGHTNESS_CONTRAST.apply(img, alpha=1.0, beta=v["amount"] * 255.0)


def contrast(img: np.ndarray, v: dict[str, Any]) -> np.ndarray:
    """Contrast about the image mean, so it does not also shift brightness."""
    alpha = 1.0 + v["amount"]
    mean = float(np.mean(cv2.mean(img)[:3]))
    return _BRIGHTNESS_CONTRAST.apply(img, alpha=alpha, beta=(1.0 - alpha) * mean)


def gamma(img: np.ndarray, v: dict[str, Any]) -> np.ndarray:
    return _GAMMA.apply(img, gamma=v["gamma"])


def temperature(img: np.ndarray, v: dict[str, Any]) -> np.ndarray:
    """Warm (sodium lamps, dusk) or cool (daylight shade, LEDs) light: channel gains."""
    s = v["shift"]
    gains = np.array([1.0 + 0.6 * s, 1.0 + 0.1 * s, 1.0 - 0.6 * s], np.float32) * 255.0
    return cv2.LUT(img, _channel_lut(gains))


#: Wear effects, applied to the clean plate in this order.
WEAR: dict[str, Effect] = {"fade": fade, "dirt": dirt, "scratches": scratches, "glare": glare}
#: Lighting effects, applied after the warp in this order.
LIGHTING: dict[str, Effect] = {
    "shadow": shadow,
    "brightness": brightness,
    "contrast": contrast,
    "gamma": gamma,
    "temperature": temperature,
}
#: Effects whose apply needs a recorded seed besides its sampled values.
SEEDED = {"fade", "dirt", "scratches", "glare", "shadow"}
