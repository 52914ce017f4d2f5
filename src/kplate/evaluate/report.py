"""Self-contained HTML report pages: tables, PNG plots and thumbnails, all relative paths.

A page opens straight from disk (file://) with no server and loads nothing from the
network: styles are inline and every image is a PNG written next to index.html.
"""

from __future__ import annotations

import contextlib
import html
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from kplate.errors import KplateError
from kplate.io.files import atomic_save_image, atomic_write_text
from kplate.io.images import UnreadableImage, open_image
from kplate.io.lock import claimed_folder, refuse_if_busy
from kplate.io.paths import refuse_overlap
from kplate.io.run_folder import output_folder, refuse_unfinished

STYLE = """
body{font-family:sans-serif;margin:1.5em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:14px}
th{background:#eee}
img.thumb{height:40px;image-rendering:auto}
.bad{color:#b00}
.ok{color:#070}
code{font-size:15px}
"""


def esc(value: Any) -> str:
    return html.escape(str(value))


def fmt(value: Any) -> str:
    """Numbers to 4 significant places, everything else as text."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], raw: bool = False) -> str:
    """An HTML table; cells are escaped unless `raw` (for cells that hold <img> or <code>)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    cell = (lambda v: fmt(v)) if raw else (lambda v: esc(fmt(v)))
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def img(src: str, alt: str = "", cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<img src="{esc(src)}" alt="{esc(alt)}"{klass}>'


def write_page(out: Path, title: str, sections: Sequence[tuple[str, str]]) -> Path:
    """index.html in `out` from (heading, html body) sections."""
    parts = [f"<h2>{esc(h)}</h2>\n{body}" if h else body for h, body in sections]
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n"
        f"<body><h1>{esc(title)}</h1>\n" + "\n".join(parts) + "\n</body></html>\n"
    )
    path = out / "index.html"
    atomic_write_text(path, page)
    return path


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def save_thumbnail(source: Path | Image.Image, out: Path, name: str, height: int = 48) -> str:
    """A small PNG copy of the image under out/thumbs/; returns its path relative to out."""
    relative = f"thumbs/{name}.png"
    (out / "thumbs").mkdir(parents=True, exist_ok=True)
    try:
        if isinstance(source, Image.Image):
            image = source.convert("RGB")
        else:
            image = open_image(source, "RGB")
    except UnreadableImage:
        image = Image.new("RGB", (height * 3, height), (200, 200, 200))
    width = max(1, round(image.width * height / max(1, image.height)))
    atomic_save_image(image.resize((width, height), Image.Resampling.BILINEAR), out / relative)
    return relative


def sample_grid(paths: Sequence[Path], out: Path, name: str, columns: int = 6) -> str:
    """A grid PNG of up to len(paths) images at 40x128; returns its relative path."""
    tile_h, tile_w, gap = 40, 128, 4
    tiles = []
    for path in paths:
        try:
            tiles.append(np.asarray(open_image(path, "RGB").resize((tile_w, tile_h))))
        except UnreadableImage:
            continue
    rows = max(1, -(-len(tiles) // columns))
    sheet = np.full(
        (rows * (tile_h + gap) + gap, columns * (tile_w + gap) + gap, 3), 255, dtype=np.uint8
    )
    for k, tile in enumerate(tiles):
        r, c = divmod(k, columns)
        y, x = gap + r * (tile_h + gap), gap + c * (tile_w + gap)
        sheet[y : y + tile_h, x : x + tile_w] = tile
    relative = f"{name}.png"
    atomic_save_image(sheet, out / relative)
    return relative


def new_figure(width: float = 6.0, height: float = 3.5) -> Any:
    """A matplotlib figure on the Agg backend (no display needed)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def save_figure(figure: Any, out: Path, name: str) -> str:
    figure.tight_layout()
    relative = f"{name}.png"
    tmp = out / f".{name}.tmp.png"
    figure.savefig(tmp, format="png")
    tmp.replace(out / relative)
    return relative


def loss_plot(history: Sequence[tuple[int, float]], out: Path, name: str = "loss") -> str:
    figure = new_figure()
    axes = figure.add_subplot(1, 1, 1)
    if history:
        steps, losses = zip(*history, strict=True)
        axes.plot(steps, losses)
        axes.set_yscale("log")
    axes.set_xlabel("step")
    axes.set_ylabel("CTC loss (train, augmented)")
    axes.grid(True, alpha=0.3)
    return save_figure(figure, out, name)


# -- the report folder ----------------------------------------------------------------------


def check_report_folder(out: str | Path, inputs: Sequence[tuple[str, str | Path | None]]) -> Path:
    """The report folder, refused in one line before anything is made when it cannot be
    one or overlaps an input (a report written into a dataset would become part of it),
    and each input refused when it is an unfinished kplate output."""
    path = output_folder(out)
    given = [(flag, Path(value)) for flag, value in inputs if value is not None]
    refuse_overlap(path, given)
    for flag, value in given:
        if value.is_dir():
            refuse_unfinished(value, flag)
    return path


@contextlib.contextmanager
def report_folder(out: str | Path) -> Iterator[Path]:
    """Create the report folder and hold its lock for the block (the command's own
    `check_report_folder` checks it against the inputs); a folder created here is removed
    again when the block fails before writing into it."""
    path = output_folder(out)
    if path.is_dir():
        refuse_if_busy(path)
    with claimed_folder(path):
        yield path


def make_out(out: str | Path) -> Path:
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise KplateError(f"{out}: cannot create report folder ({error.strerror})") from None
    return out
