"""`kplate translate`, `kplate test` (the earlier test.py) and `kplate export`."""

from __future__ import annotations

import argparse
import html
from pathlib import Path

from kplate.errors import KplateError
from kplate.io.paths import refuse_overlap


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="the training run's name")
    parser.add_argument(
        "--checkpoints-dir",
        "--checkpoints_dir",
        dest="checkpoints_dir",
        default="checkpoints",
        help="where training runs live (./checkpoints)",
    )
    parser.add_argument(
        "--checkpoint", help="a generator.pt or checkpoint.pt file instead of --name"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    translate = subparsers.add_parser(
        "translate", help="make synthetic plates realistic with a trained generator, labels kept"
    )
    _model_options(translate)
    translate.add_argument(
        "--input",
        required=True,
        type=Path,
        help="a kplate generate output or any folder of plate images",
    )
    translate.add_argument("--out", required=True, help="output dataset folder")
    translate.add_argument("--batch-size", "--batch_size", dest="batch_size", type=int, default=16)
    translate.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    translate.add_argument(
        "--overwrite", action="store_true", help="replace a different run in --out"
    )
    translate.set_defaults(handler=run_translate)

    test = subparsers.add_parser(
        "test", help="the earlier test.py: translate DATAROOT/testA into results/NAME/test_latest"
    )
    test.add_argument("--dataroot", required=True, type=Path)
    test.add_argument("--name", required=True)
    test.add_argument(
        "--checkpoints_dir", "--checkpoints-dir", dest="checkpoints_dir", default="checkpoints"
    )
    test.add_argument("--results_dir", "--results-dir", dest="results_dir", default="results")
    test.add_argument(
        "--CUT_mode",
        "--mode",
        dest="mode",
        default=None,
        help="CUT or FastCUT; must match the trained model",
    )
    test.add_argument("--phase", default="test")
    test.add_argument("--epoch", default="latest")
    test.add_argument("--num_test", "--num-test", dest="num_test", type=int, default=50)
    test.add_argument("--gpu_ids", default=None, help="-1 for CPU (default: CUDA if present)")
    test.add_argument("--batch-size", "--batch_size", dest="batch_size", type=int, default=1)
    test.set_defaults(handler=run_test)

    export = subparsers.add_parser("export", help="export a trained generator for deployment")
    _model_options(export)
    export.add_argument("--format", choices=["torchscript", "onnx"], default="torchscript")
    export.add_argument("--out", type=Path, default=None, help="output file")
    export.add_argument("--height", type=int, default=None, help="example input height")
    export.add_argument("--width", type=int, default=None, help="example input width")
    export.set_defaults(handler=run_export)


def run_translate(args: argparse.Namespace) -> int:
    from kplate.gan.distributed import cleanup, setup
    from kplate.gan.translate import Translator, resolve_checkpoint, translate_dataset
    from kplate.io.run_folder import output_folder

    out = output_folder(args.out)
    path = resolve_checkpoint(args.name, args.checkpoints_dir, args.checkpoint)
    refuse_overlap(out, [("--input", args.input), ("--checkpoint", path)])
    info = setup(args.device)
    try:
        translator, model = Translator.from_checkpoint(path, info.device, args.batch_size)
        summary = translate_dataset(
            args.input,
            out,
            translator,
            model,
            overwrite=args.overwrite,
            dist_info=info if info.enabled else None,
            progress=info.is_main and _is_terminal(),
        )
    finally:
        cleanup(info)
    if info.is_main:
        for line in summary.lines():
            print(line)
    return 0


def _is_terminal() -> bool:
    import sys

    return sys.stderr.isatty()


def run_test(args: argparse.Namespace) -> int:
    """Write results/NAME/test_latest/images/{real_A,fake_B,real_B}/*.png and index.html."""
    import numpy as np

    from kplate.gan.distributed import resolve_device
    from kplate.gan.translate import Translator, read_rgb, resolve_checkpoint
    from kplate.io.files import atomic_save_image, atomic_write_text
    from kplate.io.images import is_image_name

    path = resolve_checkpoint(args.name, args.checkpoints_dir, None)
    device = "cpu" if args.gpu_ids is not None and args.gpu_ids.strip() == "-1" else "auto"
    translator, model = Translator.from_checkpoint(path, resolve_device(device), args.batch_size)
    if args.mode is not None and args.mode.lower() != model.mode:
        raise KplateError(
            f"--CUT_mode {args.mode}: the model '{args.name}' was trained as {model.mode}"
        )
    images: dict[str, list[Path]] = {}
    for side in ("A", "B"):
        folder = args.dataroot / f"{args.phase}{side}"
        files = sorted(p for p in folder.glob("*") if is_image_name(p)) if folder.is_dir() else []
        images[side] = files[: args.num_test]
    if not images["A"]:
        raise KplateError(f"{args.dataroot / (args.phase + 'A')}: no images to test")
    out = Path(args.results_dir) / args.name / f"{args.phase}_{args.epoch}"
    refuse_overlap(
        out, [("--dataroot", args.dataroot), ("--checkpoints_dir", path)], "--results_dir"
    )
    rows = []
    for index, source_path in enumerate(images["A"]):
        source = read_rgb(source_path)
        fake = translator.translate([source])[0]
        visuals = {"real_A": source, "fake_B": fake}
        if index < len(images["B"]):
            visuals["real_B"] = read_rgb(images["B"][index])
        for label, image in visuals.items():
            target = out / "images" / label / f"{source_path.stem}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_save_image(np.ascontiguousarray(image), target)
        rows.append((source_path.stem, list(visuals)))
    cells = "\n".join(
        "<tr>"
        + "".join(
            f'<td><img src="images/{label}/{html.escape(stem)}.png" height="64"><br>{label}</td>'
            for label in labels
        )
        + "</tr>"
        for stem, labels in rows
    )
    atomic_write_text(
        out / "index.html",
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(args.name)}</title>\n<table>\n{cells}\n</table>\n",
    )
    print(f"wrote {len(rows)} translations to {out / 'images'}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from kplate.gan.export import export_generator
    from kplate.gan.translate import resolve_checkpoint

    path = resolve_checkpoint(args.name, args.checkpoints_dir, args.checkpoint)
    if args.out is not None:
        refuse_overlap(args.out, [("--checkpoint", path)])
    out = export_generator(path, args.format, args.out, height=args.height, width=args.width)
    print(f"wrote {out}")
    return 0
