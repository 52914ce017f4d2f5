"""Make docs/images/augment/surround.png: synthetic crops before and after the surround group.

python tools/surround_sheet.py

Each pair is one plate with one draw of a preset: on the left replayed without the
surround group's effects, on the right as generated (frame, dealer bar, screws, plate
lamps, plate edge). Only plates where a frame or a dealer bar fired are shown.
Synthetic only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kplate.augment import build_augmenter  # noqa: E402
from kplate.render import Renderer  # noqa: E402
from kplate.spec.types import EXAMPLES, PlateType  # noqa: E402

OUT = REPO / "docs" / "images" / "augment" / "surround.png"
PRESETS = ("light", "night", "cctv")
PER_PRESET = 4
CELL_W, CELL_H, LABEL = 300, 90, 14


def pairs(preset: str, renderer: Renderer) -> list[tuple[np.ndarray, np.ndarray, str]]:
    augmenter = build_augmenter(preset)
    types = [PlateType.PRIVATE_2DIGIT, PlateType.PRIVATE_3DIGIT, PlateType.COMMERCIAL_TWO_ROW]
    types += [PlateType.ELECTRIC, PlateType.COMMERCIAL_LONG]
    found = []
    for seed in range(400):
        plate_type = types[seed % len(types)]
        plate = renderer.render(EXAMPLES[plate_type], plate_type, height=110)
        image, _, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        around = params.get("surround", {})
        if not ({"frame", "dealer"} & set(around)):
            continue
        bare_params = {**params, "surround": {}}
        bare, _ = augmenter.apply(plate.image, plate.record, bare_params)
        found.append((bare, image, f"{preset} seed {seed}: {', '.join(sorted(around))}"))
        if len(found) == PER_PRESET:
            break
    return found


def _fit(image: np.ndarray) -> Image.Image:
    picture = Image.fromarray(image)
    scale = min(CELL_W / picture.width, CELL_H / picture.height)
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture.resize(size, Image.Resampling.LANCZOS)


def main() -> None:
    renderer = Renderer()
    rows = [pair for preset in PRESETS for pair in pairs(preset, renderer)]
    sheet = Image.new("RGB", (2 * CELL_W + 30, len(rows) * (CELL_H + LABEL) + 16), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 2), "before (no surround)", fill="black")
    draw.text((CELL_W + 30, 2), "after", fill="black")
    for i, (before, after, label) in enumerate(rows):
        y = 16 + i * (CELL_H + LABEL)
        draw.text((4, y), label, fill=(160, 0, 0))
        sheet.paste(_fit(before), (0, y + LABEL))
        sheet.paste(_fit(after), (CELL_W + 30, y + LABEL))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(OUT, optimize=True)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
