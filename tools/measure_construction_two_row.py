"""Where the characters sit on the old two-row construction plates: real crops and kplate.

Each crop's plate is found and deskewed with tools/measure_crop_margins.py's heuristic;
Otsu's light components are the characters (light ink on a dark plate). Bottom-row digits
(components below 0.4 of the plate's height, 0.2-0.5 of it tall, squarer than 0.35 w/h,
so no "1"), the top row's region syllables (the components above half the height,
merged per half of the width) and the use syllable (the bottom row's components between
the class code's digits and the serial's, merged) give boxes as fractions of the plate's
width and height; the use syllable also against its own plate's median digit.
The same measurement of kplate's own clean drawings (their plate is the whole image)
beside their drawn ink shows what Otsu at this resolution adds to a glyph's box. Prints
medians; reads real crops, writes nothing (docs/plate-types.md, "Session 14: the two-row
construction plates").

    python tools/measure_construction_two_row.py [--real ../shared/data/real_dev]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tools"))

from measure_crop_margins import find_plate  # noqa: E402
from measure_old_green_strokes import light_ink_two_row  # noqa: E402

from kplate.render import render_plate  # noqa: E402
from kplate.spec import PlateType  # noqa: E402

TEXTS = ("전남14나3323", "대구06가1360", "경북06노8139", "충남14다2467")
Box = tuple[float, float, float, float]  # x0, x1, y0, y1 as fractions of the plate


def _components(rgb: np.ndarray, whole: bool = False) -> list[Box]:
    """Light components of the deskewed plate, as fractions of its rectangle (the whole
    image where `whole`: kplate's clean plates fill theirs)."""
    if whole:
        h, w = rgb.shape[:2]
        rect = ((w / 2, h / 2), (w, h), 0.0)
    else:
        found = find_plate(rgb)
        if found is None:
            return []
        rect = found.rect
    (cx, cy), (rw, rh), angle = rect
    if rw < rh:
        rw, rh, angle = rh, rw, angle + 90
    tilt = (angle + 90) % 180 - 90
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    turn = cv2.getRotationMatrix2D((cx, cy), tilt, 1.0)
    grey = cv2.warpAffine(grey, turn, grey.shape[::-1], borderMode=cv2.BORDER_REPLICATE)
    big = cv2.resize(grey, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    _, mask = cv2.threshold(big, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    x0, y0, boxes = cx - rw / 2, cy - rh / 2, []
    for x, y, w, h, area in stats[1:count] / 3.0:
        if area > 4:
            boxes.append(((x - x0) / rw, (x + w - x0) / rw, (y - y0) / rh, (y + h - y0) / rh))
    return boxes


def digits(boxes: list[Box]) -> list[Box]:
    return [
        b
        for b in boxes
        if b[2] > 0.4 and 0.2 < b[3] - b[2] < 0.5 and b[1] - b[0] < 0.2
        and (b[1] - b[0]) / (b[3] - b[2]) * 2.0 > 0.35  # plate about 2:1
    ]  # fmt: skip


def region(boxes: list[Box]) -> list[Box]:
    """The two region syllables: top-row components merged per half of the width."""
    halves: dict[bool, list[Box]] = {False: [], True: []}
    for b in boxes:
        inside = b[0] > 0.08 and b[1] < 0.92 and b[2] > 0.06 and b[3] < 0.5
        if inside and b[3] - b[2] > 0.04 and b[1] - b[0] < 0.25:
            halves[(b[0] + b[1]) / 2 > 0.5].append(b)
    return [
        (min(b[0] for b in part), max(b[1] for b in part),
         min(b[2] for b in part), max(b[3] for b in part))
        for part in halves.values() if part
    ]  # fmt: skip


def use_syllable(boxes: list[Box], digit_boxes: list[Box]) -> Box | None:
    """The use syllable: the bottom row's components between the class code's last digit
    (centre left of 0.35) and the serial's first (right of 0.42), merged."""
    centre = [(b[0] + b[1]) / 2 for b in digit_boxes]
    left = max((b[1] for b, c in zip(digit_boxes, centre, strict=True) if c < 0.35), default=0.3)
    right = min((b[0] for b, c in zip(digit_boxes, centre, strict=True) if c > 0.42), default=0.5)
    parts = [
        b for b in boxes
        if b[2] > 0.4 and b[3] - b[2] > 0.04 and left <= (b[0] + b[1]) / 2 <= right
    ]  # fmt: skip
    if not parts:
        return None
    return (min(b[0] for b in parts), max(b[1] for b in parts),
            min(b[2] for b in parts), max(b[3] for b in parts))  # fmt: skip


def use_summary(name: str, uses: list[tuple[Box, Box]]) -> str:
    """Median use syllable box, and its width and height over its plate's median digit's."""
    if not uses:
        return f"{name}: no use syllable found"
    u = np.array([use for use, _ in uses])
    d = np.array([digit for _, digit in uses])
    width, height = u[:, 1] - u[:, 0], u[:, 3] - u[:, 2]
    over_w, over_h = width / (d[:, 1] - d[:, 0]), height / (d[:, 3] - d[:, 2])
    return (
        f"{name}: {len(u)} use syllables w {np.median(width):.3f} h {np.median(height):.3f} "
        f"y {np.median(u[:, 2]):.3f}-{np.median(u[:, 3]):.3f}; over the digit: w "
        f"{np.median(over_w):.2f} ({over_w.min():.2f}-{over_w.max():.2f}) h "
        f"{np.median(over_h):.2f} ({over_h.min():.2f}-{over_h.max():.2f})"
    )


def _use_and_digit(boxes: list[Box], found: list[Box]) -> list[tuple[Box, Box]]:
    """[(use syllable, median of the plate's `found` digits)], or [] without either."""
    use = use_syllable(boxes, found)
    if use is None or not found:
        return []
    return [(use, tuple(np.median(np.array(found), axis=0)))]


def summary(name: str, digit_boxes: list[Box], region_boxes: list[Box]) -> str:
    d, r = np.array(digit_boxes), np.array(region_boxes)
    centres = (r[:, 0] + r[:, 1]) / 2
    return (
        f"{name}: {len(d)} digits w {np.median(d[:, 1] - d[:, 0]):.3f} "
        f"h {np.median(d[:, 3] - d[:, 2]):.3f} y {np.median(d[:, 2]):.3f}-"
        f"{np.median(d[:, 3]):.3f}; {len(r)} region syllables w "
        f"{np.median(r[:, 1] - r[:, 0]):.3f} h {np.median(r[:, 3] - r[:, 2]):.3f} y "
        f"{np.median(r[:, 2]):.3f}-{np.median(r[:, 3]):.3f} centres "
        f"{np.median(centres[centres < 0.5]):.3f} / {np.median(centres[centres > 0.5]):.3f}"
    )


def real_side(real: Path) -> tuple[int, list[Box], list[Box], list[tuple[Box, Box]]]:
    crops, d, r, uses = 0, [], [], []
    with open(real / "labels.csv", encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if "construction" not in row.get("style", ""):
                continue
            bgr = cv2.imread(str(real / row["file"]))
            if bgr is None or not light_ink_two_row(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)):
                continue
            boxes = _components(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            found = digits(boxes)
            crops, d, r = crops + 1, d + found, r + region(boxes)
            uses += _use_and_digit(boxes, found)
    return crops, d, r, uses


def kplate_side() -> tuple[list[Box], list[Box], list[Box], list[tuple[Box, Box]]]:
    """(measured digits, measured region syllables, drawn digit ink, measured use
    syllables with their plate's median digit) of kplate's plates."""
    d, r, truth, uses = [], [], [], []
    for text in TEXTS:
        plate = render_plate(text, PlateType.CONSTRUCTION_REGIONAL_TWO_ROW, height=110)
        h, w = plate.image.shape[:2]
        boxes = _components(plate.image, whole=True)
        found = digits(boxes)
        d, r, uses = d + found, r + region(boxes), uses + _use_and_digit(boxes, found)
        for char in plate.record.chars[2:]:
            if char.char.isdigit() and char.char != "1":
                x0, y0, x1, y1 = char.box
                truth.append((x0 / w, x1 / w, y0 / h, y1 / h))
    return d, r, truth, uses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.error = lambda message: parser.exit(2, f"{parser.prog}: error: {message}\n")  # type: ignore[method-assign]
    parser.add_argument("--real", type=Path, help="real_dev (default ../shared/data/real_dev)")
    args = parser.parse_args()
    real = args.real or REPO.parent / "shared/data/real_dev"
    if args.real is not None and not (real / "labels.csv").is_file():
        parser.error(f"--real {real}: no labels.csv there")
    if (real / "labels.csv").is_file():
        crops, d, r, uses = real_side(real)
        print(summary(f"real_dev ({crops} two-row crops)", d, r))
        print(use_summary("real_dev", uses))
    d, r, truth, uses = kplate_side()
    print(summary(f"kplate ({len(TEXTS)} clean plates, measured)", d, r))
    print(use_summary("kplate", uses))
    t = np.array(truth)
    print(
        f"kplate drawn digit ink: w {np.median(t[:, 1] - t[:, 0]):.3f} "
        f"h {np.median(t[:, 3] - t[:, 2]):.3f} y {np.median(t[:, 2]):.3f}-{np.median(t[:, 3]):.3f}"
    )


if __name__ == "__main__":
    main()
