"""Measure how small and how faint the characters of real labelled plate crops get.

python tools/measure_legibility.py                      # ../shared/data/real_dev
python tools/measure_legibility.py --real DIR --sheet /tmp/legibility-check.png

For every crop of a labels.csv folder (file,text,source,style) it finds the main row's
digits as ink blobs (connected components of an Otsu threshold, both polarities, on the
crop enlarged to at least UPSCALE_TO pixels high): the largest group of three or more
blobs of one height on one line. Their median height is the crop's digit height. The
crop's smallest character then follows from its plate type's own proportions, the
smallest character's height over the digit height as kplate draws that type (Hangul
syllables on one-row plates, the top row of two-row plates, the stacked region of
long commercial plates); on two-row crops the top row is also found directly, as blobs
above the digits. Contrast is `kplate.augment.legibility.char_contrasts`, the very
measure the augmentation rule applies, over the digit boxes found.

The statistics it prints are what docs/legibility.md tabulates and what
`kplate.augment.legibility` uses as floors. `--sheet` writes the crops with the found
boxes drawn, for checking by eye; it holds real pixels, so it goes to /tmp, never into
the repository.
"""

from __future__ import annotations

import argparse
import csv
import functools
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kplate.augment.legibility import char_contrasts  # noqa: E402
from kplate.numbers import validate  # noqa: E402
from kplate.render import Renderer  # noqa: E402
from kplate.spec.types import EXAMPLES, STYLE_NAMES, PlateType  # noqa: E402

UPSCALE_TO = 96
PERCENTILES = (1, 2, 5, 10, 25, 50)


@dataclass(frozen=True)
class Measure:
    """One crop: digit height, smallest character height (both in the crop's pixels),
    the directly found top-row height (two-row crops), and the digits' contrasts."""

    digit_px: float
    smallest_px: float
    top_row_px: float | None
    contrast: float
    boxes: list[tuple[int, int, int, int]]


@functools.cache
def smallest_ratio(plate_type: PlateType) -> tuple[float, bool]:
    """(smallest character height / digit height, two rows?) as kplate draws the type."""
    plate = Renderer().render_number(validate(EXAMPLES[plate_type], plate_type), height=220)
    heights = [(c.char, c.box[3] - c.box[1]) for c in plate.record.chars if c.char.isalnum()]
    digit = max(h for ch, h in heights if ch.isdigit())
    first, last = plate.record.chars[0].box, plate.record.chars[-1].box
    return min(h for _, h in heights) / digit, first[3] <= last[1]


