"""Measure crop statistics (kplate.evaluate.crop_stats) on real and generated crops.

    # real_dev's IR crops (greyscale, from the CCTV source), and kplate's presets beside them
    python tools/measure_image_stats.py --real ../shared/data/real_dev \
        --generate cctv,night --count 300 --height 64 --markdown
    # write the real numbers the tests use (no real pixels, only statistics)
    python tools/measure_image_stats.py --real ../shared/data/real_dev --write-reference
    # any folder of images
    python tools/measure_image_stats.py --dir some/folder

Generated crops use the plate-type mix of benchmarks/sim2real.py and pass through the
same JPEG encode (quality 95) that `kplate generate` writes, so they are measured as a
trainer would read them. Real crops are read, never copied.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from kplate.evaluate.crop_stats import STATS, crop_stats, is_greyscale, summarise  # noqa: E402

REFERENCE = REPO / "tests" / "data" / "real_ir_stats.json"
#: real_dev's roadside IR camera source (the other sources are colour or phone photos).
CCTV_SOURCES = ("ksyoon70",)
SHOWN = (
    "height", "brightness", "p5", "p95", "contrast", "std", "sharpness", "gradient",
    "acutance", "noise", "noise_norm", "clip_black", "clip_white", "comb", "plate_h",
    "plate_w", "plate_contrast",
)  # fmt: skip


def real_rows(folder: Path, select: str, sources: tuple[str, ...]) -> list[dict[str, Any]]:
    """Per-crop stats of real_dev crops: `ir` = greyscale crops of the CCTV sources,
    `colour` = the rest, `all` = every crop. Each row keeps its file and style."""
    with open(folder / "labels.csv", encoding="utf-8-sig", newline="") as handle:
        labels = list(csv.DictReader(handle))
    rows = []
    for label in labels:
        with Image.open(folder / label["file"]) as image:
            array = np.asarray(image.convert("RGB"))
        ir = is_greyscale(array) and label.get("source", "") in sources
        if select == "all" or (select == "ir") == ir:
            row = crop_stats(array)
            row.update(file=label["file"], style=label.get("style", ""))
            rows.append(row)
    return rows


def folder_rows(folder: Path) -> list[dict[str, Any]]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    rows = []
    for path in files:
        with Image.open(path) as image:
            rows.append({**crop_stats(np.asarray(image.convert("RGB"))), "file": str(path)})
    return rows


def generated_rows(
    augment: str, count: int, height: int, seed: int = 7, types: str = "sim2real"
) -> list[dict[str, Any]]:
    """Per-crop stats of `count` generated crops, JPEG-encoded as `kplate generate` writes
    them. Each row also has the true plate share of the crop (`true_plate_h`) from the
    record's plate quad, to check the estimate against."""
    from kplate.pipeline import GenerateConfig
    from kplate.pipeline.factory import generate
    from kplate.spec.types import PlateType

    if types == "sim2real":
        from sim2real import TYPE_WEIGHTS

        kinds, weights = tuple(PlateType(t) for t in TYPE_WEIGHTS), tuple(TYPE_WEIGHTS.values())
        config = GenerateConfig(
            count=count, types=kinds, weights=weights, seed=seed, height=height, augment=augment
        )
    else:
        config = GenerateConfig(count=count, seed=seed, height=height, augment=augment)
    rows = []
    for sample in generate(config):
        buffer = io.BytesIO()
        Image.fromarray(sample.image).save(buffer, format="JPEG", quality=95)
        array = np.asarray(Image.open(buffer).convert("RGB"))
        row = crop_stats(array)
        quad = np.asarray(sample.record.plate_quad, np.float64)
        row["true_plate_h"] = float((quad[:, 1].max() - quad[:, 1].min()) / array.shape[0])
        row["infrared"] = bool(sample.augment and "infrared" in sample.augment["camera"])
        rows.append(row)
    return rows


def markdown(columns: dict[str, dict[str, Any]], names: tuple[str, ...] = SHOWN) -> str:
    """A table: one row per statistic, one column per set, `median (p10-p90)`."""
    head = "| statistic | " + " | ".join(f"{k} (n={v['count']})" for k, v in columns.items())
    lines = [head + " |", "|---" * (len(columns) + 1) + "|"]
    for name in names:
        cells = []
        for summary in columns.values():
            s = summary.get(name)
            cells.append("" if s is None else f"{_n(s['median'])} ({_n(s['p10'])}-{_n(s['p90'])})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _n(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    if abs(value) >= 0.01 or value == 0:
        return f"{value:.3f}"
    return f"{value:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, help="real_dev folder (labels.csv + images/)")
    parser.add_argument("--select", choices=("ir", "colour", "all"), default="ir")
    parser.add_argument("--dir", type=Path, action="append", default=[], help="image folder")
    parser.add_argument("--generate", default="", help="comma-separated presets or configs")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--height", type=int, action="append", help="generated height(s)")
    parser.add_argument("--types", choices=("sim2real", "all"), default="sim2real")
    parser.add_argument(
        "--ir-only", action="store_true", help="keep generated crops whose infrared fired"
    )
    parser.add_argument("--markdown", action="store_true", help="print a side-by-side table")
    parser.add_argument("--json", type=Path, help="write every summary here")
    parser.add_argument("--write-reference", action="store_true", help=f"write {REFERENCE}")
    args = parser.parse_args()

    columns: dict[str, dict[str, Any]] = {}
    if args.real:
        rows = real_rows(args.real, args.select, CCTV_SOURCES)
        columns[f"real_dev {args.select}"] = summarise(rows)
        if args.write_reference:
            reference = {
                "source": "tools/measure_image_stats.py --real ../shared/data/real_dev "
                "--write-reference (greyscale crops of the ksyoon70 CCTV source)",
                "descriptions": STATS,
                "summary": summarise(rows),
            }
            REFERENCE.write_text(json.dumps(reference, indent=1) + "\n", encoding="utf-8")
            print(f"wrote {REFERENCE}")
    for folder in args.dir:
        columns[folder.name] = summarise(folder_rows(folder))
    for preset in filter(None, args.generate.split(",")):
        for height in args.height or [64]:
            rows = generated_rows(preset, args.count, height, types=args.types)
            if args.ir_only:
                rows = [row for row in rows if row["infrared"]]
            summary = summarise(rows, (*STATS, "true_plate_h"))
            columns[f"{Path(preset).stem} h{height}"] = summary
    if args.json:
        args.json.write_text(json.dumps(columns, indent=1) + "\n", encoding="utf-8")
    if args.markdown or not args.json:
        print(markdown(columns, (*SHOWN, "true_plate_h")))


if __name__ == "__main__":
    main()
