"""Procedural surroundings for the crop margin: car body, bumper, road, or a plain dark mount.

Everything is drawn from a seed, and cheaply, because every augmented plate gets its own
background: the smooth parts (paint colour, light falloff, reflections, moulded edges)
are drawn at a quarter of the size and enlarged; fine grain is cut at a seeded offset
from one cached noise tile and added in uint8.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

#: Car paints seen behind plates: white, silver, grey, black, dark blue, red, beige, green.
BODY_COLOURS = np.array(
    [
        (225, 226, 228),
        (175, 178, 182),
        (110, 112, 116),
        (28, 29, 32),
        (32, 45, 78),
        (140, 28, 30),
        (190, 175, 150),
        (60, 70, 60),
    ],
    np.float32,
)
TILE_H, TILE_W = 256, 1024
COARSE = 4


@functools.cache
def _grain_tile() -> np.ndarray:
    """A fixed tile of zero-mean grain (float32, std 1): the same in every process."""
    rng = np.random.default_rng(20240604)
    return rng.standard_normal((TILE_H, TILE_W), np.float32)


@functools.cache
def _grain_tile_u8() -> np.ndarray:
    """The grain as 3-channel uint8 around 128 (std 32), for cheap saturating adds."""
    grey = np.clip(128 + 32 * _grain_tile(), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))


@functools.cache
def _grain_tile_grey() -> np.ndarray:
    return np.ascontiguousarray(_grain_tile_u8()[..., 0])


def _offset(rng: np.random.Generator, tile: np.ndarray, w: int, h: int) -> np.ndarray:
    if h > tile.shape[0] or w > tile.shape[1]:
        reps = (-(-h // tile.shape[0]) + 1, -(-w // tile.shape[1]) + 1) + (1,) * (tile.ndim - 2)
        tile = np.tile(tile, reps)
    oy = int(rng.integers(0, tile.shape[0] - h + 1))
    ox = int(rng.integers(0, tile.shape[1] - w + 1))
    return tile[oy : oy + h, ox : ox + w]


def grain(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """(h, w) float32 white noise with std 1, cut from the cached tile at a seeded offset."""
    return _offset(rng, _grain_tile(), w, h)


def add_grain(img: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """img + grain with std `strength` grey levels, saturating, in uint8."""
    h, w = img.shape[:2]
    tile = _grain_tile_u8() if img.ndim == 3 else _grain_tile_grey()
    noise = np.ascontiguousarray(_offset(rng, tile, w, h))
    k = strength / 32.0
    return cv2.addWeighted(img, 1.0, noise, k, -128.0 * k)


def smooth_noise(rng: np.random.Generator, w: int, h: int, cell: int) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: a coarse random grid, smoothly enlarged."""
    grid = rng.uniform(-1, 1, (max(2, h // cell + 2), max(2, w // cell + 2))).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_LINEAR)


def _ramp(h: int, top: float, bottom: float) -> np.ndarray:
    return np.linspace(top, bottom, h, dtype=np.float32)[:, None, None]


def _coarse(kind: str, rng: np.random.Generator, w: int, h: int) -> tuple[np.ndarray, float]:
    """The smooth part of a background at (h, w), and how much grain it should get."""
    if kind == "body":
        colour = BODY_COLOURS[rng.integers(len(BODY_COLOURS))] * rng.uniform(0.8, 1.1)
        img = colour * _ramp(h, rng.uniform(0.85, 1.15), rng.uniform(0.6, 1.0))
        img = img + 18 * smooth_noise(rng, w, h, 12)[..., None]
        # A specular band: the sky mirrored in glossy paint.
        y = rng.uniform(0, h)
        band = np.exp(-(((np.arange(h, dtype=np.float32) - y) / (0.08 * h + 1)) ** 2))
        img = img + rng.uniform(0, 50) * band[:, None, None]
        return img, 3.0
    if kind == "bumper":
        grey = rng.uniform(18, 70)
        tint = rng.uniform(0.9, 1.1, 3).astype(np.float32)
        img = grey * tint * _ramp(h, 1.1, 0.75) + 6 * smooth_noise(rng, w, h, 6)[..., None]
        img = np.broadcast_to(img, (h, w, 3)).copy()
        # Moulded edges: light lips and dark grooves across the bumper.
        for _ in range(int(rng.integers(2, 6))):
            y = int(rng.integers(0, h))
            img[y : y + 1] += float(rng.uniform(-30, 40))
        return img, 5.0
    if kind == "road":
        grey = rng.uniform(70, 130)
        img = grey + 10 * smooth_noise(rng, w, h, 4)[..., None]
        img = np.broadcast_to(img, (h, w, 3)).copy()
        if rng.random() < 0.4:  # a painted lane mark
            x = int(rng.integers(0, w))
            cv2.line(img, (x, 0), (x + int(rng.integers(-w // 4, w // 4 + 1)), h), (210,) * 3, 2)
        return img, 16.0
    # flat: a plain dark mount or a shadowed recess
    grey = rng.uniform(10, 60)
    img = grey + 4 * smooth_noise(rng, w, h, 8)[..., None]
    return np.broadcast_to(img, (h, w, 3)).copy(), 2.0


def make_background(kind: str, seed: int, w: int, h: int) -> np.ndarray:
    """An (h, w, 3) uint8 RGB background of `kind`, fully determined by `seed`."""
    rng = np.random.default_rng(seed)
    cw, ch = max(2, -(-w // COARSE)), max(2, -(-h // COARSE))
    coarse, strength = _coarse(kind, rng, cw, ch)
    small = np.clip(coarse + 0.5, 0, 255).astype(np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return add_grain(img, rng, strength)


#: Distinct backgrounds drawn per kind and size; a seed picks one (and whether to mirror
#: it), so after warm-up a background costs a dictionary look-up instead of a drawing.
VARIANTS = 32
_CACHE: dict[tuple[str, int, int, int], np.ndarray] = {}
_CACHE_LIMIT = 1024


def background(kind: str, seed: int, w: int, h: int) -> np.ndarray:
    """The (h, w, 3) background for (kind, seed): one of VARIANTS drawings, maybe mirrored.

    The result is shared and must not be modified in place.
    """
    key = (kind, seed % VARIANTS, w, h)
    image = _CACHE.get(key)
    if image is None:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        image = _CACHE[key] = make_background(kind, seed % VARIANTS, w, h)
        image.flags.writeable = False
    return cv2.flip(image, 1) if (seed // VARIANTS) % 2 else image
