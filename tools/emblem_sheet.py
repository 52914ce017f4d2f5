"""Draw close-ups of the electric and film plate artwork (docs/images/emblems/) for review.

One sheet at about 3.9 px/mm (the emblems as a close photograph shows them: the left
column, the EV logo with the seal hole, the film band) and the two plates whole at the
default 110 px height, where the emblems' lettering merges into fine rings.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kplate.render import Renderer  # noqa: E402
from kplate.spec import PlateType  # noqa: E402

CLOSE_HEIGHT = 430  # 2033 px wide: the widest 520 x 110 plate under the 2048 px limit
GAP = 12


def _crop(image: np.ndarray, x0_mm: float, x1_mm: float) -> np.ndarray:
    scale = image.shape[1] / 520.0
    return image[:, round(x0_mm * scale) : round(x1_mm * scale)]


def main(out_dir: Path = REPO / "docs" / "images" / "emblems") -> None:
    renderer = Renderer()
    ev = renderer.render("52가3108", PlateType.ELECTRIC, height=CLOSE_HEIGHT).image
    film = renderer.render("103호5845", PlateType.PRIVATE_3DIGIT_FILM, height=CLOSE_HEIGHT).image
    parts = [_crop(ev, 0, 110), _crop(ev, 440, 520), _crop(film, 0, 110)]
    width = sum(p.shape[1] for p in parts) + GAP * (len(parts) - 1)
    sheet = np.full((CLOSE_HEIGHT, width, 3), 255, np.uint8)
    x = 0
    for part in parts:
        sheet[:, x : x + part.shape[1]] = part
        x += part.shape[1] + GAP
    out_dir.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(out_dir / "closeup.png", optimize=True)
    small = [
        renderer.render("52가3108", PlateType.ELECTRIC).image,
        renderer.render("103호5845", PlateType.PRIVATE_3DIGIT_FILM).image,
    ]
    whole = np.full((2 * 110 + GAP, small[0].shape[1], 3), 255, np.uint8)
    whole[:110], whole[110 + GAP :] = small
    Image.fromarray(whole).save(out_dir / "plates-110px.png", optimize=True)
    print(f"wrote {out_dir}/closeup.png and plates-110px.png")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "images" / "emblems")
