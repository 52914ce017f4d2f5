"""Per-crop image statistics on a common footing, to compare generated and real crops.

Real crops come at any size (real_dev's IR crops are 47-178 px high) and generated ones
at the run's `--height`, so each statistic is taken where it means the same thing:

- at the crop's **native** size: its size, clipping, sensor noise and interlacing
  (these are properties of the camera's pixels, and resizing would wash them out);
- on the crop **normalised** to `NORM_HEIGHT` px high (aspect kept, area-averaged), as a
  recogniser sees it: brightness, contrast, sharpness, noise, and the plate's share of
  the crop (estimated from the bright plate region, since real crops carry no quad).

Everything is greyscale (BT.601 luma), values as fractions of 255. numpy and OpenCV
only, so a test or a fitting loop can call it without torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import cv2
import numpy as np

#: Crops are normalised to this height (the recogniser's input height) for the shape-free
#: statistics.
NORM_HEIGHT = 32
#: Grey levels at or below / at or above these count as clipped black / white.
BLACK_LEVEL, WHITE_LEVEL = 8, 247
#: An image whose channels differ by at most this much everywhere counts as greyscale.
GREY_TOLERANCE = 8
#: Statistic name -> what it measures (docs/ir.md shows this table).
STATS: dict[str, str] = {
    "height": "crop height, native pixels",
    "aspect": "crop width / height",
    "clip_black": f"fraction of native pixels <= {BLACK_LEVEL}",
    "clip_white": f"fraction of native pixels >= {WHITE_LEVEL}",
    "noise": "sensor noise sigma at native size (mean |second-difference residual| in "
    "the flatter half), fraction of 255",
    "comb": "interlacing: other-field / own-field row prediction error, over the same "
    "along columns, native (1 = none; offset fields raise it)",
    "brightness": f"mean grey at height {NORM_HEIGHT}, fraction of 255",
    "p5": "5th percentile grey (lifted blacks raise it)",
    "p95": "95th percentile grey",
    "contrast": "p95 - p5",
    "std": "standard deviation of grey",
    "sharpness": "variance of the Laplacian (grey 0..1)",
    "gradient": "mean squared Sobel gradient magnitude (grey 0..1)",
    "acutance": "mean |gradient| / contrast (sharpness free of contrast)",
    "noise_norm": f"noise sigma at height {NORM_HEIGHT}",
    "plate_h": "estimated plate height / crop height (bright region)",
    "plate_w": "estimated plate width / crop width",
    "plate_contrast": "p95 - p5 inside the estimated plate box (ink against plate)",
}


def to_grey(image: np.ndarray) -> np.ndarray:
    """uint8 luma of an (H, W) or (H, W, 3) RGB uint8 array."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)


def is_greyscale(image: np.ndarray, tolerance: int = GREY_TOLERANCE) -> bool:
    """True when every pixel's channels agree within `tolerance` (an IR or mono camera;
    a colour camera at night still separates its channels by more)."""
    if image.ndim == 2 or image.shape[2] == 1:
        return True
    rgb = image[..., :3].astype(np.int16)
    spread = rgb.max(axis=2) - rgb.min(axis=2)
    return int(spread.max()) <= tolerance


def normalise(grey: np.ndarray, height: int = NORM_HEIGHT) -> np.ndarray:
    """The crop at `height` px, aspect kept: area-averaged when shrinking, linear when
    enlarging (as a recogniser's resize would)."""
    h, w = grey.shape
    width = max(2, round(w * height / h))
    interpolation = cv2.INTER_AREA if h >= height else cv2.INTER_LINEAR
    return cv2.resize(grey, (width, height), interpolation=interpolation)


def noise_sigma(grey: np.ndarray) -> float:
    """Noise sigma (fraction of 255), after Immerkaer: the residual of the 3x3 kernel
    [[1,-2,1],[-2,4,-2],[1,-2,1]] / 6 (zero on flat and sloped areas, std = sigma on white
    noise), its mean absolute value * sqrt(pi/2) over the flatter half of the image so
    edges do not count (a mean, not a median: 8-bit residuals are too coarse for a MAD)."""
    g = grey.astype(np.float32)
    if min(g.shape) < 5:
        return 0.0
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32) / 6.0
    residual = cv2.filter2D(g, -1, kernel, borderType=cv2.BORDER_REFLECT)[1:-1, 1:-1]
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)[1:-1, 1:-1]
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)[1:-1, 1:-1]
    magnitude = np.abs(gx) + np.abs(gy)
    flat = magnitude <= np.median(magnitude)
    values = residual[flat]
    if values.size == 0:
        return 0.0
    return float(np.sqrt(np.pi / 2) * np.abs(values).mean() / 255.0)


