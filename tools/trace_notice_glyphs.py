"""Trace the plate glyphs drawn in notice 2018-529 into kplate's outline data module.

The notice's annex pages are 96-dpi raster scans of dimensioned drawings: each glyph sits
in a grey millimetre-grid cell (56 x 83 mm for digits, 96 x 83 mm for Hangul). This script
extracts the page images with ``pdfimages``, finds the cells, thresholds the black ink on
an 8x upsampled, lightly blurred copy (sub-pixel edges), traces the contours and writes them,
in millimetres, to ``tools/typeface_sources/outlines_data.py``.

Re-run it from the repository root (needs ``../shared/spec/notice-2018-529.pdf`` and
poppler-utils); the repository itself only needs the generated module.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
PDF = REPO.parent / "shared" / "spec" / "notice-2018-529.pdf"
OUT = REPO / "tools" / "typeface_sources" / "outlines_data.py"

# Cells in reading order (top row left to right, then bottom row) on each page.
PAGES: dict[int, str] = {
    8: "01",
    9: "2345",
    10: "6789",
    11: "가나다라",
    12: "마거너더",
    13: "러머고노",
    14: "도로모구",
    15: "누두루무",
    16: "버서어저",
    17: "보소오조",
    18: "부수우주",
    19: "허하호",
}
# Glyph heights (mm) as dimensioned on the drawings; every Hangul syllable is 64.8 mm.
DIGIT_HEIGHT: dict[str, float] = {
    "0": 75.0,
    "1": 74.2,
    "2": 74.8,
    "3": 73.3,
    "4": 74.0,
    "5": 73.8,
    "6": 74.6,
    "7": 73.0,
    "8": 75.0,
    "9": 74.0,
}
HANGUL_HEIGHT = 64.8
UP = 8  # upsampling factor for sub-pixel tracing
INK_LEVEL = 100  # grey level below which a 1x pixel counts as glyph ink (grid is lighter)
# Threshold as a fraction of the local background level; calibrated so that the traced
# stroke widths match the dimensioned ones (1: 9.7, 0: 9.5, Hangul stems 8.2 mm).
EDGE_FRACTION = 0.45
APPROX_MM = 0.15


def page_image(page: int, tmp: Path) -> np.ndarray:
    """The page's single embedded scan, in grey levels."""
    prefix = tmp / f"p{page}"
    subprocess.run(
        ["pdfimages", "-f", str(page), "-l", str(page), "-png", str(PDF), str(prefix)],
        check=True,
    )
    files = sorted(tmp.glob(f"p{page}-*.png"))
    im = cv2.imread(str(files[0]), cv2.IMREAD_GRAYSCALE)
    if im is None:
        raise RuntimeError(f"cannot read page {page}")
    return im


