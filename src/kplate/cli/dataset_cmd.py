"""`kplate dataset`: unpaired trainA/trainB/testA/testB folders for the GAN.

The earlier project's make_dataset.py command works verbatim, with its meaning:
`--in_im_paths DIR` is the synthetic source, `--out_im_paths DIR` the real source, and
`--trainA DIR` / `--trainB DIR` are the folders the synthetic and the real images are
copied into (every usable image, or `--num_imgs N` of each; `--type train|test` records
which phase they are). Without `--trainA`/`--trainB` the old source flags are aliases:
`--in_im_paths` = `--synthetic`, `--out_im_paths` = `--real`, `--num_imgs` = `--max-images`.
`--type train|test` with `--out` restricts the build to that phase's folders: the same
text-hash split is computed and only that side is written; run it again with the other
`--type` (same --seed and --test-fraction) to add the other side to the same dataroot.
Unlike the old script, every image is decoded before it is kept, `--num_imgs` is obeyed,
`.JPG` and other upper-case extensions are found, and there are no built-in paths.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kplate.errors import KplateError

DEFAULT_TEST_FRACTION = 0.1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dataset",
        help="build a GAN dataroot (trainA/trainB/testA/testB) from synthetic and real plates",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inputs = parser.add_argument_group("inputs")
    inputs.add_argument(
        "--synthetic",
        metavar="DIR",
        help="domain A: a `kplate generate` output (labels kept) or a folder of images",
    )
    inputs.add_argument(
        "--real",
        metavar="DIR",
        help="domain B: a folder of real crops (recursive), or one with labels.csv (file,text)",
    )
    inputs.add_argument(
        "--in_im_paths", metavar="DIR", help="old make_dataset.py name of --synthetic"
    )
    inputs.add_argument("--out_im_paths", metavar="DIR", help="old make_dataset.py name of --real")
    output = parser.add_argument_group("output")
    output.add_argument("--out", metavar="DATAROOT", help="the dataroot to build")
    output.add_argument(
        "--trainA",
        dest="trainA",
        metavar="DIR",
        help="old make_dataset.py form: copy the synthetic images into DIR (with --trainB)",
    )
    output.add_argument(
        "--trainB",
        dest="trainB",
        metavar="DIR",
        help="old make_dataset.py form: copy the real images into DIR (with --trainA)",
    )
    output.add_argument(
        "--test-fraction",
        type=float,
        default=DEFAULT_TEST_FRACTION,
        help=f"share of plate texts that go to testA/testB (default {DEFAULT_TEST_FRACTION})",
    )
    output.add_argument(
        "--max-images",
        "--num_imgs",
        dest="max_images",
        type=int,
        default=None,
        metavar="N",
        help="at most N images per domain (a seeded sample; default all)",
    )
    output.add_argument(
        "--mode",
        choices=["copy", "link"],
        default="copy",
        help="copy files, or symlink them (copies where links fail; default copy)",
    )
    output.add_argument("--seed", type=int, default=0, help="split and sampling seed (default 0)")
    output.add_argument(
        "--type",
        dest="phase",
        choices=["train", "test"],
        default=None,
        help="build only this phase's folders; with --trainA/--trainB, the phase they hold",
    )
    output.add_argument(
        "--overwrite",
        action="store_true",
        help="rebuild a dataroot (or --trainA/--trainB copies) kplate built from other inputs",
    )
    parser.set_defaults(handler=run)


def _one(args: argparse.Namespace, *names: str) -> str | None:
    """The value of a flag given under any of its names; two different values are an error."""
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if len(set(given.values())) > 1:
        flags = " and ".join(f"--{name}" for name in given)
        raise KplateError(f"{flags} name the same thing; give one of them")
    return next(iter(given.values()), None)


def resolve_sources(args: argparse.Namespace) -> tuple[Path, Path]:
    """(synthetic, real) from the new and the old flags."""
    synthetic = _one(args, "synthetic", "in_im_paths")
    real = _one(args, "real", "out_im_paths")
    if synthetic is None:
        raise KplateError("--synthetic DIR (or --in_im_paths) is required")
    if real is None:
        raise KplateError("--real DIR (or --out_im_paths) is required")
    return Path(synthetic), Path(real)


def resolve_paths(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """(synthetic, real, out) for a dataroot build."""
    synthetic, real = resolve_sources(args)
    if args.out is None:
        raise KplateError("--out DATAROOT is required (or --trainA DIR --trainB DIR)")
    return synthetic, real, Path(args.out)


def run_copy(args: argparse.Namespace) -> int:
    """The earlier make_dataset.py form: each domain copied into its own folder."""
    from kplate.dataset import Mode, Phase
    from kplate.dataset.copy import CopyTarget, copy_domains

    if args.out is not None:
        raise KplateError("--out builds a dataroot; --trainA/--trainB copy into folders: give one")
    if args.trainA is None or args.trainB is None:
        raise KplateError("--trainA and --trainB go together: the folders for both domains")
    synthetic, real = resolve_sources(args)
    targets = [
        CopyTarget(
            synthetic, Path(args.trainA), _given(args, "synthetic", "in_im_paths"), "--trainA"
        ),
        CopyTarget(real, Path(args.trainB), _given(args, "real", "out_im_paths"), "--trainB"),
    ]
    results = copy_domains(
        targets,
        phase=Phase(args.phase or "train"),
        max_images=args.max_images,
        seed=args.seed,
        mode=Mode(args.mode),
        overwrite=args.overwrite,
    )
    for result in results:
        print(result.line())
    return 0


def _given(args: argparse.Namespace, *names: str) -> str:
    """The flag the user actually typed for a value, for error messages."""
    return next(f"--{name}" for name in names if getattr(args, name) is not None)


def run(args: argparse.Namespace) -> int:
    from kplate.dataset import DatasetOptions, Mode, Phase, build_dataset
    from kplate.io.run_folder import output_folder

    if args.trainA is not None or args.trainB is not None:
        return run_copy(args)
    if args.out is not None:
        output_folder(args.out)  # an empty --out would be the working directory
    synthetic, real, out = resolve_paths(args)
    options = DatasetOptions(
        synthetic=synthetic,
        real=real,
        out=out,
        test_fraction=args.test_fraction,
        max_images=args.max_images,
        mode=Mode(args.mode),
        seed=args.seed,
        phase=Phase(args.phase) if args.phase else None,
        overwrite=args.overwrite,
    )
    for line in build_dataset(options).lines():
        print(line)
    return 0
