"""Measure how small and how faint the characters of real labelled plate crops get.

python tools/measure_legibility.py                      # ../shared/data/real_dev
python tools/measure_legibility.py --real DIR --sheet /tmp/legibility-check.png

For every crop of a labels.csv folder (file,text,source,style) it finds the main row's
digits as ink blobs: connected components of an Otsu and of a local threshold, both
polarities, on the crop enlarged to at least UPSCALE_TO pixels high, with long straight
runs (plate borders) and thin joins cut away; the tallest group of three or more blobs
of one height on one line. Their median height is the crop's digit height. The crop's
smallest character then follows from its plate type's own proportions, the smallest
character's height over the digit height as kplate draws that type (Hangul syllables on
one-row plates, the top row of two-row plates, the stacked region of long commercial
plates). On a two-row type a row found in the crop's upper part is taken for the top
row (a glare band can split the big digits below); otherwise the top row is also found
directly, as blobs above the digits, as a check. Contrast is
`kplate.augment.legibility.char_contrasts`, the very measure the augmentation rule
applies, over the digit boxes found, and the grain it is read against
(`contrasts_and_noise`): the lowest digit contrast over it is the crop's
contrast-to-noise ratio. With `--kplate` it also measures kplate's own
presets with the rule off and on.

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

from kplate.augment.legibility import NOISE_FLOOR, contrasts_and_noise  # noqa: E402
from kplate.numbers import validate  # noqa: E402
from kplate.render import Renderer  # noqa: E402
from kplate.spec.types import EXAMPLES, STYLE_NAMES, PlateType  # noqa: E402

UPSCALE_TO = 96
PERCENTILES = (1, 2, 5, 10, 25, 50)


@dataclass(frozen=True)
class Measure:
    """One crop: digit height, smallest character height (both in the crop's pixels),
    the directly found top-row height (two-row crops), the digits' contrasts and the
    noise of their window."""

    digit_px: float
    smallest_px: float
    top_row_px: float | None
    contrast: float
    lowest_contrast: float
    boxes: list[tuple[int, int, int, int]]
    noise: float = 0.0

    @property
    def contrast_to_noise(self) -> float:
        """The lowest digit contrast over the window's grain, as the rule reads it."""
        return self.lowest_contrast / max(self.noise, NOISE_FLOOR)


@dataclass(frozen=True)
class Proportions:
    """A type's proportions as kplate draws it: smallest character over digit height,
    and for two-row plates the top row's tallest character over the main digits."""

    smallest: float
    two_rows: bool
    top: float


@functools.cache
def proportions(plate_type: PlateType) -> Proportions:
    plate = Renderer().render_number(validate(EXAMPLES[plate_type], plate_type), height=220)
    chars = [c for c in plate.record.chars if c.char.isalnum()]
    main_top = chars[-1].box[1]
    main = [c.box[3] - c.box[1] for c in chars if c.char.isdigit() and c.box[1] >= main_top - 4]
    digit = max(main)
    upper = [c.box[3] - c.box[1] for c in chars if c.box[3] <= main_top]
    smallest = min(c.box[3] - c.box[1] for c in chars) / digit
    return Proportions(smallest, bool(upper), max(upper, default=0) / digit)


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
            # Plate borders and frame edges join the characters that touch them into one
            # wide blob: take long horizontal and vertical runs out first.
            lines = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((1, max(3, w // 4)), np.uint8))
            lines |= cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((max(3, h - 2), 1), np.uint8))
            mask = cv2.subtract(mask, lines)
            # Thin joins (a curved border, a bolt's rim) are cut by an opening thinner
            # than a stroke; both the cut and the uncut masks are searched.
            k = max(3, h // 24)
            cut = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(2, (k, k)))
            found.extend(_components(mask, h, w))
            found.extend(_components(cut, h, w))

    def inside(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
        return (
            a[2] * a[3] < 0.7 * b[2] * b[3]
            and b[0] <= a[0]
            and b[1] <= a[1]
            and a[0] + a[2] <= b[0] + b[2]
            and a[1] + a[3] <= b[1] + b[3]
        )

    return [a for a in found if not any(inside(a, b) for b in found)]


def _components(mask: np.ndarray, h: int, w: int) -> list[tuple[int, int, int, int]]:
    """Boxes of the mask's character-shaped components."""
    out = []
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    for x, y, bw, bh, area in stats[1:n]:
        if not 0.08 * h <= bh <= 0.95 * h or bw > 1.2 * bh or bw < 0.08 * bh:
            continue
        if area < 0.12 * bw * bh or x == 0 or x + bw >= w:
            continue
        out.append((int(x), int(y), int(bw), int(bh)))
    return out


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
    """The crop's measures, or None when no digit row is found.

    On a two-row type a row found in the crop's upper part is the top row (a glare band
    or a bolt can split the big digits below), and the digit height follows from it.
    """
    scale = max(1.0, UPSCALE_TO / grey.shape[0])
    big = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    big = cv2.normalize(big, None, 0, 255, cv2.NORM_MINMAX)
    blobs = _blobs(big)
    row = _digit_row(blobs)
    if not row:
        return None
    found = float(np.median([b[3] for b in row])) / scale
    shape = proportions(plate_type)
    centre = float(np.median([b[1] + b[3] / 2 for b in row])) / big.shape[0]
    top = None
    if shape.two_rows and centre < 0.45:
        top, digit = found, found / shape.top
    else:
        digit = found
        if shape.two_rows:
            row_top = min(b[1] for b in row)
            above = [b for b in blobs if b[1] + b[3] <= row_top + 2]
            above = [b for b in above if 0.25 * found * scale <= b[3] <= 0.8 * found * scale]
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
    contrasts, noise = contrasts_and_noise(grey, boxes)
    return Measure(
        digit,
        digit * shape.smallest,
        top,
        float(np.median(contrasts)),
        min(contrasts),
        boxes,
        noise,
    )


def kplate_stats(preset: str, rule: bool, count: int = 300, height: int = 64) -> dict:
    """The same measures on kplate's own images of a preset, every type in turn, with
    the legibility rule on or off: each image's smallest effective character height
    (output height, times the downscale factor when the camera downscales), lowest
    character contrast (letters and digits) and that contrast over the window's grain."""
    from kplate.augment.camera import downscale_factor
    from kplate.augment.legibility import quad_heights
    from kplate.augment.pipeline import Augmenter
    from kplate.augment.presets import PRESETS

    spec = dict(PRESETS[preset])
    if not rule:
        spec["legibility"] = {
            "min_char_height_px": 0.0,
            "min_contrast": 0.0,
            "max_motion_streak": 0.0,
            "min_contrast_to_noise": 0.0,
        }
    augmenter = Augmenter(spec, preset)
    renderer = Renderer()
    plates = [renderer.render_number(validate(EXAMPLES[t], t), height=height) for t in PlateType]
    smallest, lowest, ratio = [], [], []
    for seed in range(count):
        plate = plates[seed % len(plates)]
        image, record, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        letters = np.array([c.char.isalnum() for c in record.chars])
        heights = quad_heights(np.asarray([c.quad for c in record.chars], float))
        down = params["camera"].get("downscale")
        if down is not None:
            heights = heights * downscale_factor(down, {"plate_quad": record.plate_quad})
        measured, noise = contrasts_and_noise(image, [c.box for c in record.chars])
        contrast = np.asarray(measured)
        smallest.append(float(heights[letters].min()))
        lowest.append(float(contrast[letters].min()))
        ratio.append(lowest[-1] / max(noise, NOISE_FLOOR))
    return {
        "smallest char px": smallest,
        "lowest char contrast": lowest,
        "lowest char contrast over noise": ratio,
    }


def _shared() -> Path:
    for root in (Path("/work/shared"), REPO.parent / "shared"):
        if (root / "data" / "real_dev" / "labels.csv").is_file():
            return root / "data" / "real_dev"
    raise SystemExit("no real_dev folder found; pass --real DIR")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=Path, default=None)
    parser.add_argument("--sheet", type=Path, default=None, help="a check sheet (outside the repo)")
    parser.add_argument(
        "--kplate", action="store_true", help="also measure kplate's presets, rule off and on"
    )
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
            m.smallest_px for r, m, _ in found if proportions(STYLE_NAMES[r["style"]]).two_rows
        ],
        "two-row top row px (found directly)": [m.top_row_px for _, m, _ in found if m.top_row_px],
        "digit contrast, median of the crop (fraction of 255)": [m.contrast for _, m, _ in found],
        "digit contrast, lowest of the crop": [m.lowest_contrast for _, m, _ in found],
        "digit noise of the crop": [m.noise for _, m, _ in found],
        "digit contrast over noise, lowest of the crop": [m.contrast_to_noise for _, m, _ in found],
    }
    print("| measure | n | " + " | ".join(f"p{p}" for p in PERCENTILES) + " |")
    print("|---|---|" + "---|" * len(PERCENTILES))
    for name, values in table.items():
        digits = 3 if "contrast" in name and "noise" not in name else 1
        digits = 4 if name.startswith("digit noise") else digits
        cells = " | ".join(f"{np.percentile(values, p):.{digits}f}" for p in PERCENTILES)
        print(f"| {name} | {len(values)} | {cells} |")
    smallest = np.array(table["smallest char px (type ratio)"])
    lowest = np.array(table["digit contrast, lowest of the crop"])
    for floor in (6, 7, 8, 9, 10):
        print(f"smallest char below {floor} px: {np.mean(smallest < floor):.1%} of crops")
    for floor in (0.04, 0.05, 0.06, 0.08):
        print(f"lowest digit contrast below {floor}: {np.mean(lowest < floor):.1%} of crops")
    ratio = np.array(table["digit contrast over noise, lowest of the crop"])
    for floor in (4, 6, 9, 12):
        print(
            f"lowest digit contrast over noise below {floor}: {np.mean(ratio < floor):.1%} of crops"
        )
    if args.sheet:
        _sheet(found, args.sheet)
    if args.kplate:
        print("\n| kplate (300 images, all types in turn, --height 64) | p1 | p2 | p5 | p50 |")
        print("|---|---|---|---|---|")
        for preset in ("light", "heavy", "cctv", "night"):
            for rule in (False, True):
                for name, values in kplate_stats(preset, rule).items():
                    digits = 3 if "contrast" in name and "noise" not in name else 1
                    cells = " | ".join(
                        f"{np.percentile(values, p):.{digits}f}" for p in (1, 2, 5, 50)
                    )
                    state = "rule on" if rule else "rule off (before)"
                    print(f"| {preset}, {state}: {name} | {cells} |")


def _sheet(found, path: Path, count: int = 40) -> None:
    """The `count` crops with the smallest characters, 90 px high, four to a row, with
    the digit boxes found drawn in red and the measures written above each."""
    tiles = []
    for _, m, grey in sorted(found, key=lambda f: f[1].smallest_px)[:count]:
        scale = 90 / grey.shape[0]
        size = (max(1, round(grey.shape[1] * scale)), 90)
        tile = cv2.cvtColor(cv2.resize(grey, size, interpolation=cv2.INTER_NEAREST), 8)
        tile = cv2.copyMakeBorder(tile[:, :300], 0, 0, 0, max(0, 300 - size[0]), 0)
        for x0, y0, x1, y1 in m.boxes:
            corners = (round(x0 * scale), round(y0 * scale)), (round(x1 * scale), round(y1 * scale))
            cv2.rectangle(tile, *corners, (0, 0, 255), 1)
        tile = cv2.copyMakeBorder(tile, 14, 2, 0, 4, 0, value=(255, 255, 255))
        label = f"digit {m.digit_px:.1f} smallest {m.smallest_px:.1f} contrast {m.contrast:.2f}"
        cv2.putText(tile, label, (2, 11), 0, 0.38, (0, 0, 0), 1)
        tiles.append(tile)
    while len(tiles) % 4:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + 4]) for i in range(0, len(tiles), 4)]
    cv2.imwrite(str(path), np.vstack(rows))


if __name__ == "__main__":
    main()