def _blobs(grey: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Ink-blob boxes (x, y, w, h) of both polarities, from a global (Otsu) and a local
    (adaptive) threshold; a blob inside a larger one (a digit's counter) is dropped."""
    h, w = grey.shape
    block = 2 * (h // 4) + 1
    found = []
    for ink in (grey, 255 - grey):
        _, otsu = cv2.threshold(ink, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
        local = cv2.adaptiveThreshold(
            ink, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 8
        )
        for mask in (otsu, local):
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
            for x, y, bw, bh, area in stats[1:n]:
                if not 0.08 * h <= bh <= 0.95 * h or bw > 1.2 * bh or bw < 0.08 * bh:
                    continue
                if area < 0.12 * bw * bh or x == 0 or x + bw >= w:
                    continue
                found.append((int(x), int(y), int(bw), int(bh)))

    def inside(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
        return (
            a[2] * a[3] < 0.7 * b[2] * b[3]
            and b[0] <= a[0]
            and b[1] <= a[1]
            and a[0] + a[2] <= b[0] + b[2]
            and a[1] + a[3] <= b[1] + b[3]
        )

    return [a for a in found if not any(inside(a, b) for b in found)]


def _digit_row(blobs: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """The tallest group of 3+ distinct blobs of one height (within 15 %) on one line."""
    best: list[tuple[int, int, int, int]] = []
    for _x, y, _w, h in sorted(blobs, key=lambda b: -b[3]):
        group = [
            b
            for b in blobs
            if abs(b[3] - h) <= 0.15 * h and abs((b[1] + b[3] / 2) - (y + h / 2)) <= 0.2 * h
        ]
        distinct = {round((b[0] + b[2] / 2) / max(1, 0.3 * h)) for b in group}
        # The tallest such group wins, unless a shorter one (not a counter's size) is larger.
        better = not best or (len(group) > len(best) and h >= 0.6 * best[0][3])
        if len(distinct) >= 3 and better:
            best = sorted(group, key=lambda b: -b[3])
    return best


def measure_crop(grey: np.ndarray, plate_type: PlateType) -> Measure | None:
    """The crop's measures, or None when no digit row is found."""
    scale = max(1.0, UPSCALE_TO / grey.shape[0])
    big = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    big = cv2.normalize(big, None, 0, 255, cv2.NORM_MINMAX)
    blobs = _blobs(big)
    row = _digit_row(blobs)
    if not row:
        return None
    digit = float(np.median([b[3] for b in row])) / scale
    ratio, two_rows = smallest_ratio(plate_type)
    top = None
    if two_rows:
        row_top = min(b[1] for b in row)
        above = [b for b in blobs if b[1] + b[3] <= row_top + 2 and 0.25 * digit * scale <= b[3]]
        above = [b for b in above if b[3] <= 0.8 * digit * scale]
        if len(above) >= 2:
            top = float(np.percentile([b[3] for b in above], 75)) / scale
    boxes = [
        (
            int(x / scale),
            int(y / scale),
            int(np.ceil((x + w) / scale)),
            int(np.ceil((y + h) / scale)),
        )
        for x, y, w, h in row
    ]
    contrast = float(np.median(char_contrasts(grey, boxes)))
    return Measure(digit, digit * ratio, top, contrast, boxes)


def _shared() -> Path:
    for root in (Path("/work/shared"), REPO.parent / "shared"):
        if (root / "data" / "real_dev" / "labels.csv").is_file():
            return root / "data" / "real_dev"
    raise SystemExit("no real_dev folder found; pass --real DIR")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=Path, default=None)
    parser.add_argument("--sheet", type=Path, default=None, help="a check sheet (outside the repo)")
    args = parser.parse_args(argv)
    real = args.real or _shared()
    with open(real / "labels.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    found: list[tuple[dict[str, str], Measure, np.ndarray]] = []
    missed = 0
    for row in rows:
        grey = cv2.imread(str(real / row["file"]), cv2.IMREAD_GRAYSCALE)
        measure = measure_crop(grey, STYLE_NAMES[row["style"]])
        if measure is None:
            missed += 1
            continue
        found.append((row, measure, grey))
    print(f"{len(rows)} crops, digit row found in {len(found)}, missed {missed}")
    table = {
        "digit height px": [m.digit_px for _, m, _ in found],
        "smallest char px (type ratio)": [m.smallest_px for _, m, _ in found],
        "two-row top row px (type ratio)": [
            m.smallest_px for r, m, _ in found if smallest_ratio(STYLE_NAMES[r["style"]])[1]
        ],
        "two-row top row px (blobs)": [m.top_row_px for _, m, _ in found if m.top_row_px],
        "digit contrast (fraction of 255)": [m.contrast for _, m, _ in found],
    }
    print("| measure | n | " + " | ".join(f"p{p}" for p in PERCENTILES) + " |")
    print("|---|---|" + "---|" * len(PERCENTILES))
    for name, values in table.items():
        cells = " | ".join(f"{np.percentile(values, p):.2f}" for p in PERCENTILES)
        print(f"| {name} | {len(values)} | {cells} |")
    if args.sheet:
        _sheet(found, args.sheet)


def _sheet(found, path: Path) -> None:
    order = sorted(found, key=lambda f: f[1].smallest_px)[:40]
    tiles = []
    for _, m, grey in order:
        s = max(1, 200 // max(grey.shape))
        rgb = cv2.cvtColor(
            cv2.resize(grey, None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST), cv2.COLOR_GRAY2BGR
        )
        for x0, y0, x1, y1 in m.boxes:
            cv2.rectangle(rgb, (x0 * 4, y0 * 4), (x1 * 4 - 1, y1 * 4 - 1), (0, 0, 255), 1)
        cv2.putText(
            rgb,
            f"{m.digit_px:.1f}/{m.smallest_px:.1f} c{m.contrast:.2f}",
            (2, 12),
            0,
            0.4,
            (0, 200, 0),
            1,
        )
        tiles.append(rgb)
        del s
    width = max(t.shape[1] for t in tiles)
    tiles = [cv2.copyMakeBorder(t, 0, 4, 0, width - t.shape[1], cv2.BORDER_CONSTANT) for t in tiles]
    cv2.imwrite(str(path), np.vstack(tiles))


if __name__ == "__main__":
    main()
