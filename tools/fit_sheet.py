"""Remake docs/images/fit/real_dev.png: the same plates and seeds through the base preset
(top rows) and through configs/real_dev_fitted.yaml (bottom rows). Synthetic plates only.

python tools/fit_sheet.py [--base cctv] [--config configs/real_dev_fitted.yaml]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from kplate.augment import build_augmenter  # noqa: E402
from kplate.io.files import atomic_save_image  # noqa: E402
from kplate.pipeline import GenerateConfig, PlateFactory  # noqa: E402

CELL = (240, 72)
COLUMNS, ROWS = 6, 3


def sheet(specs: list[str], seed: int = 5) -> Image.Image:
    factory = PlateFactory(GenerateConfig(count=COLUMNS * ROWS, seed=seed, height=110))
    plates = [factory.sample(i) for i in range(COLUMNS * ROWS)]
    label_h = 18
    block = label_h + ROWS * CELL[1]
    out = Image.new("RGB", (COLUMNS * CELL[0], block * len(specs)), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    for row, spec in enumerate(specs):
        augmenter = build_augmenter(spec)
        top = row * block
        draw.text((4, top + 3), f"{Path(spec).name}", fill=(0, 0, 0))
        for k, plate in enumerate(plates):
            image = augmenter(plate.image, plate.record, np.random.default_rng(plate.seed))[0]
            cell = Image.fromarray(image).resize(CELL, Image.Resampling.BILINEAR)
            out.paste(cell, ((k % COLUMNS) * CELL[0], top + label_h + (k // COLUMNS) * CELL[1]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="cctv")
    parser.add_argument("--config", default=str(REPO / "configs" / "real_dev_fitted.yaml"))
    parser.add_argument("--out", default=str(REPO / "docs" / "images" / "fit" / "real_dev.png"))
    args = parser.parse_args()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_save_image(sheet([args.base, args.config]), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
