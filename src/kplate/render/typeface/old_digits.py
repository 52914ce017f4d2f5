"""The older plate digits: a round grotesque drawn as strokes, for plates made before 2006.

The notice's drawings (2018) give condensed digits with straight, open tails. Plates made
before the 2006 typeface (the green plates of 1973-2006 and the old two-row regional
construction plates) show another face in real_dev's crops: rounder, monoline digits
whose 6 and 9 end in curls that turn back toward the bowl, a 3 of two round bowls, an
oval 0. No drawing of that face exists in ``../shared/spec``, so it is drawn here as
centre-lines stroked with a round pen (docs/typeface.md, "The older digits"): each digit
is a few arcs, curves and lines in a unit box whose edges are the stroke's centre, so the
ink fills whatever box the plate's layout gives, with the stroke's weight a share of the
box's height. Only the two-row regional construction plates take it: drawn on the old
green plates too, it did not help a reader with real ones (docs/typeface.md).
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from kplate.render.typeface import DIGITS, supersampling

#: Stroke width as a share of the digit's height (the notice's digits: 9.5 of 74 mm).
STROKE = 0.13

Path = np.ndarray  # (n, 2) points (u, v) in the unit box, v downwards
_STEPS = 48


def _arc(cu: float, cv: float, ru: float, rv: float, start: float, end: float) -> Path:
    """Points on an ellipse from angle `start` to `end` (degrees; 0 right, 90 down)."""
    t = np.radians(np.linspace(start, end, _STEPS))
    return np.stack([cu + ru * np.cos(t), cv + rv * np.sin(t)], axis=1)


def _curve(*points: tuple[float, float]) -> Path:
    """A cubic Bézier through its four control points."""
    p = np.asarray(points, np.float64)
    t = np.linspace(0.0, 1.0, _STEPS)[:, None]
    return (
        (1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t**2 * p[2] + t**3 * p[3]
    )


def _line(*points: tuple[float, float]) -> Path:
    return np.asarray(points, np.float64)


def _joined(*parts: Path) -> Path:
    return np.concatenate(parts, axis=0)


def _six() -> list[Path]:
    bowl = _arc(0.5, 0.69, 0.5, 0.31, 0, 360)
    # The left side rises from the bowl and curls over the top toward the right, ending
    # turned down: the "nearly closed" curl of the old face.
    spine = _joined(_line((0.0, 0.69), (0.0, 0.5)), _arc(0.5, 0.5, 0.5, 0.5, 180, 332))
    return [bowl, spine]


def _rotated(paths: list[Path]) -> list[Path]:
    return [1.0 - p for p in paths]


@cache
def _paths(char: str) -> tuple[Path, ...]:
    shapes: dict[str, list[Path]] = {
        "0": [_arc(0.5, 0.5, 0.5, 0.5, 0, 360)],
        "1": [_line((0.62, 1.0), (0.62, 0.0), (0.0, 0.2))],
        "2": [
            _joined(
                _arc(0.5, 0.27, 0.5, 0.27, 195, 360),
                _curve((1.0, 0.27), (1.0, 0.5), (0.2, 0.62), (0.0, 1.0)),
                _line((0.0, 1.0), (1.0, 1.0)),
            )
        ],
        "3": [
            _arc(0.48, 0.25, 0.44, 0.25, 190, 450),
            _line((0.34, 0.5), (0.48, 0.5)),
            _arc(0.5, 0.75, 0.5, 0.25, 270, 520),
        ],
        "4": [_line((0.72, 1.0), (0.72, 0.0), (0.0, 0.7), (1.0, 0.7))],
        "5": [
            _joined(
                _line((0.95, 0.0), (0.1, 0.0), (0.04, 0.47)),
                _curve((0.04, 0.47), (0.3, 0.33), (1.0, 0.33), (1.0, 0.68)),
                _curve((1.0, 0.68), (1.0, 1.05), (0.2, 1.08), (0.0, 0.8)),
            )
        ],
        "6": _six(),
        "7": [
            _joined(
                _line((0.0, 0.0), (1.0, 0.0)),
                _curve((1.0, 0.0), (0.6, 0.4), (0.38, 0.7), (0.34, 1.0)),
            )
        ],
        "8": [_arc(0.5, 0.255, 0.43, 0.255, 0, 360), _arc(0.5, 0.745, 0.5, 0.255, 0, 360)],
        "9": _rotated(_six()),
    }
    paths = shapes[char]
    # Stretched to the unit box, so that the ink meets every side of the layout's box.
    points = np.concatenate(paths)
    low, span = points.min(axis=0), np.ptp(points, axis=0)
    return tuple((p - low) / span for p in paths)


def has(char: str) -> bool:
    return len(char) == 1 and char in DIGITS


def coverage(char: str, width_px: int, height_px: int, supersample: int = 4) -> np.ndarray:
    """Antialiased float32 coverage (height_px, width_px) of `char`, ink filling the box."""
    ss = supersampling(width_px, height_px, supersample)
    big_w, big_h = width_px * ss, height_px * ss
    pen = max(1.0, STROKE * big_h)
    # The unit box's edges are the pen's centre; a pen wider than the box (a narrow "1")
    # is centred instead.
    inset_x, inset_y = min(pen / 2, big_w / 2), pen / 2
    span = np.array([big_w - 2 * inset_x, big_h - 2 * inset_y])
    shift = 4
    canvas = np.zeros((big_h, big_w), np.uint8)
    polylines = [
        ((p * span + (inset_x, inset_y) - 0.5) * (1 << shift)).round().astype(np.int32)
        for p in _paths(char)
    ]
    cv2.polylines(
        canvas, polylines, False, 255, thickness=round(pen), lineType=cv2.LINE_8, shift=shift
    )
    small = cv2.resize(canvas, (width_px, height_px), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255.0
