"""`kplate samples`: one rendered example of every plate type and a labelled contact sheet."""

from __future__ import annotations

import argparse
from pathlib import Path

from kplate.cli.options import add_glyph_options, make_output_folder
from kplate.io.files import atomic_save_image
from kplate.io.paths import refuse_overlap
from kplate.render import Renderer, glyph_source
from kplate.render.sheet import contact_sheet
from kplate.spec.types import EXAMPLES, PlateType, parse_plate_types

#: Beside `kplate generate`'s default ./kplate-out, not inside it: a generate run's folder
#: holds only what that run wrote, so samples inside it would stop the run's re-run.
DEFAULT_OUT = "kplate-samples"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "samples", help="render one sample of every plate type plus a contact sheet"
    )
    parser.add_argument(
        "--out", default=DEFAULT_OUT, help=f"output folder (default ./{DEFAULT_OUT})"
    )
    parser.add_argument("--height", type=int, default=110, help="plate height in pixels")
    parser.add_argument("--types", default="all", help="comma-separated type ids, or all")
    add_glyph_options(parser)
    parser.set_defaults(handler=run)


def write_samples(out: Path, types: list[PlateType], height: int, renderer: Renderer) -> list[Path]:
    """Write `<type>.png` per type and `contact_sheet.png`; returns the files written.

    Every image is drawn before the folder is made, so a size or glyph source that
    cannot draw leaves nothing behind (not even an empty folder).
    """
    # The label font is Latin-only; the plate itself shows its text.
    items = [(renderer.render(EXAMPLES[t], t, height=height).image, t.value) for t in types]
    sheet = contact_sheet(items, columns=3, cell_height=height)
    make_output_folder(out)
    written = []
    for image, name in items:
        atomic_save_image(image, out / f"{name}.png")
        written.append(out / f"{name}.png")
    atomic_save_image(sheet, out / "contact_sheet.png")
    written.append(out / "contact_sheet.png")
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
