"""Camera effects, in the order light meets a sensor: infrared response, optics blur,
sensor noise, a low-resolution sensor (downscale and back), and JPEG re-compression.

After `infrared` the image is a single channel (H x W) until the pipeline restores RGB,
which keeps infrared output exactly grey (R == G == B) and the later steps cheaper.
The transforms are albumentations' own, built once and called through `apply` with
the sampled values; only the infrared look is hand-written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from kplate.augment._albumentations import import_albumentations
from kplate.augment.backgrounds import add_grain
from kplate.augment.infrared import exposure, halation, interlace, ir_paint

A = import_albumentations()
from albumentations.augmentations.blur import functional as fblur  # noqa: E402

_BLUR = A.GaussianBlur(p=1.0)
_MOTION = A.MotionBlur(p=1.0)
_DOWNSCALE = A.Downscale(
    interpolation_pair={"downscale": cv2.INTER_AREA, "upscale": cv2.INTER_LINEAR}, p=1.0
)
_JPEG = A.ImageCompression(p=1.0)

Effect = Callable[[np.ndarray, dict[str, Any], dict[str, Any]], np.ndarray]


def infrared(img: np.ndarray, v: dict[str, Any], ctx: dict[str, Any]) -> np.ndarray:
    """Night-time IR CCTV: grey, the retro-reflective plate glowing, blacks lifted.

    Paint of any colour reflects near-infrared strongly, so coloured plates turn light
    grey (the brightest channel dominates); bright areas bloom over thin strokes. All in
    uint8 OpenCV operations: this runs on every cctv image.
    """
    r, g, b = cv2.split(img)
    brightest = cv2.max(cv2.max(r, g), b)
    grey = cv2.addWeighted(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), 0.4, brightest, 0.6, 0)
    h, w = grey.shape
    if v["bloom"] > 0:
        small = cv2.resize(grey, (max(2, w // 4), max(2, h // 4)), interpolation=cv2.INTER_AREA)
        glow = cv2.GaussianBlur(cv2.subtract(small, 140), (0, 0), max(0.6, h / 160))
        glow = cv2.resize(glow, (w, h), interpolation=cv2.INTER_LINEAR)
        grey = cv2.addWeighted(grey, 1.0, glow, 1.6 * v["bloom"], 0)
    if v["surround"] < 1.0:  # the car and road reflect little IR: dim all but the plate
        grey = _dim_surround(grey, ctx["plate_quad"], v["surround"])
    # Lift blacks, then squeeze contrast about the mean: one linear map, done by a LUT.
    lift, k = v["lift"], v["contrast"]
    mean = lift * 255.0 + (1.0 - lift) * float(cv2.mean(grey)[0])
    levels = lift * 255.0 + (1.0 - lift) * np.arange(256, dtype=np.float32)
    lut = np.clip(mean + k * (levels - mean) + 0.5, 0, 255).astype(np.uint8)
    return cv2.LUT(grey, lut)


def _dim_surround(grey: np.ndarray, quad: Any, level: float) -> np.ndarray:
    """Multiply everything outside the plate quad by `level`, with a soft edge."""
    h, w = grey.shape
    cw, ch = max(2, w // 4), max(2, h // 4)
    mask = np.zeros((ch, cw), np.uint8)
    points = np.asarray(quad, np.float64) * (cw / w, ch / h)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 255)
    mask = cv2.resize(cv2.blur(mask, (3, 3)), (w, h), interpolation=cv2.INTER_LINEAR)
    gain = cv2.addWeighted(mask, 1.0 - level, mask, 0.0, 255.0 * level)
    return cv2.multiply(grey, gain, scale=1.0 / 255.0)


def blur(img: np.ndarray, v: dict[str, Any], ctx: dict[str, Any]) -> np.ndarray:
    sigma = v["sigma"]
    if sigma <= 0:
        return img
    ksize = 2 * int(np.ceil(3 * sigma)) + 1
    return _BLUR.apply(img, kernel=fblur.create_gaussian_kernel_1d(sigma, ksize))


def defocus(img: np.ndarray, v: dict[str, Any], ctx: dict[str, Any]) -> np.ndarray:
    """Lens defocus: a disc kernel. albumentations' Defocus pads every kernel to at least
    17 x 17 (milliseconds per plate), so the disc is built at its own size here and
    convolved with albumentations' `convolve`."""
    return fblur.convolve(img, kernel=_disc(int(v["radius"])))


@functools.cache
def _disc(radius: int) -> np.ndarray:
    r = np.arange(-radius, radius + 1)
    x, y = np.meshgrid(r, r)
    disc = ((x**2 + y**2) <= radius**2 + 0.5).astype(np.float32)
    disc = cv2.GaussianBlur(disc, (3, 3), 0.5)
    return disc / disc.sum()


def motion_blur(img: np.ndarray, v: dict[str, Any], ctx: dict[str, Any]) -> np.ndarray:
    """A straight motion streak; an even length is rounded up to the next odd kernel."""
    length = int(v["length"]) | 1
    kernel = fblur.create_motion_kernel(length, float(v["angle"]), 0.0, False, None)
    return _MOTION.apply(img, kernel=kernel.astype(np.float32) / kernel.sum())


def noise(img: np.ndarray, v: dict[str, Any], ctx: dict[str, Any]) -> np.ndarray:
    """Luma sensor noise (what survives a camera's own processing), from a cached tile:
    drawing fresh Gaussian noise per image costs more than the rest of the pipeline."""
    return add_grain(img, np.random.default_rng(v["seed"]), v["sigma"] * 255.0)


def downscale_factor(v: dict[str, Any], ctx: dict[str, Any]) -> float:
    """Scale that brings the plate (as it now appears) to `plate_height` pixels."""
    quad = np.asarray(ctx["plate_quad"], np.float64)
    left = np.linalg.norm(quad[3] - quad[0])
    right = np.linalg.norm(quad[2] - quad[1])
    current = max(1.0, (left + right) / 2)
    return min(1.0, v["plate_height"] / current)


def downscale(img: np.ndarray, v: dict[str, Any], ctx: dict[str, Any]) -> np.ndarray:
    factor = downscale_factor(v, ctx)
    h, w = img.shape[:2]
    if factor >= 1.0 or min(h, w) * factor < 2:
        return img if factor >= 1.0 else _DOWNSCALE.apply(img, scale=2 / min(h, w))
    return _DOWNSCALE.apply(img, scale=factor)


def jpeg(img: np.ndarray, v: dict[str, Any], ctx: dict[str, Any]) -> np.ndarray:
    out = _JPEG.apply(img, quality=int(v["quality"]), image_type=".jpg")
    return out[..., 0] if img.ndim == 2 and out.ndim == 3 else out


#: Camera effects, applied in this order.
CAMERA: dict[str, Effect] = {
    "ir_paint": ir_paint,
    "infrared": infrared,
    "exposure": exposure,
    "halation": halation,
    "blur": blur,
    "defocus": defocus,
    "motion_blur": motion_blur,
    "noise": noise,
    "downscale": downscale,
    "interlace": interlace,
    "jpeg": jpeg,
}
SEEDED = {"noise"}
