"""What roadside IR CCTV does to a plate beyond turning it grey (camera.infrared).

Measured on real_dev's 641 greyscale CCTV crops (docs/ir.md): coloured paints read
darker than white in near-infrared (yellow commercial plates at about 0.7 of a white
plate's brightness; orange and green construction plates darker than their white
characters, so the ink is the light part); exposure swings from dim, low-contrast plates
to blown-out ones; a retroreflective plate's white halates over its strokes and past its
edge; and alternate lines of an interlaced sensor can come from fields a moment apart.

Each effect takes `(image, values, ctx)` like the other camera effects; `image` is RGB
before `camera.infrared` and a single grey channel after it. All uint8 OpenCV passes.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np


def ir_paint(img: np.ndarray, v: dict[str, Any], ctx: dict[str, Any]) -> np.ndarray:
    """Saturated paint reflects less near-infrared than white: each pixel is darkened by
    `dim` times its saturation ((max - min) / max of RGB), so white and grey stay as they
    are while yellow, orange, green and blue plates (and their white characters' ground)
    turn darker grey than white ink. Runs before `infrared` (it needs the colour), and
    only in an image whose `infrared` fires too: a colour camera sees the paint as is."""
    dim = float(v["dim"])
    if dim <= 0 or img.ndim != 3 or "infrared" not in ctx.get("camera", {"infrared": None}):
        return img
    r, g, b = cv2.split(img)
    high = cv2.max(cv2.max(r, g), b)
    spread = cv2.subtract(high, cv2.min(cv2.min(r, g), b))
    # gain = 255 * (1 - dim * spread / high), per pixel in uint8 (cv2.divide gives 0 where
    # high is 0); numpy's reductions over the channel axis cost ten times as much.
    darkening = cv2.divide(spread, high, scale=dim * 255.0)
    gain = cv2.subtract(np.full_like(high, 255), darkening)
    return cv2.multiply(img, cv2.merge([gain, gain, gain]), scale=1.0 / 255.0)


def exposure(img: np.ndarray, v: dict[str, Any], ctx: dict[str, Any]) -> np.ndarray:
    """Exposure gain: below 1 a dim plate whose contrast shrinks with it (the dark,
    nearly invisible crops), above 1 a plate that clips to white (the blown-out ones)."""
    gain = float(v["gain"])
    lut = np.clip(np.arange(256, dtype=np.float32) * gain + 0.5, 0, 255).astype(np.uint8)
    return cv2.LUT(img, lut)


def halation(img: np.ndarray, v: dict[str, Any], ctx: dict[str, Any]) -> np.ndarray:
    """The retroreflective white glows: light above a highlight level spreads by
    `radius` (fraction of the plate's height) over the dark strokes and past the plate's
    edge onto the car, adding up to `strength` of the highlight's own level."""
    strength, radius = float(v["strength"]), float(v["radius"])
    if strength <= 0 or radius <= 0:
        return img
    h, w = img.shape[:2]
    grey = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    # The glow is smooth: work at a quarter size (cheap), then back up.
    small = cv2.resize(grey, (max(2, w // 4), max(2, h // 4)), interpolation=cv2.INTER_AREA)
    # Highlights: what is within a fifth of the brightest (quarter-size, so averaged) level.
    level = max(96, int(cv2.minMaxLoc(small)[1] * 0.8))
    highlights = cv2.subtract(small, level)
    sigma = max(0.5, radius * _plate_height(ctx, h) / 4.0)
    glow = cv2.GaussianBlur(highlights, (0, 0), sigma)
    peak = max(1.0, float(highlights.max()))
    glow = cv2.resize(glow, (w, h), interpolation=cv2.INTER_LINEAR)
    # Scale so that the glow's peak adds `strength` x 255 x (its share of the peak).
    scale = strength * 255.0 / peak
    if img.ndim == 3:
        glow = cv2.merge([glow, glow, glow])
    return cv2.addWeighted(img, 1.0, glow, scale, 0)


def _plate_height(ctx: dict[str, Any], image_height: int) -> float:
    quad = ctx.get("plate_quad")
    if quad is None:
        return float(image_height)
    points = np.asarray(quad, np.float64)
    return max(
        1.0,
        float(np.linalg.norm(points[3] - points[0]) + np.linalg.norm(points[2] - points[1])) / 2,
    )


def interlace(img: np.ndarray, v: dict[str, Any], ctx: dict[str, Any]) -> np.ndarray:
    """An interlaced sensor: odd rows come from the other field, taken a moment later,
    so they sit `shift` pixels to the side (the car moved); edges comb. Sub-pixel shifts
    interpolate linearly; the image's border repeats into the gap."""
    shift = float(v["shift"])
    if shift == 0:
        return img
    out = img.copy()
    odd = np.ascontiguousarray(img[1::2])
    matrix = np.array([[1.0, 0.0, shift], [0.0, 1.0, 0.0]], np.float32)
    size = (odd.shape[1], odd.shape[0])
    out[1::2] = cv2.warpAffine(
        odd, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return out
