"""`kplate preview`: a contact sheet of one plate under many augmentations.

With `--real DIR`, real crops (any .jpg/.jpeg/.png below DIR) are laid out beside the
synthetic ones, labelled "real", so the augmentation can be judged against the camera.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from kplate.cli.samples_cmd import add_glyph_options
from kplate.errors import KplateError
from kplate.io.files import atomic_save_image
from kplate.io.paths import refuse_overlap
from kplate.render import Renderer, glyph_source
from kplate.render.sheet import contact_sheet

REAL_SUFFIXES = {".jpg", ".jpeg", ".png"}


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
        help="light, heavy, cctv or night (default light)",
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


def real_crops(folder: Path, limit: int, seed: int = 0) -> list[Image.Image]:
    """Up to `limit` real crops below `folder`, an even-handed seeded pick of all of them."""
    if not folder.is_dir():
        raise KplateError(f"{folder}: not a folder")
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in REAL_SUFFIXES
    )
    if not files:
        raise KplateError(f"{folder}: no .jpg or .png images found")
    if len(files) > limit:
        picks = np.random.default_rng(seed).choice(len(files), size=limit, replace=False)
        files = [files[i] for i in sorted(picks)]
    from kplate.io.images import UnreadableImage, open_image

    crops = []
    for path in files:
        try:
            crops.append(open_image(path, "RGB"))
        except UnreadableImage:
            continue  # an unreadable file is skipped, not fatal: the sheet is for looking
    return crops


def preview_sheet(
    spec: str,
    text: str,
    plate_type: str | None,
    *,
    count: int,
    seed: int,
    height: int,
    columns: int = 4,
    real: list[Image.Image] | None = None,
    renderer: Renderer | None = None,
) -> Image.Image:
    """The clean plate, `count` augmentations of it and (optionally) real crops."""
    from kplate.augment import build_augmenter
    from kplate.io.generate import plate_seed

    augmenter = build_augmenter(spec)
    renderer = renderer or Renderer()
    plate = renderer.render(text, plate_type, height=height)
    items: list[tuple[np.ndarray | Image.Image, str]] = [(plate.image, "clean")]
    for index in range(count):
        rng = np.random.default_rng(plate_seed(seed, index))
        image, _, _ = augmenter(plate.image, plate.record, rng)
        items.append((image, f"{augmenter.name} #{index}"))
    # Real crops come after the synthetic ones, so the two can be compared row by row.
    items.extend((crop, "real") for crop in real or [])
    cell = min(height, 96)
    return contact_sheet(items, columns=columns, cell_height=cell)


def run(args: argparse.Namespace) -> int:
    if args.count < 1:
        raise KplateError(f"--count must be 1 or more, got {args.count}")
    if args.columns < 1:
        raise KplateError(f"--columns must be 1 or more, got {args.columns}")
    if not args.out.strip():
        raise KplateError("--out: empty; name the sheet image to write")
    inputs = [("--real", args.real), ("--font", args.font), ("--glyph-dir", args.glyph_dir)]
    inputs.append(("--augment-config", args.augment_config))
    refuse_overlap(Path(args.out), [(flag, Path(v) if v else None) for flag, v in inputs])
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
    out = Path(args.out)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    atomic_save_image(sheet, out)
    shown = f" and {len(real)} real crops" if real else ""
    print(f"wrote {out}: {args.count} augmentations{shown}")
    return 0