def _field_ratio(g: np.ndarray) -> float:
    """mean |g[y] - (g[y-1] + g[y+1]) / 2| over mean |g[y] - (g[y-2] + g[y+2]) / 2|.

    The first predicts a row from the other field, the second from its own field. An
    alternate-line pattern (gain 2 vs 0) raises the ratio; an edge or white noise gives
    1 for both, smooth content less than 1.
    """
    near = np.abs(g[2:-2] - (g[1:-3] + g[3:-1]) / 2).mean()
    far = np.abs(g[2:-2] - (g[:-4] + g[4:]) / 2).mean()
    return float(near / max(far, 1e-6))


def comb_ratio(grey: np.ndarray) -> float:
    """Interlacing: the field ratio across rows over the same along columns, so blur and
    noise (which act alike in x and y) cancel; 1 = no combing, above 1 = fields offset."""
    g = grey.astype(np.float32)
    if min(g.shape) < 6:
        return 1.0
    return _field_ratio(g) / max(_field_ratio(np.ascontiguousarray(g.T)), 1e-6)


def plate_box(norm: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the plate as the largest bright region (Otsu on a smoothed
    crop, closed across character strokes), or None when no region stands out. IR
    plates glow against a darker car, so this finds them in most crops; a plate darker
    than its surround is missed (the estimate is then the bright surround's box)."""
    h, w = norm.shape
    smooth = cv2.GaussianBlur(norm, (0, 0), 1.0)
    _, mask = cv2.threshold(smooth, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, h // 4) | 1, max(3, h // 4) | 1))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    count, _, boxes, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    if count <= 1:
        return None
    areas = boxes[1:, cv2.CC_STAT_AREA]
    best = 1 + int(np.argmax(areas))
    x, y, bw, bh = (int(v) for v in boxes[best, :4])
    if areas[best - 1] < 0.05 * h * w:
        return None
    return x, y, x + bw, y + bh


def crop_stats(image: np.ndarray) -> dict[str, float]:
    """Every statistic in STATS for one crop (RGB or grey uint8 array)."""
    grey = to_grey(image)
    h, w = grey.shape
    out: dict[str, float] = {
        "height": float(h),
        "aspect": w / h,
        "clip_black": float((grey <= BLACK_LEVEL).mean()),
        "clip_white": float((grey >= WHITE_LEVEL).mean()),
        "noise": noise_sigma(grey),
        "comb": comb_ratio(grey),
    }
    norm = normalise(grey)
    g = norm.astype(np.float32) / 255.0
    p5, p95 = (float(v) for v in np.percentile(g, [5, 95]))
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    laplacian = cv2.Laplacian(g, cv2.CV_32F, ksize=1)[1:-1, 1:-1]
    contrast = p95 - p5
    out.update(
        brightness=float(g.mean()),
        p5=p5,
        p95=p95,
        contrast=contrast,
        std=float(g.std()),
        sharpness=float(laplacian.var()),
        gradient=float((gx**2 + gy**2).mean()),
        acutance=float(np.sqrt(gx**2 + gy**2).mean() / max(contrast, 0.02)),
        noise_norm=noise_sigma(norm),
    )
    box = plate_box(norm)
    if box is None:
        out.update(plate_h=1.0, plate_w=1.0, plate_contrast=contrast)
    else:
        x0, y0, x1, y1 = box
        inside = g[y0:y1, x0:x1]
        lo, hi = np.percentile(inside, [5, 95])
        out.update(
            plate_h=(y1 - y0) / norm.shape[0],
            plate_w=(x1 - x0) / norm.shape[1],
            plate_contrast=float(hi - lo),
        )
    return out


def summarise(rows: Sequence[dict[str, float]], names: Iterable[str] = STATS) -> dict[str, Any]:
    """{stat: {median, p10, p90}} over per-crop rows, plus the count."""
    out: dict[str, Any] = {"count": len(rows)}
    for name in names:
        values = np.array([row[name] for row in rows if name in row], dtype=np.float64)
        if values.size == 0:
            continue
        p10, median, p90 = np.percentile(values, [10, 50, 90])
        out[name] = {"median": float(median), "p10": float(p10), "p90": float(p90)}
    return out
