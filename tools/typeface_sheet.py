"""Draw contact sheets of every built-in glyph (docs/images/typeface.png) and of the
notice's digits above the older round ones (docs/images/old_digits.png) for review."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kplate.render.typeface import DIGITS, SYLLABLES, old_digits, outline, rasterize  # noqa: E402

PX_PER_MM = 1.6
COLS = 16


def main(out: Path = REPO / "docs" / "images" / "typeface.png") -> None:
    """Render all glyphs at one scale, digits first, on a white sheet with labels."""
    chars = DIGITS + SYLLABLES
    cell_w, cell_h = int(60 * PX_PER_MM), int(90 * PX_PER_MM)
    rows = (len(chars) + COLS - 1) // COLS
    sheet = np.full((rows * cell_h, COLS * cell_w), 255, np.uint8)
    for i, ch in enumerate(chars):
        g = outline(ch)
        w, h = round(g.width * PX_PER_MM), round(g.height * PX_PER_MM)
        cov = rasterize(g, w, h)
        r, c = divmod(i, COLS)
        x0 = c * cell_w + (cell_w - w) // 2
        y0 = r * cell_h + int(8 * PX_PER_MM)
        sheet[y0 : y0 + h, x0 : x0 + w] = (255 * (1 - cov)).astype(np.uint8)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), sheet)
    print(f"wrote {out}")


def old_digits_sheet(out: Path = REPO / "docs" / "images" / "old_digits.png") -> None:
    """The notice's digits (top row) and the older face (bottom) in the same boxes."""
    cell_w, cell_h = int(60 * PX_PER_MM), int(90 * PX_PER_MM)
    sheet = np.full((2 * cell_h, len(DIGITS) * cell_w), 255, np.uint8)
    for c, ch in enumerate(DIGITS):
        g = outline(ch)
        w, h = round(g.width * PX_PER_MM), round(g.height * PX_PER_MM)
        for r, cov in enumerate((rasterize(g, w, h), old_digits.coverage(ch, w, h))):
            x0, y0 = c * cell_w + (cell_w - w) // 2, r * cell_h + int(8 * PX_PER_MM)
            sheet[y0 : y0 + h, x0 : x0 + w] = (255 * (1 - cov)).astype(np.uint8)
    cv2.imwrite(str(out), sheet)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "images" / "typeface.png")
    old_digits_sheet()
