"""Measure where the plate sits inside a crop: margins (fractions of plate size) and tilt.

python tools/measure_crop_margins.py --real ../shared/data/real_dev
    # margins of real crops, split IR (greyscale) / colour: a markdown table
python tools/measure_crop_margins.py --preset cctv --count 300
    # the same measure on kplate images, by the heuristic and from the recorded quad
    # (the difference is the heuristic's error, since kplate knows where its plate is)
python tools/measure_crop_margins.py --real DIR --debug /tmp/found
    # crops with the found plate drawn, to judge the heuristic by eye (never commit them)

The plate is found by colour: the plate's own colour is the commonest class in the
crop's centre (Otsu splits ink from plate there), pixels close to it are closed over the
ink and the border line, and the connected region holding the centre, hole-filled, is
the plate; its minimum-area rectangle gives the tilt and its axis-aligned bounds give
the margins. A plate cut by the crop's edge touches it: its margin there is 0 and the
crop counts as `cut`. numbers in docs/crops.md come from this script.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

#: Crops are brought to this height before searching, so kernel sizes mean the same.
WORK_HEIGHT = 96
#: Largest mean channel spread (grey levels) of a crop counted as greyscale (IR).
GREY_SPREAD = 6.0
PERCENTILES = (5, 25, 50, 75, 95)


@dataclass(frozen=True)
class Found:
    """Plate position in a crop: margins as fractions of plate width/height, tilt in deg."""

    left: float
    right: float
    top: float
    bottom: float
    tilt: float
    cut: bool
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in crop pixels
    rect: tuple  # cv2.minAreaRect in crop pixels


def is_grey(rgb: np.ndarray) -> bool:
    """True for a greyscale (IR) crop: channels differ by a few levels at most on average."""
    a = rgb.astype(np.int16)
    spread = np.abs(a[..., 0] - a[..., 1]) + np.abs(a[..., 1] - a[..., 2])
    return float(spread.mean()) <= GREY_SPREAD


def find_plate(rgb: np.ndarray) -> Found | None:
    """The plate's position in an RGB crop, or None when no plate-like region is found."""
    h0, w0 = rgb.shape[:2]
    k = WORK_HEIGHT / h0
    w, h = max(8, round(w0 * k)), WORK_HEIGHT
    small = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(cv2.GaussianBlur(small, (3, 3), 0), cv2.COLOR_RGB2LAB).astype(np.float32)
    grey = lab[..., 0].astype(np.uint8)
    centre = grey[int(h * 0.3) : int(h * 0.7), int(w * 0.3) : int(w * 0.7)]
    cut, _ = cv2.threshold(centre, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = centre > cut
    plate_bright = bright.mean() >= 0.5
    plate_side = bright if plate_bright else ~bright
    core = lab[int(h * 0.3) : int(h * 0.7), int(w * 0.3) : int(w * 0.7)]
    plate_colour = np.median(core[plate_side], axis=0)
    ink_colour = np.median(core[~plate_side], axis=0) if (~plate_side).any() else plate_colour
    gap = float(np.linalg.norm(plate_colour - ink_colour))
    limit = float(np.clip(0.5 * gap, 10.0, 45.0))
    distance = np.linalg.norm(lab - plate_colour, axis=2)
    mask = (distance < limit).astype(np.uint8) * 255
    # Close over the ink (strokes ~ h/8 wide) and the border line.
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, h // 6) | 1, max(3, h // 6) | 1))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    count, labels = cv2.connectedComponents(mask)
    if count < 2:
        return None
    centre_labels = labels[int(h * 0.4) : int(h * 0.6), int(w * 0.4) : int(w * 0.6)]
    votes = np.bincount(centre_labels.ravel(), minlength=count)
    votes[0] = 0
    best = int(votes.argmax())
    if votes[best] == 0:
        return None
    region = (labels == best).astype(np.uint8)
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(np.concatenate(contours))
    rect = cv2.minAreaRect(hull)
    (cx, cy), (rw, rh), angle = rect
    if rw < rh:
        rw, rh = rh, rw
        angle += 90
    tilt = (angle + 90) % 180 - 90
    x, y, bw, bh = cv2.boundingRect(hull)
    if rw < 0.3 * w or rh < 0.3 * h:
        return None
    touch = x <= 0 or y <= 0 or x + bw >= w or y + bh >= h
    # Margins in plate-axis terms: the rectangle's sides, not the tilted bounds.
    half_w, half_h = rw / 2, rh / 2
    left, right = (cx - half_w) / rw, (w - cx - half_w) / rw
    top, bottom = (cy - half_h) / rh, (h - cy - half_h) / rh
    scale = 1 / k
    box = (x * scale, y * scale, (x + bw) * scale, (y + bh) * scale)
    big_rect = ((cx * scale, cy * scale), (rw * scale, rh * scale), angle)
    return Found(left, right, top, bottom, float(tilt), bool(touch), box, big_rect)


def quad_measure(quad: np.ndarray, w: int, h: int) -> Found:
    """The same measure from a known plate quad (kplate's record): the truth."""
    rect = cv2.minAreaRect(np.asarray(quad, np.float32))
    (cx, cy), (rw, rh), angle = rect
    if rw < rh:
        rw, rh = rh, rw
        angle += 90
    tilt = (angle + 90) % 180 - 90
    q = np.asarray(quad)
    x0, y0 = q.min(axis=0)
    x1, y1 = q.max(axis=0)
    cut = x0 < 0 or y0 < 0 or x1 > w or y1 > h
    return Found(
        (cx - rw / 2) / rw,
        (w - cx - rw / 2) / rw,
        (cy - rh / 2) / rh,
        (h - cy - rh / 2) / rh,
        float(tilt),
        bool(cut),
        (x0, y0, x1, y1),
        rect,
    )


def table(groups: dict[str, list[Found]]) -> list[str]:
    """Markdown rows: per group and measure, the percentiles."""
    head = "| crops | n | measure | " + " | ".join(f"p{p}" for p in PERCENTILES) + " |"
    rows = [head, "|---|---|---|" + "---|" * len(PERCENTILES)]
    for name, found in groups.items():
        if not found:
            continue
        columns = {
            "left": [f.left for f in found],
            "right": [f.right for f in found],
            "top": [f.top for f in found],
            "bottom": [f.bottom for f in found],
            "side (l, r)": [v for f in found for v in (f.left, f.right)],
            "edge (t, b)": [v for f in found for v in (f.top, f.bottom)],
            "abs tilt deg": [abs(f.tilt) for f in found],
        }
        for measure, values in columns.items():
            cells = " | ".join(f"{v:.3f}" for v in np.percentile(values, PERCENTILES))
            rows.append(f"| {name} | {len(found)} | {measure} | {cells} |")
        cut = np.mean([f.cut for f in found])
        rows.append(f"| {name} | {len(found)} | cut by the crop edge | {cut:.2f} |" + " |" * 4)
    return rows


def measure_real(folder: Path, debug: Path | None, limit: int | None) -> dict[str, list[Found]]:
    groups: dict[str, list[Found]] = {"IR (greyscale)": [], "colour": []}
    missed = 0
    with open(folder / "labels.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if limit:
        rows = rows[:limit]
    if debug:
        debug.mkdir(parents=True, exist_ok=True)
    for row in rows:
        bgr = cv2.imread(str(folder / row["file"]), cv2.IMREAD_COLOR)
        if bgr is None:
            continue
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        found = find_plate(rgb)
        if found is None:
            missed += 1
            continue
        groups["IR (greyscale)" if is_grey(rgb) else "colour"].append(found)
        if debug:
            points = cv2.boxPoints(found.rect).astype(np.int32)
            cv2.polylines(bgr, [points], True, (0, 0, 255), 1)
            cv2.imwrite(str(debug / Path(row["file"]).name), bgr)
    print(f"{sum(map(len, groups.values()))} crops measured, {missed} without a plate found")
    return groups


def measure_kplate(preset: str, count: int, debug: Path | None) -> dict[str, list[Found]]:
    from kplate.pipeline import GenerateConfig, generate

    config = GenerateConfig(count=count, seed=1, height=110, augment=preset)
    truth, heuristic, error = [], [], []
    if debug:
        debug.mkdir(parents=True, exist_ok=True)
    for index, (image, entry) in enumerate(generate(config)):
        rgb = np.asarray(image.convert("RGB")) if hasattr(image, "convert") else image
        h, w = rgb.shape[:2]
        known = quad_measure(np.asarray(entry["quad"]), w, h)
        found = find_plate(np.ascontiguousarray(rgb))
        truth.append(known)
        if found is not None:
            heuristic.append(found)
            error.append(
                [
                    found.left - known.left,
                    found.right - known.right,
                    found.top - known.top,
                    found.bottom - known.bottom,
                ]
            )
            if debug and index < 60:
                bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
                cv2.polylines(bgr, [cv2.boxPoints(found.rect).astype(np.int32)], True, (0, 0, 255))
                cv2.imwrite(str(debug / f"{preset}_{index:03d}.png"), bgr)
    e = np.abs(np.asarray(error))
    print(
        f"{preset}: heuristic found {len(heuristic)}/{count}; median |error| "
        f"left/right {np.median(e[:, :2]):.3f} top/bottom {np.median(e[:, 2:]):.3f} "
        f"(p90 {np.percentile(e[:, :2], 90):.3f} / {np.percentile(e[:, 2:], 90):.3f})"
    )
    return {f"{preset} (quad)": truth, f"{preset} (heuristic)": heuristic}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, help="a folder with labels.csv and its images")
    parser.add_argument("--preset", action="append", default=[], help="kplate preset(s)")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--limit", type=int, help="only the first N real crops")
    parser.add_argument("--debug", type=Path, help="write crops with the found plate drawn")
    args = parser.parse_args()
    groups: dict[str, list[Found]] = {}
    if args.real:
        groups.update(measure_real(args.real, args.debug, args.limit))
    for preset in args.preset:
        groups.update(measure_kplate(preset, args.count, args.debug))
    print("\n".join(table(groups)))


if __name__ == "__main__":
    main()
