"""Image statistics of a folder of crops, and how far apart two sets of them are.

Torch-free, so `kplate fit` can score hundreds of candidate configs cheaply. Every image is
squeezed to the realism classifier's 48x160 first (what the two-sample test sees), then
measured; the first four statistics are `realism.image_stats`'s own definitions (a test
keeps them equal). The distance of one statistic is the 1-Wasserstein distance between the
two sets' distributions (the mean gap between their quantiles), divided by the real set's
spread, so that every statistic counts alike whatever its unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from kplate.augment.critic import HEIGHT, WIDTH  # the realism classifier's input too
from kplate.augment.critic import squeeze as critic_input
from kplate.augment.legibility import MAD_TO_STD, NOISE_KERNEL  # Immerkaer's noise estimate

#: Where the plate sits in the crop, which the per-pixel statistics cannot see (a
#: classifier told kplate's crops from real ones by their row and column profiles and by
#: their border alone about as well as by the whole image: docs/evaluate.md, session 10).
LAYOUT = ("rows", "columns", "surround", "inner", "balance")
#: The statistics of one image, in the order reports show them.
STATS = (
    "brightness", "contrast", "sharpness", "detail", "noise", "black", "white", "saturation",
    "grey", *LAYOUT,
)  # fmt: skip
#: Those the fit matches: all but `sharpness`, which mixes blur with contrast (a dark,
#: flat crop has a small Laplacian however sharp it is); `detail` is sharpness per
#: contrast, so blur is matched as blur and contrast as contrast.
FITTED = tuple(name for name in STATS if name != "sharpness")
#: Statistics compared on a log scale (they spread over orders of magnitude).
LOG_STATS = frozenset({"sharpness", "detail", "noise"})
#: A crop counts as greyscale when its channels differ by less than this on average (of 1).
GREY_LIMIT = 2.0 / 255
#: Quantile levels at which two distributions are compared (their mean gap is W1).
QUANTILES = np.linspace(0.01, 0.99, 50)
#: The border band (rows top and bottom, columns left and right) and the middle window
#: at 48x160: the band is mostly surround in a tight crop, the window mostly characters.
BORDER_ROWS, BORDER_COLUMNS = 6, 10
MIDDLE = (slice(12, 36), slice(20, 140))
#: Rows at the top and at the bottom compared by `balance`.
BALANCE_ROWS = 12


def squeeze(image: np.ndarray) -> np.ndarray:
    """An RGB uint8 image at the fixed 48x160, as the realism test resizes it (and the
    realism critic, which shares the function)."""
    return critic_input(image)


def image_statistics(arrays: np.ndarray) -> dict[str, np.ndarray]:
    """Per-image statistics of (N, 48, 160, 3) uint8 arrays (values of 1 = full scale).

    brightness: mean grey; contrast: grey std; sharpness: variance of the Laplacian;
    detail: that variance over the grey variance (blur, whatever the contrast); noise: std of sensor noise (Immerkaer's median estimate); black and white: the 5th and
    95th grey percentile (lifted blacks, glow); saturation: mean HSV saturation; grey: 1
    for a greyscale crop (an IR camera's), 0 for colour; and `layout_statistics`.
    """
    rgb = arrays.astype(np.float32) / 255
    grey = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    laplacian = (
        grey[:, :-2, 1:-1] + grey[:, 2:, 1:-1] + grey[:, 1:-1, :-2] + grey[:, 1:-1, 2:]
        - 4 * grey[:, 1:-1, 1:-1]
    )  # fmt: skip
    high, low = rgb.max(-1), rgb.min(-1)
    saturation = np.where(high > 1e-6, (high - low) / np.maximum(high, 1e-6), 0.0)
    noise = np.array(
        [
            np.median(np.abs(cv2.filter2D(g, -1, NOISE_KERNEL)[1:-1, 1:-1])) / (6 * MAD_TO_STD)
            for g in grey
        ],
        dtype=np.float32,
    )
    channel_gap = np.abs(rgb - rgb[..., [1, 2, 0]]).mean((1, 2, 3))
    flat = grey.reshape(len(grey), -1)
    contrast, sharpness = grey.std((1, 2)), laplacian.var((1, 2))
    return {
        "brightness": grey.mean((1, 2)),
        "contrast": contrast,
        "sharpness": sharpness,
        "detail": sharpness / np.maximum(contrast**2, 1e-4),
        "noise": noise,
        "black": np.percentile(flat, 5, axis=1),
        "white": np.percentile(flat, 95, axis=1),
        "saturation": saturation.mean((1, 2)),
        "grey": (channel_gap < GREY_LIMIT).astype(np.float32),
        **layout_statistics(grey),
    }


def layout_statistics(grey: np.ndarray) -> dict[str, np.ndarray]:
    """Where the plate sits, from (N, 48, 160) grey in [0, 1].

    rows and columns: the spread of the row (column) means over the grey spread (a bright
    plate band between dark surround gives a strong row profile); surround: the border
    band's mean grey minus the middle window's; inner: the grey spread inside the middle
    window (the characters against the plate); balance: the top rows' mean grey minus the
    bottom rows'.
    """
    count = len(grey)
    grey_spread = np.maximum(grey.std((1, 2)), 1e-3)
    border = np.concatenate(
        [
            grey[:, :BORDER_ROWS].reshape(count, -1),
            grey[:, -BORDER_ROWS:].reshape(count, -1),
            grey[:, BORDER_ROWS:-BORDER_ROWS, :BORDER_COLUMNS].reshape(count, -1),
            grey[:, BORDER_ROWS:-BORDER_ROWS, -BORDER_COLUMNS:].reshape(count, -1),
        ],
        axis=1,
    )
    middle = grey[:, MIDDLE[0], MIDDLE[1]].reshape(count, -1)
    return {
        "rows": grey.mean(2).std(1) / grey_spread,
        "columns": grey.mean(1).std(1) / grey_spread,
        "surround": border.mean(1) - middle.mean(1),
        "inner": middle.std(1),
        "balance": grey[:, :BALANCE_ROWS].mean((1, 2)) - grey[:, -BALANCE_ROWS:].mean((1, 2)),
    }


def _scaled(name: str, values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.log10(np.maximum(values, 1e-6)) if name in LOG_STATS else values


def spread(name: str, real: np.ndarray) -> float:
    """The unit a statistic's distance is measured in: the real set's standard deviation
    (of the log for LOG_STATS), floored so a constant real statistic does not divide by 0."""
    return max(float(_scaled(name, real).std()), 0.02)


def distances(
    generated: Mapping[str, np.ndarray],
    real: Mapping[str, np.ndarray],
    scales: Mapping[str, float] | None = None,
    names: Sequence[str] = FITTED,
) -> dict[str, float]:
    """Per statistic: the 1-Wasserstein distance between the two sets, in real spreads."""
    out = {}
    for name in names:
        gen_q = np.quantile(_scaled(name, generated[name]), QUANTILES)
        real_q = np.quantile(_scaled(name, real[name]), QUANTILES)
        scale = scales[name] if scales is not None else spread(name, real[name])
        out[name] = float(np.abs(gen_q - real_q).mean() / scale)
    return out


def objective(distance: Mapping[str, float]) -> float:
    """The mean of the per-statistic distances: 0 when every distribution matches."""
    return float(np.mean(list(distance.values())))


def summary(values: np.ndarray) -> dict[str, float]:
    """Median and 5th/95th percentile (and the mean, which for `grey` is the share)."""
    values = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(values.mean()),
        "p5": float(np.percentile(values, 5)),
        "median": float(np.median(values)),
        "p95": float(np.percentile(values, 95)),
    }


def shape_statistics(sizes: Sequence[tuple[int, int]]) -> dict[str, np.ndarray]:
    """Aspect ratio (width / height) and height in pixels of each crop as it was, before the
    squeeze; augmentation keeps the generator's image size, so these follow the plate types
    and `--height`, and are reported, not fitted."""
    array = np.asarray(sizes, dtype=np.float64).reshape(-1, 2)
    return {"aspect": array[:, 0] / array[:, 1], "height": array[:, 1]}


def read_folder(paths: Sequence[Path]) -> tuple[np.ndarray, list[tuple[int, int]], int]:
    """(squeezed RGB arrays, original (width, height) sizes, unreadable count) of images."""
    from kplate.evaluate.data import open_image

    arrays, sizes, skipped = [], [], 0
    for path in paths:
        image = open_image(path, "RGB")
        if image is None:
            skipped += 1
            continue
        sizes.append(image.size)
        arrays.append(squeeze(np.asarray(image)))
    stacked = np.stack(arrays) if arrays else np.zeros((0, HEIGHT, WIDTH, 3), dtype=np.uint8)
    return stacked, sizes, skipped
