"""Where in the crop a realism classifier tells two sets apart.

The two-sample test says how often; `by_group` says which images. This says what part of
an image carries the difference: the test is run again on *views* of both sets, each
keeping one kind of information and removing the rest the same way on both sides. A view
that still tells the sets apart about as well as the whole image holds what gives the
generated set away; one near 0.5 holds nothing that does.

Why these views: a plate crop is characters in a middle window, the plate's edges, frame
and the car around them, and a layout of bright and dark bands. Measured on kplate's
fitted set against real_dev (docs/evaluate.md, session 43), the edges alone and the fine
detail alone told the sets apart as often as the whole crop, and the characters alone
least often.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from kplate.evaluate.statistics import MIDDLE

#: The grey that replaces what a view removes (the same on both sides, so it tells nothing).
NEUTRAL = 128
#: `coarse` keeps the crop at this size (height, width) of the test's 48x160: the layout of
#: bright and dark, no strokes.
COARSE = (12, 40)
#: `fine` removes what a Gaussian of this sigma (pixels at 48x160) keeps: strokes, edges,
#: noise and compression, no shading.
FINE_SIGMA = 2.0


def _centre(image: np.ndarray) -> np.ndarray:
    out = np.full_like(image, NEUTRAL)
    out[MIDDLE] = image[MIDDLE]
    return out


def _edges(image: np.ndarray) -> np.ndarray:
    out = image.copy()
    out[MIDDLE] = NEUTRAL
    return out


def _coarse(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    small = cv2.resize(image, COARSE[::-1], interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _fine(image: np.ndarray) -> np.ndarray:
    values = image.astype(np.float32)
    detail = values - cv2.GaussianBlur(values, (0, 0), FINE_SIGMA) + NEUTRAL
    return np.clip(detail + 0.5, 0, 255).astype(np.uint8)


def _profiles(image: np.ndarray) -> np.ndarray:
    values = image.astype(np.float32)
    rows, columns = values.mean(1, keepdims=True), values.mean(0, keepdims=True)
    both = rows + columns - values.mean((0, 1), keepdims=True)
    return np.clip(both + 0.5, 0, 255).astype(np.uint8)


#: Each view: what it keeps (the report's words) and how it is made from one HxWx3 image.
VIEWS: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "centre": ("the middle window alone (mostly characters)", _centre),
    "edges": ("all but the middle window (plate edges, frame, surroundings)", _edges),
    "coarse": (f"the crop at {COARSE[0]}x{COARSE[1]} (layout and shading, no strokes)",
               _coarse),
    "fine": (f"detail finer than a Gaussian of sigma {FINE_SIGMA:g} px (strokes, edges, "
             "noise, no shading)", _fine),
    "profiles": ("the row and column means (where bright and dark bands lie)", _profiles),
}  # fmt: skip


def view_of(name: str, arrays: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 arrays seen through view `name`."""
    make = VIEWS[name][1]
    return np.stack([make(image) for image in arrays]) if len(arrays) else arrays.copy()


def view_tests(
    generated: np.ndarray,
    real: np.ndarray,
    run_test: Callable[[np.ndarray, np.ndarray], dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """{view: {keeps, accuracy, accuracies}}: `run_test` (a repeated two-sample test with
    the whole image's seeds and steps) on every view of both sets."""
    found = {}
    for name, (keeps, _) in VIEWS.items():
        test = run_test(view_of(name, generated), view_of(name, real))
        found[name] = {
            "keeps": keeps,
            "accuracy": test["accuracy"],
            "accuracies": test["accuracies"],
        }
    return found


def _ranked(views: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The views, the one that tells the sets apart most often first (ties by name)."""
    return sorted(views.items(), key=lambda item: (-item[1]["accuracy"], item[0]))


def view_rows(views: dict[str, dict[str, Any]], whole: float) -> list[list[Any]]:
    """The report's rows, most telling first, the whole image's accuracy beside each for
    scale."""
    return [[name, found["keeps"], f"{found['accuracy']:.3f}", f"{whole:.3f}"]
            for name, found in _ranked(views)]  # fmt: skip


def most_telling(views: dict[str, dict[str, Any]]) -> list[str]:
    """'view accuracy' phrases, the most telling view first."""
    return [f"{name} {found['accuracy']:.3f}" for name, found in _ranked(views)]
