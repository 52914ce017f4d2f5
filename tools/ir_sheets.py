"""Before/after sheets of synthetic cctv crops: docs/images/augment/cctv_before_after.png.

    python tools/ir_sheets.py

The left column of each pair is the cctv preset as it was before issue #16 (OLD_CCTV,
kept here only for this comparison), the right one today's cctv, both drawn from the same
plates and seeds. Synthetic plates only: no real crop goes into the repository.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kplate.augment import Augmenter, build_augmenter  # noqa: E402
from kplate.augment.presets import CCTV  # noqa: E402
from kplate.io.files import atomic_save_image  # noqa: E402
from kplate.render import Renderer  # noqa: E402
from kplate.render.sheet import contact_sheet  # noqa: E402

OUT = REPO / "docs" / "images" / "augment" / "cctv_before_after.png"
#: The cctv camera chain before issue #16 (geometry and wear were not changed).
OLD_CCTV = {
    "geometry": CCTV["geometry"],
    "photometric": {
        "brightness": {"p": 0.6, "amount": [-0.1, 0.25]},
        "dirt": {"p": 0.2, "amount": [0.1, 0.4]},
        "fade": {"p": 0.2, "amount": [0.1, 0.4]},
    },
    "camera": {
        "infrared": {
            "p": 1.0, "lift": [0.03, 0.25], "contrast": [0.7, 1.0], "bloom": [0.1, 0.6],
            "surround": [0.15, 0.6],
        },
        "blur": {"p": 0.6, "sigma": [0.5, 1.5]},
        "motion_blur": {"p": 0.2, "length": [3, 7], "angle": [-180, 180]},
        "noise": {"p": 0.6, "sigma": [0.01, 0.05]},
        "downscale": {"p": 0.7, "plate_height": [16, 36]},
        "jpeg": {"p": 0.8, "quality": [25, 75]},
    },
}  # fmt: skip
PLATES = [
    ("12가3456", "private_2digit"),
    ("123가4568", "private_3digit"),
    ("서울52바3108", "commercial_long"),
    ("경기06조4568", "construction_regional"),
    ("전남14나3108", "construction_regional_two_row"),
    ("서울80바2764", "commercial_two_row"),
]


def sheet(rows: int = 12, height: int = 64):
    """`rows` pairs (before | after), cycling through PLATES, seed = row."""
    renderer = Renderer()
    before, after = Augmenter(OLD_CCTV, "cctv-before"), build_augmenter("cctv")
    items = []
    for row in range(rows):
        text, kind = PLATES[row % len(PLATES)]
        plate = renderer.render(text, kind, height=height)
        for name, augmenter in (("before", before), ("after", after)):
            image, _, _ = augmenter(plate.image, plate.record, np.random.default_rng(row))
            items.append((image, f"{name} #{row}"))
    return contact_sheet(items, columns=4, cell_height=height)


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    atomic_save_image(sheet(), OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
