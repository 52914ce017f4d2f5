"""Stroke weight of old green plates: real crops against kplate's through the cctv chain.

Stroke / height (2 x area / perimeter over the component height) of every light-ink
component of the Otsu mask at 3x upsampling whose height is 0.2-0.7 of the crop's, the
median over all of them. Real side: real_dev's `private_2digit` and old green crops that
are squarer than 2.7 (two-row plates) with most of the plate darker than its Otsu
threshold (light ink on a dark plate). kplate side: 150 `green_national` plates drawn
at 110 px and given the cctv preset. Prints one line per side; reads real crops, writes
nothing (docs/plate-types.md, "The old green plates' lighter typeface").

    python tools/measure_old_green_strokes.py [--real ../shared/data/real_dev]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kplate.augment import build_augmenter  # noqa: E402
from kplate.numbers import sample  # noqa: E402
from kplate.render import render_plate  # noqa: E402
from kplate.render.glyphs import _stroke_px  # noqa: E402
from kplate.spec import PlateType  # noqa: E402

TWO_ROW_ASPECT = 2.7
PLATES = 150


def stroke_ratios(grey: np.ndarray) -> list[float]:
    """Stroke / height of each light-ink, glyph-sized component of one crop."""
    big = cv2.resize(grey, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    _, mask = cv2.threshold(big, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    ratios = []
    for i in range(1, count):
        x, y, w, h, _ = stats[i]
        if not 0.2 * big.shape[0] < h < 0.7 * big.shape[0]:
            continue
        ratios.append(_stroke_px((labels[y : y + h, x : x + w] == i).astype(np.float32)) / h)
    return ratios


def light_ink_two_row(grey: np.ndarray) -> bool:
    h, w = grey.shape
    if w / h >= TWO_ROW_ASPECT:
        return False
    middle = grey[h // 4 : 3 * h // 4, w // 8 : 7 * w // 8]
    threshold, _ = cv2.threshold(middle, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return bool((middle > threshold).mean() <= 0.5)


def real_side(real: Path) -> tuple[int, list[float]]:
    crops, ratios = 0, []
    with open(real / "labels.csv", encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            style = row.get("style", "")
            if not (style.startswith("private_2digit") or "old_green" in style):
                continue
            grey = cv2.imread(str(real / row["file"]), cv2.IMREAD_GRAYSCALE)
            if grey is not None and light_ink_two_row(grey):
                crops += 1
                ratios += stroke_ratios(grey)
    return crops, ratios


def kplate_side() -> list[float]:
    numbers, augmenter, ratios = random.Random(0), build_augmenter("cctv"), []
    for i in range(PLATES):
        plate = render_plate(
            sample(PlateType.GREEN_NATIONAL, numbers), "green_national", height=110
        )
        image, _, _ = augmenter(plate.image, plate.record, np.random.default_rng(i))
        ratios += stroke_ratios(cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2GRAY))
    return ratios


def line(name: str, ratios: list[float]) -> str:
    q1, median, q3 = np.percentile(ratios, [25, 50, 75])
    return f"{name}: {len(ratios)} glyphs, stroke/height {median:.3f} (IQR {q1:.3f}-{q3:.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=REPO.parent / "shared/data/real_dev")
    args = parser.parse_args()
    if (args.real / "labels.csv").exists():
        crops, ratios = real_side(args.real)
        print(line(f"real_dev ({crops} crops)", ratios))
    print(line(f"kplate green_national ({PLATES} plates, cctv)", kplate_side()))


if __name__ == "__main__":
    main()
