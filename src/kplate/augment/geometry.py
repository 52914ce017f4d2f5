"""Geometric effects as one exactly known homography, so boxes move with the pixels.

Coordinates are pixel *edges* (the record's convention: a box [x0, x1) spans x0..x1);
OpenCV samples at pixel centres, so `cv_matrix` shifts by half a pixel on both sides.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from kplate.render.record import CharBox, PlateRecord

#: Neutral values: what an effect that did not fire contributes.
NEUTRAL = {
    "rotate": {"deg": 0.0},
    "shear": {"deg": 0.0},
    "perspective": {"amount": 0.0, "corners": [0.0] * 8},
    "scale": {"factor": 1.0},
    "translate": {"x": 0.0, "y": 0.0},
    "margin": {"x": [0.0, 0.0], "y": [0.0, 0.0]},
}


def _get(params: dict[str, Any], effect: str) -> dict[str, Any]:
    return params.get(effect) or NEUTRAL[effect]


def homography(geometry: dict[str, Any], src_size: tuple[int, int], out_size: tuple[int, int]):
    """The 3x3 matrix (pixel-edge coordinates) that maps the clean plate into the output.

    Built from where the plate's four corners land: perspective jitter, then rotation,
    shear and scale about the plate centre, translation, and finally the crop margin,
    which fits plate plus margin into `out_size`. (Scalar arithmetic: on four points,
    numpy's per-call overhead would cost more than the maths.)
    """
    w0, h0 = src_size
    out_w, out_h = out_size
    unit = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
    perspective = geometry.get("perspective")
    jitter = perspective["corners"] if perspective else (0.0,) * 8
    rot = math.radians(_get(geometry, "rotate")["deg"])
    shear = math.tan(math.radians(_get(geometry, "shear")["deg"]))
    s = _get(geometry, "scale")["factor"]
    # y points down in images, so a counter-clockwise turn on screen is this matrix;
    # times the shear [[1, shear], [0, 1]] and the scale.
    cos, sin = math.cos(rot), math.sin(rot)
    a, b = s * cos, s * (cos * shear + sin)
    c, d = -s * sin, s * (cos - sin * shear)
    move = _get(geometry, "translate")
    margin = _get(geometry, "margin")
    (left, right), (top, bottom) = margin["x"], margin["y"]
    cx, cy = w0 * (left + 0.5 + move["x"]), h0 * (top + 0.5 + move["y"])
    fx, fy = out_w / (w0 * (1 + left + right)), out_h / (h0 * (1 + top + bottom))
    dst = []
    for i, (u, v) in enumerate(unit):
        x = (u - 0.5 + jitter[2 * i]) * w0
        y = (v - 0.5 + jitter[2 * i + 1]) * h0
        dst.append(((a * x + b * y + cx) * fx, (c * x + d * y + cy) * fy))
    src = np.array([(u * w0, v * h0) for u, v in unit], np.float32)
    return cv2.getPerspectiveTransform(src, np.array(dst, np.float32))


def cv_matrix(matrix: np.ndarray) -> np.ndarray:
    """The same map for OpenCV, whose integer coordinates are pixel centres."""
    to_edges = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])
    to_centres = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]])
    return to_centres @ matrix @ to_edges


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a homography to an (N, 2) array of points."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    mapped = pts @ matrix[:, :2].T + matrix[:, 2]
    return mapped[:, :2] / mapped[:, 2:3]


def _box_corners(box: tuple[int, int, int, int]) -> list[tuple[float, float]]:
    x0, y0, x1, y1 = box
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def char_corners(record: PlateRecord) -> np.ndarray:
    """(chars, 4, 2) corners of every char: its quad when it has one, else its box."""
    corners = [c.quad if c.quad is not None else _box_corners(c.box) for c in record.chars]
    return np.asarray(corners, np.float64).reshape(-1, 4, 2)


def fits(matrix: np.ndarray, record: PlateRecord | np.ndarray, out_size: tuple[int, int]) -> bool:
    """True when every char's transformed quad lies inside the output image.

    `record` may be given as its `char_corners`, computed once for many tries.
    """
    corners = record if isinstance(record, np.ndarray) else char_corners(record)
    corners = corners.reshape(-1, 2)
    if not len(corners):
        return True
    mapped = corners @ matrix[:, :2].T + matrix[:, 2]
    if mapped[:, 2].min() <= 1e-6:  # a corner behind the camera
        return False
    xy = mapped[:, :2] / mapped[:, 2:3]
    eps = 1e-6
    return bool(xy.min() >= -eps and (xy.max(axis=0) <= np.asarray(out_size) + eps).all())


def transform_record(
    record: PlateRecord,
    matrix: np.ndarray,
    out_size: tuple[int, int],
    corners: np.ndarray | None = None,
) -> PlateRecord:
    """The record after the warp: char quads, their integer bounds and the plate quad.

    `corners` may pass the record's `char_corners`, when the caller already has them.
    """
    out_w, out_h = out_size
    if corners is None:
        corners = char_corners(record)
    n = len(record.chars)
    points = np.concatenate(
        (corners.reshape(-1, 2), np.asarray(record.plate_quad, np.float64).reshape(-1, 2))
    )
    mapped_all = transform_points(matrix, points)
    mapped = mapped_all[: 4 * n].reshape(-1, 4, 2)
    # Integer bounds: floor/ceil (with a hair of tolerance for float noise), clipped.
    limit = np.array([out_w, out_h])
    lo = np.clip(np.floor(mapped.min(axis=1) + 1e-6), 0, limit).astype(int).tolist()
    hi = np.clip(np.ceil(mapped.max(axis=1) - 1e-6), 0, limit).astype(int).tolist()
    quads = mapped.tolist()
    chars = tuple(
        CharBox(c.char, (a[0], a[1], b[0], b[1]), tuple(map(tuple, q)))  # type: ignore[arg-type]
        for c, a, b, q in zip(record.chars, lo, hi, quads, strict=True)
    )
    return PlateRecord(
        text=record.text,
        plate_type=record.plate_type,
        width=out_w,
        height=out_h,
        fields=dict(record.fields),
        chars=chars,
        plate_quad=tuple(map(tuple, mapped_all[4 * n :].tolist())),  # type: ignore[arg-type]
        extra=dict(record.extra),
    )


def warp_onto(image: np.ndarray, matrix: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Warp the plate onto the background (both RGB uint8), with anti-aliased edges.

    One warp of RGBA with a zero border gives premultiplied colour plus coverage, so
    the composite is `warped + background * (1 - alpha)`: no masks, no float images.
    """
    out_h, out_w = background.shape[:2]
    rgba = cv2.cvtColor(image, cv2.COLOR_RGB2RGBA)
    warped = cv2.warpPerspective(rgba, cv_matrix(matrix), (out_w, out_h), flags=cv2.INTER_LINEAR)
    rest = cv2.cvtColor(255 - warped[..., 3], cv2.COLOR_GRAY2RGB)
    behind = cv2.multiply(background, rest, scale=1.0 / 255.0)
    return cv2.add(cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB), behind)


def apply_geometry(
    array: np.ndarray, params: dict[str, Any], *, interpolation: int = cv2.INTER_LINEAR
) -> np.ndarray:
    """Warp any array the size of the clean plate (an ink mask, say) exactly as the image.

    `params` is the dict an augmenter returned (or its "geometry" part plus
    "output_size"); outside the plate the result is 0.
    """
    geometry = params.get("geometry", params)
    out_w, out_h = params["output_size"]
    src = (array.shape[1], array.shape[0])
    matrix = homography(geometry, src, (out_w, out_h))
    return cv2.warpPerspective(array, cv_matrix(matrix), (out_w, out_h), flags=interpolation)
