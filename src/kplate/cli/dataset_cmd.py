"""`kplate dataset`: unpaired trainA/trainB/testA/testB folders for the GAN.

The earlier project's make_dataset.py flags are accepted as aliases:
`--trainA DIR` = `--synthetic DIR` (domain A), `--trainB DIR` = `--real DIR` (domain B),
`--out_im_paths DIR` = `--out DIR`, `--num_imgs N` = `--max-images N`.
`--in_im_paths DIR` is the old single source folder: it fills whichever domain no other
flag names (domain A when neither is named; it is an error when both are).
`--type train|test` restricts the build to that phase's folders: the same text-hash split
is computed and only that side is written; run it again with the other `--type` (same
--seed and --test-fraction) to add the other side to the same dataroot. Unlike the old
script, testB holds real images, `--num_imgs` is obeyed, `.JPG` and other upper-case
extensions are found, and there are no built-in paths.
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
    inputs.add_argument("--trainA", dest="trainA", metavar="DIR", help="old name of --synthetic")
    inputs.add_argument(
        "--real",
        metavar="DIR",
        help="domain B: a folder of real crops (recursive), or one with labels.csv (file,text)",
    )
    inputs.add_argument("--trainB", dest="trainB", metavar="DIR", help="old name of --real")
    inputs.add_argument(
        "--in_im_paths",
        metavar="DIR",
        help="old single source folder: fills the domain that no other flag names",
    )
    output = parser.add_argument_group("output")
    output.add_argument("--out", metavar="DATAROOT", help="the dataroot to build")
    output.add_argument("--out_im_paths", metavar="DIR", help="old name of --out")
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
        help="build only this phase's folders (old make_dataset.py flag)",
    )
    output.add_argument(
        "--overwrite",
        action="store_true",
        help="rebuild an existing kplate dataroot built from other inputs or options",
    )
    parser.set_defaults(handler=run)


def _one(args: argparse.Namespace, *names: str) -> str | None:
    """The value of a flag given under any of its names; two different values are an error."""
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if len(set(given.values())) > 1:
        flags = " and ".join(f"--{name}" for name in given)
        raise KplateError(f"{flags} name the same thing; give one of them")
    return next(iter(given.values()), None)


def resolve_paths(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """(synthetic, real, out) from the new and the old flags."""
    synthetic = _one(args, "synthetic", "trainA")
    real = _one(args, "real", "trainB")
    if args.in_im_paths is not None:
        if synthetic is None:
            synthetic = args.in_im_paths
        elif real is None:
            real = args.in_im_paths
        else:
            raise KplateError("--in_im_paths is not needed when --synthetic and --real are given")
    out = _one(args, "out", "out_im_paths")
    if synthetic is None:
        raise KplateError("--synthetic DIR (or --trainA) is required")
    if real is None:
        raise KplateError("--real DIR (or --trainB) is required")
    if out is None:
        raise KplateError("--out DATAROOT (or --out_im_paths) is required")
    return Path(synthetic), Path(real), Path(out)


def run(args: argparse.Namespace) -> int:
    from kplate.dataset import DatasetOptions, Mode, Phase, build_dataset
    from kplate.io.run_folder import output_folder

    if getattr(args, "out", None) is not None:
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
