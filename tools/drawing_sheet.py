"""Draw kplate's renders against the drawn ink boxes (docs/images/drawings/) for review.

Each plate of spec/drawings.py is rendered with kplate, the drawing's ink boxes are
outlined over it in red (an edge the drawing does not hold is left out), and each box is
labelled with its largest deviation in mm. Only kplate's own pixels and the numbers of
spec/drawings.py go into the sheet: no pixel of the notice or of the annex slides.
With `--markdown` it also prints the drawn-vs-kplate tables of docs/plate-types.md.

    python tools/drawing_sheet.py [--markdown]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kplate.render import Renderer  # noqa: E402
from kplate.spec import GEOMETRY  # noqa: E402
from kplate.spec.drawings import DRAWINGS, Drawing  # noqa: E402

PX_PER_MM = 1.5
SHEET_WIDTH = 800
CAPTION = 34
RED = (0, 0, 230)  # BGR
EDGES = ("x0", "x1", "y0", "y1")


def measured(renderer: Renderer, drawing: Drawing) -> list[dict[str, float]]:
    """kplate's ink boxes in mm for the drawing's text, rendered at about 4 px/mm."""
    geo = GEOMETRY[drawing.plate_type]
    scale = min(4.0, 2048 / geo.width)
    plate = renderer.render(
        drawing.text,
        drawing.plate_type,
        width=round(geo.width * scale),
        height=round(geo.height * scale),
    )
    sx, sy = plate.record.width / geo.width, plate.record.height / geo.height
    return [
        {"x0": b.box[0] / sx, "y0": b.box[1] / sy, "x1": b.box[2] / sx, "y1": b.box[3] / sy}
        for b in plate.record.chars
    ]


def deviation(drawing: Drawing, boxes: list[dict[str, float]]) -> list[float | None]:
    """Per character the largest |kplate - drawn| over the edges the drawing holds."""
    out: list[float | None] = []
    for drawn, got in zip(drawing.boxes, boxes, strict=True):
        held = [abs(got[e] - getattr(drawn, e)) for e in EDGES if getattr(drawn, e) is not None]
        out.append(max(held) if held else None)
    return out


def panel(renderer: Renderer, drawing: Drawing) -> np.ndarray:
    geo = GEOMETRY[drawing.plate_type]
    w, h = round(geo.width * PX_PER_MM), round(geo.height * PX_PER_MM)
    plate = renderer.render(drawing.text, drawing.plate_type, width=w, height=h)
    image = cv2.cvtColor(plate.image, cv2.COLOR_RGB2BGR)
    got = measured(renderer, drawing)
    devs = deviation(drawing, got)
    for drawn, box, dev in zip(drawing.boxes, got, devs, strict=True):
        # An edge the drawing does not hold is left out; a missing row is taken from
        # kplate's box so the held x edges still show.
        x0, x1 = drawn.x0, drawn.x1
        y0 = drawn.y0 if drawn.y0 is not None else box["y0"]
        y1 = drawn.y1 if drawn.y1 is not None else box["y1"]
        if x0 is not None and x1 is not None:
            if drawn.y0 is not None:
                cv2.line(image, _p(x0, y0), _p(x1, y0), RED, 1)
            if drawn.y1 is not None:
                cv2.line(image, _p(x0, y1), _p(x1, y1), RED, 1)
        for x in (x0, x1):
            if x is not None:
                cv2.line(image, _p(x, y0), _p(x, y1), RED, 1)
        if dev is not None:
            label = f"{dev:.1f}"
            org = _p(x0 if x0 is not None else box["x0"], min(y1 + 6, geo.height - 1))
            cv2.putText(image, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 3)
            cv2.putText(image, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.35, RED, 1)
    worst = max((d for d in devs if d is not None), default=0.0)
    kind = "approximate" if drawing.approximate else "drawn"
    caption = (
        f"{drawing.plate_type.value} {drawing.text}: {kind}, largest deviation "
        f"{worst:.1f} mm (tolerance {drawing.tolerance:.2f})"
    )
    canvas = np.full((h + CAPTION, SHEET_WIDTH, 3), 255, np.uint8)
    canvas[CAPTION : CAPTION + h, :w] = image
    cv2.putText(canvas, _ascii(caption), (4, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
    return canvas


def _p(x_mm: float, y_mm: float) -> tuple[int, int]:
    return round(x_mm * PX_PER_MM), round(y_mm * PX_PER_MM)


def _ascii(text: str) -> str:
    """OpenCV's Hershey fonts draw ASCII only: Hangul becomes '?', so the caption keeps
    the type id, and the full text is in the markdown tables."""
    return "".join(c if ord(c) < 128 else "?" for c in text)


def _span(edges: list[float | None]) -> str:
    """x0-x1, y0-y1 in mm; an edge the drawing does not hold shows as '?'."""
    text = ["?" if v is None else f"{v:.1f}" for v in edges]
    return f"{text[0]}-{text[1]}, {text[2]}-{text[3]}"


def markdown(renderer: Renderer) -> str:
    lines = []
    for drawing in DRAWINGS:
        got = measured(renderer, drawing)
        devs = deviation(drawing, got)
        kind = "approximate: " if drawing.approximate else ""
        lines += [
            f"**{drawing.plate_type.value} `{drawing.text}`** ({kind}{drawing.source}; "
            f"tolerance {drawing.tolerance:.2f} mm)",
            "",
            "| char | drawn x0-x1 / y0-y1 | kplate x0-x1 / y0-y1 | largest deviation |",
            "|---|---|---|---|",
        ]
        for drawn, box, dev in zip(drawing.boxes, got, devs, strict=True):
            want = _span([getattr(drawn, e) for e in EDGES])
            have = _span([box[e] for e in EDGES])
            shown = "not held" if dev is None else f"{dev:.1f}"
            lines.append(f"| {drawn.char} | {want} | {have} | {shown} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "drawings")
    parser.add_argument("--markdown", action="store_true", help="print the tables too")
    args = parser.parse_args()
    renderer = Renderer()
    panels = [panel(renderer, d) for d in DRAWINGS]
    args.out.mkdir(parents=True, exist_ok=True)
    half = (len(panels) + 1) // 2
    for index, part in enumerate((panels[:half], panels[half:]), start=1):
        path = args.out / f"drawings_{index}.png"
        rgb = cv2.cvtColor(np.vstack(part), cv2.COLOR_BGR2RGB)
        # 64 colours keep the plates and outlines legible at a fifth of the file size.
        Image.fromarray(rgb).quantize(colors=64).save(path, optimize=True)
        print(f"wrote {path}")
    if args.markdown:
        print(markdown(renderer))


if __name__ == "__main__":
    main()
