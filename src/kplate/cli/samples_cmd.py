"""`kplate samples`: one rendered example of every plate type and a labelled contact sheet."""

from __future__ import annotations

import argparse
from pathlib import Path

from kplate.errors import KplateError
from kplate.io.files import atomic_save_image
from kplate.io.paths import refuse_overlap
from kplate.render import Renderer, glyph_source
from kplate.render.sheet import contact_sheet
from kplate.spec.types import EXAMPLES, PlateType, parse_plate_types


def add_glyph_options(parser: argparse.ArgumentParser) -> None:
    """The renderer's glyph options, shared by every command that draws plates."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--font", metavar="PATH", help="draw with this TTF/OTF font")
    group.add_argument(
        "--glyph-dir",
        "--glyph_dir",
        dest="glyph_dir",
        metavar="DIR",
        help="draw with glyph images in DIR/digits, DIR/letters, DIR/regions",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "samples", help="render one sample of every plate type plus a contact sheet"
    )
    parser.add_argument("--out", default="kplate-out/samples", help="output folder")
    parser.add_argument("--height", type=int, default=110, help="plate height in pixels")
    parser.add_argument("--types", default="all", help="comma-separated type ids, or all")
    add_glyph_options(parser)
    parser.set_defaults(handler=run)


def write_samples(out: Path, types: list[PlateType], height: int, renderer: Renderer) -> list[Path]:
    """Write `<type>.png` per type and `contact_sheet.png`; returns the files written.

    Everything is drawn before the folder is made, so a size that cannot be drawn leaves
    no empty folder behind."""
    items = []
    for plate_type in types:
        plate = renderer.render(EXAMPLES[plate_type], plate_type, height=height)
        # The label font is Latin-only; the plate itself shows its text.
        items.append((plate.image, plate_type.value))
    sheet = contact_sheet(items, columns=3, cell_height=height)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise KplateError(f"{out}: cannot create output folder ({error.strerror})") from None
    written = []
    for image, name in [*items, (sheet, "contact_sheet")]:
        path = out / f"{name}.png"
        atomic_save_image(image, path)
        written.append(path)
    return written


def run(args: argparse.Namespace) -> int:
    from kplate.io.run_folder import output_folder

    out = output_folder(args.out)
    inputs = [("--font", args.font), ("--glyph-dir", args.glyph_dir)]
    refuse_overlap(out, [(flag, Path(value) if value else None) for flag, value in inputs])
    renderer = Renderer(glyph_source(args.font, args.glyph_dir))
    written = write_samples(out, parse_plate_types(args.types), args.height, renderer)
    print(f"wrote {len(written) - 1} samples and {written[-1]}")
    return 0