def find_cells(im: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes of the grey grid cells, in reading order."""
    dense = cv2.blur((im < 235).astype(np.float32), (9, 9)) > 0.55
    n, _, stats, _ = cv2.connectedComponentsWithStats(dense.astype(np.uint8))
    cells = []
    for k in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[k])
        ratio = w / h
        if area > 4000 and (0.6 < ratio < 0.75 or 1.05 < ratio < 1.25):
            cells.append((x, y, w, h))
    cells.sort(key=lambda c: (round(c[1] / 200), c[0]))
    return cells


def glyph_mask(im: np.ndarray, cell: tuple[int, int, int, int]) -> np.ndarray:
    """Sub-pixel ink mask (UP x resolution) of the glyph inside one cell."""
    x, y, w, h = cell
    crop = im[y : y + h, x : x + w].astype(np.float32)
    ink = (crop < INK_LEVEL).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(ink)
    keep = np.zeros_like(ink)
    for k in range(1, n):
        area = int(stats[k][cv2.CC_STAT_AREA])
        # Glyph parts are big and thick; dimension lines, arrows and labels are not.
        thick = cv2.erode((lab == k).astype(np.uint8), np.ones((5, 5), np.uint8)).any()
        if area >= 60 and thick:
            keep[lab == k] = 1
    roi = cv2.dilate(keep, np.ones((5, 5), np.uint8))
    background = float(np.median(crop[roi == 0]))
    crop = np.where(roi > 0, crop, background)
    big = cv2.resize(crop, (w * UP, h * UP), interpolation=cv2.INTER_CUBIC)
    big = cv2.GaussianBlur(big, (0, 0), UP * 0.45)
    return (big < background * EDGE_FRACTION).astype(np.uint8)


def trace(mask: np.ndarray, mm_per_px: float) -> list[list[tuple[tuple[float, float], ...]]]:
    """Components (outer contour then holes) in mm, origin at the ink bbox's top-left."""
    ys, xs = np.nonzero(mask)
    x0, y0 = xs.min(), ys.min()
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    comps: list[list[tuple[tuple[float, float], ...]]] = []
    for i, c in enumerate(contours):
        if hierarchy[0][i][3] != -1 or cv2.contourArea(c) < (2.0 / mm_per_px) ** 2:
            continue
        group = [c]
        child = hierarchy[0][i][2]
        while child != -1:
            if cv2.contourArea(contours[child]) > (1.0 / mm_per_px) ** 2:
                group.append(contours[child])
            child = hierarchy[0][child][0]
        comp = []
        for g in group:
            poly = cv2.approxPolyDP(g, APPROX_MM / mm_per_px, True)[:, 0, :].astype(float)
            # pixel centres sit at +0.5: contour points are on the inner ink pixels
            pts = tuple(
                (round((px - x0 + 0.5) * mm_per_px, 1), round((py - y0 + 0.5) * mm_per_px, 1))
                for px, py in poly
            )
            comp.append(pts)
        comps.append(comp)
    comps.sort(key=lambda cp: (min(p[0] for p in cp[0]), min(p[1] for p in cp[0])))
    return comps


def main() -> int:
    if not PDF.exists():
        print(f"missing {PDF}", file=sys.stderr)
        return 1
    digits: dict[str, tuple] = {}
    hangul: dict[str, tuple] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for page, chars in PAGES.items():
            im = page_image(page, tmp)
            cells = find_cells(im)
            if len(cells) != len(chars):
                raise RuntimeError(f"page {page}: {len(cells)} cells for {chars}")
            for ch, cell in zip(chars, cells, strict=True):
                mask = glyph_mask(im, cell)
                ys, xs = np.nonzero(mask)
                h_px = ys.max() - ys.min() + 1
                w_px = xs.max() - xs.min() + 1
                height = DIGIT_HEIGHT.get(ch, HANGUL_HEIGHT)
                mm_per_px = height / h_px
                comps = trace(mask, mm_per_px)
                entry = (round(w_px * mm_per_px, 1), height, tuple(tuple(c) for c in comps))
                (digits if ch.isdigit() else hangul)[ch] = entry
                print(
                    f"p{page} {ch}: {entry[0]:.1f} x {height} mm, {len(comps)} parts, "
                    f"{1 / mm_per_px / UP:.3f} px/mm"
                )
    write_module(digits, hangul)
    return 0


def write_module(digits: dict[str, tuple], hangul: dict[str, tuple]) -> None:
    """Write the data module: plain nested tuples, cheap to import."""
    lines = [
        '"""Glyph outlines traced from the drawings of notice 2018-529 (MOLIT), in mm.',
        "",
        "GENERATED by tools/trace_notice_glyphs.py from the notice's annex drawings",
        "(digits: pp. 8-10, 2-digit plate; Hangul: pp. 11-19). Do not edit by hand.",
        "Each entry: (width, height, components); a component is its outer contour followed",
        "by its holes; points are (x, y) with the origin at the ink bbox's top-left, y down.",
        '"""',
        "",
        "# fmt: off",
    ]
    for name, table in (("DIGITS", digits), ("HANGUL", hangul)):
        lines.append(f"{name} = {{")
        for ch, (w, h, comps) in table.items():
            lines.append(f"    {ch!r}: ({w}, {h}, (")
            for comp in comps:
                lines.append("        (")
                for contour in comp:
                    lines.append("            (")
                    pts = [f"({x}, {y})," for x, y in contour]
                    for i in range(0, len(pts), 6):
                        lines.append("                " + " ".join(pts[i : i + 6]))
                    lines.append("            ),")
                lines.append("        ),")
            lines.append("    )),")
        lines.append("}")
    lines.append("# fmt: on")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    raise SystemExit(main())
