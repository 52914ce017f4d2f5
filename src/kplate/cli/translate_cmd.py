"""`kplate translate`, `kplate test` (the earlier test.py) and `kplate export`: flags to calls."""

from __future__ import annotations

import argparse
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


def _verify_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verify",
        action="store_true",
        help="read every translated plate; one not read as its label is written as its "
        "source plate instead (docs/gan.md)",
    )
    parser.add_argument(
        "--reader",
        type=Path,
        default=None,
        metavar="FILE",
        help="the recogniser --verify reads with (default: the model's run folder reader.pt)",
    )


def verifier_for(verify: bool, reader: Path | None, checkpoint: Path | None) -> object | None:
    """The --verify reader, loaded before anything is written: --reader FILE, else the
    reader.pt beside the checkpoint (the one its text-preserving loss trained against)."""
    if not verify:
        if reader is not None:
            raise KplateError("--reader is used by --verify only; add --verify")
        return None
    from kplate.evaluate.text_reader import READER_FILE, load_reader
    from kplate.gan.verify import Verifier

    if reader is None:
        beside = checkpoint.parent / READER_FILE if checkpoint is not None else None
        if beside is None or not beside.is_file():
            raise KplateError(
                "--verify needs a plate reader: give --reader FILE (a kplate recogniser, "
                "e.g. from `kplate evaluate`); the model's folder has no reader.pt"
            )
        reader = beside
    loaded = load_reader(reader)
    return Verifier(loaded, str(reader))


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
    _verify_options(translate)
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
    from kplate.gan.translate import translate_dataset
    from kplate.gan.translator import Translator, resolve_checkpoint
    from kplate.io.run_folder import output_folder

    out = output_folder(args.out)
    path = resolve_checkpoint(args.name, args.checkpoints_dir, args.checkpoint)
    refuse_overlap(out, [("--input", args.input), ("--checkpoint", path)])
    verifier = verifier_for(args.verify, args.reader, path)
    if verifier is not None:
        refuse_overlap(out, [("--reader", Path(verifier.name))])
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
            verifier=verifier,
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
    from kplate.gan.test_phase import TestPhase, write_test_results

    test = TestPhase(
        dataroot=args.dataroot,
        name=args.name,
        checkpoints_dir=Path(args.checkpoints_dir),
        results_dir=Path(args.results_dir),
        phase=args.phase,
        epoch=args.epoch,
        num_test=args.num_test,
    )
    device = "cpu" if args.gpu_ids is not None and args.gpu_ids.strip() == "-1" else "auto"
    out, count = write_test_results(test, args.mode, device, args.batch_size)
    print(f"wrote {count} translations to {out / 'images'}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from kplate.gan.export import export_generator
    from kplate.gan.translator import resolve_checkpoint

    path = resolve_checkpoint(args.name, args.checkpoints_dir, args.checkpoint)
    if args.out is not None:
        refuse_overlap(args.out, [("--checkpoint", path)])
    out = export_generator(path, args.format, args.out, height=args.height, width=args.width)
    print(f"wrote {out}")
    return 0
