"""`kplate train`: CUT and FastCUT training at plate shape.

The earlier project's flags still work (`--CUT_mode FastCUT`, `--n_epochs`,
`--n_epochs_decay`, `--batch_size`, `--checkpoints_dir`, `--continue_train`, `--gpu_ids`).
With neither --steps nor --epochs a run is DEFAULT_STEPS steps (about an hour of the lite
profile on a 2-core CPU). Multi-GPU: `torchrun --nproc_per_node N -m kplate train ...`.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kplate.cli.options import parse_bool
from kplate.errors import KplateError

if TYPE_CHECKING:
    from kplate.gan import CUTConfig, TrainOptions


def _mode(value: str) -> str:
    lowered = value.strip().lower()
    if lowered not in {"cut", "fastcut"}:
        raise argparse.ArgumentTypeError(f"expected cut or fastcut, got '{value}'")
    return lowered


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train CUT/FastCUT to turn synthetic plates (A) into real-looking ones (B)",
        description=__doc__.splitlines()[0],
    )
    add = parser.add_argument
    add("--dataroot", type=Path, help="folder with trainA/ and trainB/ (from `kplate dataset`)")
    add("--name", required=True, help="run name: everything goes to CHECKPOINTS_DIR/NAME/")
    add("--mode", "--CUT_mode", dest="mode", type=_mode, help="cut (default) or fastcut")
    add(
        "--profile",
        choices=["lite", "full"],
        help="lite (CPU default) or full (paper; CUDA default)",
    )
    add(
        "--height",
        type=int,
        help="training height in pixels (default 64); width follows each plate",
    )
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="total steps of the run, counting resumed ones")
    length.add_argument("--epochs", type=int, help="total epochs (LR decays over the last half)")
    length.add_argument("--n_epochs", type=int, help="epochs at constant LR (earlier project)")
    add("--n_epochs_decay", type=int, help="epochs of linear LR decay after --n_epochs")
    add(
        "--batch-size",
        "--batch_size",
        dest="batch_size",
        type=int,
        help="images per GPU/process (default 4)",
    )
    add("--device", default=None, help="auto (default), cpu, cuda or cuda:N")
    add("--gpu_ids", help="earlier project's device flag: -1 for CPU, 0 for the first GPU")
    add(
        "--checkpoints-dir",
        "--checkpoints_dir",
        dest="checkpoints_dir",
        type=Path,
        default=Path("checkpoints"),
    )
    add(
        "--resume",
        "--continue_train",
        dest="resume",
        action="store_true",
        help="continue NAME's checkpoint",
    )
    add("--seed", type=int, help="random seed (default 0)")
    add("--lr", type=float, help="learning rate (default 2e-4)")
    add("--lambda-nce", "--lambda_NCE", dest="lambda_NCE", type=float, help="NCE weight")
    add(
        "--lambda-text",
        "--lambda_text",
        dest="lambda_text",
        type=float,
        help="weight of the text-preserving loss (default 0: off); needs labelled trainA",
    )
    add(
        "--reader",
        type=Path,
        default=None,
        metavar="FILE",
        help="frozen recogniser for --lambda-text (default: NAME/reader.pt, trained on "
        "trainA's labels the first time)",
    )
    add(
        "--nce-idt",
        "--nce_idt",
        dest="nce_idt",
        type=parse_bool,
        help="identity NCE on B (True/False)",
    )
    add("--flip-equivariance", "--flip_equivariance", dest="flip_equivariance", type=parse_bool)
    add(
        "--num-patches", "--num_patches", dest="num_patches", type=int, help="patches per NCE layer"
    )
    add("--save-every", type=int, default=500, help="checkpoint every N steps (and at the end)")
    add("--image-every", type=int, default=200, help="image grid every N steps (and at the end)")
    add("--log-every", type=int, default=10, help="write logs every N steps")
    add("--amp", choices=["auto", "bf16", "fp16", "off"], default="auto", help="CUDA autocast")
    add(
        "--compile",
        action="store_true",
        help="torch.compile G and D (CUDA only; see docs/gan.md for when it pays)",
    )
    add("--no-progress", dest="progress", action="store_false", help="no progress bar")
    parser.set_defaults(handler=run)


def _device(args: argparse.Namespace) -> str:
    if args.gpu_ids is None:
        return args.device or "auto"
    if args.device is not None:
        raise KplateError("give --device or --gpu_ids, not both")
    ids = [s for s in args.gpu_ids.split(",") if s.strip()]
    if ids == ["-1"]:
        return "cpu"
    if len(ids) == 1 and ids[0].strip().isdigit():
        return f"cuda:{int(ids[0])}"
    raise KplateError(
        f"--gpu_ids {args.gpu_ids}: for several GPUs run "
        "`torchrun --nproc_per_node N -m kplate train ...` (one process per GPU)"
    )


#: The CUTConfig fields a flag of this command sets.
CONFIG_FLAGS = (
    "mode",
    "profile",
    "height",
    "lr",
    "lambda_NCE",
    "lambda_text",
    "nce_idt",
    "flip_equivariance",
    "num_patches",
)


def build(args: argparse.Namespace) -> tuple[dict[str, Any], TrainOptions]:
    """The requested config fields and the TrainOptions for these arguments."""
    from kplate.gan import CUTConfig, TrainOptions

    requested = {key: getattr(args, key) for key in CONFIG_FLAGS if getattr(args, key) is not None}
    CUTConfig.check_values(requested)  # NaN, inf, 0 patches...: refused before anything runs
    epochs, decay_fraction = _epochs(args)
    if args.dataroot is None and not args.resume:
        raise KplateError("--dataroot is required (a folder with trainA/ and trainB/)")
    options = TrainOptions(
        dataroot=args.dataroot,
        name=args.name,
        checkpoints_dir=args.checkpoints_dir,
        steps=args.steps,
        epochs=epochs,
        decay_fraction=decay_fraction,
        batch_size=args.batch_size,
        seed=args.seed,
        device=_device(args),
        resume=args.resume,
        save_every=args.save_every,
        image_every=args.image_every,
        log_every=args.log_every,
        progress=args.progress and sys.stderr.isatty(),
        amp=args.amp,
        compile=args.compile,
    )
    options.validate()
    return requested, options


def _epochs(args: argparse.Namespace) -> tuple[int | None, float]:
    """(total epochs, decay fraction): --epochs, or the earlier project's --n_epochs and
    --n_epochs_decay (constant, then decaying)."""
    epochs, decay_fraction = args.epochs, 0.5
    if args.n_epochs is not None or args.n_epochs_decay is not None:
        if args.steps is not None or args.epochs is not None:
            raise KplateError(
                "--n_epochs/--n_epochs_decay cannot be combined with --steps or --epochs"
            )
        for flag, value in (
            ("--n_epochs", args.n_epochs),
            ("--n_epochs_decay", args.n_epochs_decay),
        ):
            if value is not None and value < 0:
                raise KplateError(f"{flag} {value}: must be 0 or more")
        constant, decay = args.n_epochs or 0, args.n_epochs_decay or 0
        epochs = constant + decay
        if epochs < 1:
            raise KplateError("--n_epochs + --n_epochs_decay must be at least 1")
        decay_fraction = decay / epochs
    return epochs, decay_fraction


def resolve_config(requested: dict[str, Any], options: TrainOptions) -> CUTConfig | None:
    """The CUTConfig for the fields asked for, or None for the checkpoint's.

    A new run takes `CUTConfig.for_mode` (cut, lite on CPU and full on CUDA unless asked)
    with the fields over it. Resuming, the fields must be the checkpoint's: they are set
    over its config and any difference is refused (rank 0 reads it, its header only; the
    other ranks get it from rank 0 in `train`).
    """
    from kplate.gan.checkpoint import saved_config
    from kplate.gan.config import CUTConfig, default_profile, resume_conflict
    from kplate.gan.distributed import resolve_device

    fields = dict(requested)
    if options.resume:
        saved = saved_config(options.run_dir) if fields and _is_main_process() else None
        if saved is not None and (conflicts := replace(saved, **fields).differences(saved)):
            raise resume_conflict(conflicts)
        return None
    mode = fields.pop("mode", "cut")
    profile = fields.pop("profile", None) or default_profile(resolve_device(options.device).type)
    return CUTConfig.for_mode(mode, profile, **fields)


def _is_main_process() -> bool:
    """Rank 0 of a torchrun launch, or a plain run: the one process that prints."""
    return int(os.environ.get("RANK", "0")) == 0


def _reader(args: argparse.Namespace, config: CUTConfig | None, options: TrainOptions) -> Any:
    """The frozen reader of the text-preserving loss, or None when the loss is off.

    --reader FILE, else the run folder's reader.pt, trained on DATAROOT/trainA's labels
    the first time (kept beside the checkpoint, so a resume and `translate --verify` use
    the reader the generator learned against). Checked before training starts.
    """
    from kplate.gan.checkpoint import saved_config

    weight = config.lambda_text if config is not None else 0.0
    if config is None and options.resume:
        saved = saved_config(options.run_dir)
        weight = saved.lambda_text if saved is not None else 0.0
    if weight <= 0:
        if args.reader is not None:
            raise KplateError("--reader is used by --lambda-text only; add --lambda-text W > 0")
        return None
    from kplate.evaluate.text_reader import READER_FILE, cached_reader, load_reader
    from kplate.gan.data import list_images
    from kplate.gan.train import refuse_existing_run

    if args.reader is not None:
        return load_reader(args.reader)
    if not _is_main_process() and not (options.run_dir / READER_FILE).is_file():
        raise KplateError("--lambda-text under torchrun: give --reader FILE (one reader for all)")
    if options.dataroot is None:
        raise KplateError("--lambda-text needs --dataroot (its trainA labels train the reader)")
    # What train() would refuse, refused before minutes of reader training and its file.
    train_a = Path(options.dataroot) / "trainA"
    list_images(train_a)
    if not options.resume:
        refuse_existing_run(options.run_dir)
    print(
        f"kplate train: training the plate reader {options.run_dir / READER_FILE}", file=sys.stderr
    )
    return cached_reader(options.run_dir, train_a)


def run(args: argparse.Namespace) -> int:
    from kplate.gan import TrainingInterrupted, train

    requested, options = build(args)
    config = resolve_config(requested, options)
    reader = _reader(args, config, options)
    try:
        result = train(config, options, reader=reader)
    except TrainingInterrupted as stop:
        if _is_main_process():
            print(
                f"kplate train: interrupted at step {stop.step}; saved {stop.checkpoint}. "
                f"Resume with: kplate train --name {options.name} "
                f"--checkpoints-dir {options.checkpoints_dir} --resume",
                file=sys.stderr,
            )
        return 130
    if _is_main_process():
        print(
            f"trained {result.config.mode} ({result.config.profile}) to step "
            f"{result.step}/{result.total_steps}: {result.run_dir}"
        )
    return 0
