"""`kplate preview`: a contact sheet of one plate under many augmentations.

With `--real DIR`, real crops (any .jpg/.jpeg/.png below DIR) are laid out beside the
synthetic ones, labelled "real", so the augmentation can be judged against the camera.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kplate.cli.options import add_glyph_options, make_output_folder
from kplate.errors import KplateError
from kplate.io.files import atomic_save_image
from kplate.io.paths import refuse_overlap
from kplate.pipeline.preview import preview_sheet, real_crops
from kplate.render import Renderer, glyph_source

#: The most augmented samples one sheet shows: a sheet is for looking at, and its pixels
#: grow with the count.
MAX_PREVIEW_COUNT = 1000


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "preview",
        help="contact sheet of one plate under many augmentations",
        description=__doc__.splitlines()[0],
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--augment",
        default=None,
        metavar="PRESET",
        help="light, heavy, cctv, night or mix (default light)",
    )
    which.add_argument("--augment-config", metavar="FILE", help="YAML augmentation config")
    parser.add_argument("--text", default="12가3456", help="plate text (default 12가3456)")
    parser.add_argument("--type", default=None, help="plate type id (inferred when omitted)")
    parser.add_argument("--count", type=int, default=24, help="augmented samples (24)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--height", type=int, default=110, help="plate height in pixels (110)")
    parser.add_argument("--columns", type=int, default=4, help="sheet columns (4)")
    parser.add_argument("--real", metavar="DIR", help="folder of real crops to show alongside")
    parser.add_argument("--out", required=True, help="sheet image to write (.png or .jpg)")
    add_glyph_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kplate.pipeline import MAX_SEED

    if not 1 <= args.count <= MAX_PREVIEW_COUNT:
        raise KplateError(f"--count must be 1 to {MAX_PREVIEW_COUNT}, got {args.count}")
    if not 1 <= args.columns <= MAX_PREVIEW_COUNT:
        raise KplateError(f"--columns must be 1 to {MAX_PREVIEW_COUNT}, got {args.columns}")
    if not 0 <= args.seed <= MAX_SEED:
        raise KplateError(f"--seed must be 0 to {MAX_SEED} (2**63 - 1), got {args.seed}")
    if not args.out.strip():
        raise KplateError("--out: empty; name the sheet image to write")
    out = Path(args.out)
    if out.is_dir():
        raise KplateError(f"--out {out}: is a folder; give the sheet's file name (.png or .jpg)")
    inputs = [("--real", args.real), ("--font", args.font), ("--glyph-dir", args.glyph_dir)]
    inputs.append(("--augment-config", args.augment_config))
    refuse_overlap(out, [(flag, Path(v) if v else None) for flag, v in inputs])
    spec = args.augment_config or args.augment or "light"
    real = real_crops(Path(args.real), args.count, args.seed) if args.real else None
    renderer = Renderer(glyph_source(args.font, args.glyph_dir))
    sheet = preview_sheet(
        spec,
        args.text,
        args.type,
        count=args.count,
        seed=args.seed,
        height=args.height,
        columns=args.columns,
        real=real,
        renderer=renderer,
    )
    make_output_folder(out.parent)
    atomic_save_image(sheet, out)
    shown = f" and {len(real)} real crops" if real else ""
    print(f"wrote {out}: {args.count} augmentations{shown}")
    return 0
