"""Does a translation keep the characters? Edge maps of input and output, compared.

A generator that keeps the plate's text keeps its strokes' edges where they were; one
that erases, blurs away or invents characters does not. The score is the Pearson
correlation of the two Sobel edge-magnitude maps inside the character boxes (the whole
image when boxes are unknown): about 1 for a faithful translation, near 0 for a
generator that has lost the text.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def edge_map(image: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude of the greyscale image, slightly smoothed against noise."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    gray = cv2.GaussianBlur(gray.astype(np.float32), (3, 3), 0)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.magnitude(gx, gy)


def box_mask(shape: tuple[int, int], boxes: Sequence[Sequence[int]] | None) -> np.ndarray:
    """True inside any character box (clipped to the image); everywhere when no boxes."""
    h, w = shape
    if not boxes:
        return np.ones((h, w), bool)
    mask = np.zeros((h, w), bool)
    for x0, y0, x1, y1 in boxes:
        mask[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)] = True
    return mask if mask.any() else np.ones((h, w), bool)


def edge_correlation(
    source: np.ndarray, translated: np.ndarray, boxes: Sequence[Sequence[int]] | None = None
) -> float:
    """Correlation in [-1, 1] of the edge maps inside the boxes; 0 if either is flat."""
    if source.shape[:2] != translated.shape[:2]:
        raise ValueError("source and translated images must have the same size")
    mask = box_mask(source.shape[:2], boxes)
    a = edge_map(source)[mask].astype(np.float64)
    b = edge_map(translated)[mask].astype(np.float64)
    a -= a.mean()
    b -= b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    if denominator < 1e-9:
        return 0.0
    return float((a * b).sum() / denominator)
