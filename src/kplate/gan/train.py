"""Training: set-up (restore, build, open the run folder), then the loop.

`train(config, options)` is the whole of `kplate train`: `_set_up` restores a saved state
(rank 0 reads it under the run folder's lock), builds the networks in the order that keeps
a resumed run exact, wraps them for DDP and opens the log; `_loop` trains, logs (losses
averaged over ranks), saves and stops on Ctrl-C. The run's length is a total step
count, so a resumed run trains only what is left. Ctrl-C (or SIGTERM) sets a flag; the
loop finishes the current step, saves a checkpoint and raises `TrainingInterrupted`, so a
saved state is always a whole step. A second Ctrl-C stops at once.
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from kplate.errors import KplateError, OptionError
from kplate.gan import distributed
from kplate.gan.checkpoint import (
    CHECKPOINT_FILE,
    capture_rng,
    load_checkpoint,
    remove_stale_temporaries,
    restore_rng,
    save_checkpoint,
)
from kplate.gan.config import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_STEPS,
    CUTConfig,
    TrainOptions,
    default_profile,
    resume_conflict,
)
from kplate.gan.data import BucketBatchSampler, PlateData, to_model_input
from kplate.gan.model import CUTModel, StepResult, loss_names
from kplate.gan.networks import build_networks, count_parameters
from kplate.gan.text_loss import TextLoss, TextReader
from kplate.io.files import atomic_write_text
from kplate.io.lock import DirectoryLock, claimed_folder, refuse_if_busy
from kplate.io.paths import refuse_overlap

if TYPE_CHECKING:
    from kplate.gan.logging import RunLogger


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training, after the checkpoint at `step` was saved."""

    def __init__(self, step: int, checkpoint: Path) -> None:
        super().__init__(f"interrupted at step {step}")
        self.step = step
        self.checkpoint = checkpoint


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    step: int
    total_steps: int
    checkpoint: Path
    config: CUTConfig


def lr_lambda_for(total: int, decay_fraction: float) -> Callable[[int], float]:
    """Constant learning rate, then linear decay over the last `decay_fraction` of the steps."""
    decay_start = round(total * (1.0 - decay_fraction))

    def factor(step: int) -> float:
        if step < decay_start:
            return 1.0
        return max(0.0, 1.0 - (step - decay_start) / float(total - decay_start + 1))

    return factor


def _amp_dtype(choice: str, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda" or choice == "off":
        return None
    if choice == "bf16" or (choice == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


@contextmanager
def _stop_on_signals() -> Iterator[dict[str, bool]]:
    """A flag set by the first SIGINT/SIGTERM; the second SIGINT interrupts at once."""
    flag = {"stop": False}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, frame: object) -> None:
        if flag["stop"] and signum == signal.SIGINT:
            raise KeyboardInterrupt
        flag["stop"] = True

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _warn(text: str) -> None:
    print(f"kplate train: warning: {text}", file=sys.stderr)


def _run_config(config: CUTConfig | None, saved: dict | None, device: torch.device) -> CUTConfig:
    """The run's model: the checkpoint's when resuming (a given config must equal it), else
    `config`, or for None the default CUT at this device's profile."""
    if saved is None:
        return (
            config
            if config is not None
            else CUTConfig.for_mode("cut", default_profile(device.type))
        )
    saved_config = CUTConfig.from_dict(saved["config"])
    if config is not None and (conflicts := config.differences(saved_config)):
        raise resume_conflict(conflicts)
    return saved_config


def _resolve_options(options: TrainOptions, saved: dict | None) -> TrainOptions:
    """Fill batch size, seed and dataroot from the checkpoint (resuming) or the defaults."""
    previous = saved.get("options", {}) if saved is not None else {}
    values: dict[str, Any] = {}
    for key, default in (("batch_size", DEFAULT_BATCH_SIZE), ("seed", 0)):
        given = getattr(options, key)
        if given is None:
            values[key] = previous.get(key, default)
        elif key in previous and given != previous[key]:
            raise resume_conflict([f"{key}={given} (checkpoint has {previous[key]})"])
    saved_root = previous.get("dataroot")
    if options.dataroot is None and saved_root:
        values["dataroot"] = Path(saved_root)
    elif (
        options.dataroot is not None
        and saved_root
        and not _same_folder(options.dataroot, Path(saved_root))
    ):
        raise OptionError(
            "resume",
            f"{{option}}: {{dataroot}} {options.dataroot} is not the run's dataroot "
            f"{saved_root}; leave {{dataroot}} out to continue on the saved one, or start a "
            "new {name}",
            also=("dataroot", "name"),
        )
    return replace(options, **values)


def _same_folder(given: Path, saved: Path) -> bool:
    """The same spelling, or the same folder on disk (a different spelling of one path)."""
    if given == saved:
        return True
    try:
        return given.resolve(strict=True) == saved.resolve(strict=True)
    except OSError:
        return False


def _check_total(total: int, step: int) -> None:
    """A resumed run asked to stop before the step it is already at is refused: it would
    report "step 4/2" and train nothing."""
    if total < step:
        raise OptionError(
            "resume",
            f"{{option}}: the run is already at step {step}, past the {total} steps asked for "
            "({steps} or {epochs}); ask for more steps to train further",
            also=("steps", "epochs"),
        )


def _nonfinite_message(run_dir: Path, step: int, last_saved: int) -> str:
    if last_saved > 0:
        kept = (
            f"the last good checkpoint (step {last_saved}) is kept in {run_dir / CHECKPOINT_FILE}"
        )
    else:
        kept = "nothing was saved"
    return (
        f"training diverged: a loss or weight became NaN or infinite by step {step}; "
        f"stopped without saving it, {kept}; try a lower --lr or loss weight"
    )


def _all_finite(tensors: Iterator[torch.Tensor]) -> torch.Tensor:
    """One device-side flag: every value of every tensor is finite (no sync)."""
    flags = [torch.isfinite(t).all() for t in tensors if t.is_floating_point()]
    return torch.stack(flags).all() if flags else torch.tensor(True)


def train(
    config: CUTConfig | None,
    options: TrainOptions,
    on_step: Callable[[int], None] | None = None,
    reader: TextReader | None = None,
) -> TrainResult:
    """Train CUT/FastCUT and return where the result is.

    `config` is the model to train. Resuming, None means the checkpoint's, and a given
    config must equal it; a new run with None trains the default CUT (lite on CPU, full on
    CUDA). `on_step(step)` runs after every step. `reader` is the frozen plate reader of
    the text-preserving loss, required when `config.lambda_text` > 0 and unused otherwise.
    """
    if config is not None and not isinstance(config, CUTConfig):
        raise TypeError(
            f"config must be a CUTConfig or None, not {type(config).__name__}; "
            "build one with CUTConfig.for_mode(mode, profile, **fields)"
        )
    options.validate()
    info = distributed.setup(options.device)
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    if options.deterministic:
        torch.use_deterministic_algorithms(True)
    try:
        with contextlib.ExitStack() as held:  # the run folder's lock, once it is taken
            run = _set_up(config, options, info, held, reader)
            return _loop(run, on_step)
    except OSError as error:  # a full or read-only disk while writing the run folder
        raise _write_failed(options, error) from None
    finally:
        torch.use_deterministic_algorithms(previous_deterministic)
        distributed.cleanup(info)


def _write_failed(options: TrainOptions, error: OSError) -> KplateError:
    """A failed write, with what to run once there is room: resume if a checkpoint exists."""
    run_dir = options.run_dir
    if (run_dir / CHECKPOINT_FILE).is_file():
        then = (
            f"resume with: kplate train --name {options.name} "
            f"--checkpoints-dir {options.checkpoints_dir} --resume"
        )
    else:
        then = "run the same command again"
    return KplateError(
        f"{run_dir}: write failed ({error.strerror or error}); free space, then {then}"
    )


# -- set-up: restore, build, open the run folder ---------------------------------------------


def refuse_existing_run(run_dir: Path) -> None:
    """A fresh (not --resume) run never writes into a run folder that holds a checkpoint."""
    if (run_dir / CHECKPOINT_FILE).exists():
        raise OptionError(
            "resume",
            f"{run_dir} already holds a run; add {{option}} to continue it or choose another "
            "{name}",
            also=("name",),
        )


def _restore(
    options: TrainOptions, info: distributed.DistInfo, held: contextlib.ExitStack
) -> dict | None:
    """The saved training state on every rank when resuming (read by rank 0 under the run
    folder's lock, so a run still training is refused), else None."""
    run_dir = options.run_dir
    if not options.resume:
        refuse_existing_run(run_dir)
        return None
    if info.is_main and run_dir.is_dir():
        held.enter_context(DirectoryLock(run_dir, "name"))
    saved = load_checkpoint(run_dir) if info.is_main else None
    return distributed.broadcast_object(info, saved)


def _check_inputs(config: CUTConfig, options: TrainOptions, info: distributed.DistInfo) -> Path:
    """The dataroot, once the config is valid and the run folder may be written."""
    config.validate()
    if options.dataroot is None:
        raise OptionError("dataroot", "{option} is required")
    dataroot = Path(options.dataroot)
    refuse_overlap(options.run_dir, [("dataroot", dataroot)], "name")
    if info.is_main and not options.resume:
        refuse_if_busy(options.run_dir, "name")
    return dataroot


def _total_steps(options: TrainOptions, saved: dict | None, steps_per_epoch: int) -> int:
    """--steps, else the checkpoint's total (resuming without --epochs), else --epochs."""
    if options.steps is not None:
        total = options.steps
    elif saved is not None and options.epochs is None:
        total = int(saved["total_steps"])
    elif options.epochs is not None:
        total = options.epochs * steps_per_epoch
    else:
        total = DEFAULT_STEPS
    if saved is not None:
        _check_total(total, int(saved["step"]))
    return total


def _stream_seed(seed: int, rank: int) -> int:
    """The seed of rank `rank`'s training generator (flips, patch sampling)."""
    return seed * 7919 + rank + 1


def _compile(device: torch.device, *nets: torch.nn.Module) -> None:
    """torch.compile G and D in place (their state_dict keys stay as they are, so a
    checkpoint loads either way); CUDA only, refused elsewhere before any step."""
    if device.type != "cuda":
        raise OptionError(
            "compile", f"{{option}} applies to CUDA runs only; this run is on {device.type}"
        )
    for net in nets:
        net.compile()


def _check_reader(config: CUTConfig, reader: TextReader | None) -> None:
    """The text-preserving loss's reader: required by a weight above 0, and one we can use."""
    if config.lambda_text <= 0:
        return
    if reader is None:
        raise OptionError(
            "reader",
            f"{{lambda_text}} {config.lambda_text:g} needs a plate reader: give {{option}}",
            also=("lambda_text",),
        )
    if not isinstance(reader, TextReader) or not reader.charset:
        raise OptionError("reader", "{option}: not a plate reader (see gan/text_loss.py)")


def _build(
    config: CUTConfig,
    options: TrainOptions,
    info: distributed.DistInfo,
    total: int,
    reader: TextReader | None = None,
) -> tuple[CUTModel, torch.Generator, bool]:
    """The model on its device, the training generator and whether inputs are channels-last.

    The networks are initialised from `options.seed` alone (identical on every rank); the
    random streams after that are per rank.
    """
    device = info.device
    channels_last = (
        device.type == "cuda" if options.channels_last is None else options.channels_last
    )
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    torch.manual_seed(options.seed)
    netG, netD, netF = build_networks(config)
    for net in (netG, netD, netF):
        net.to(device=device, memory_format=memory_format)
    if options.compile:
        _compile(device, netG, netD)
    lr_lambda = lr_lambda_for(total, options.decay_fraction)
    text_loss = None
    if config.lambda_text > 0 and reader is not None:  # no RNG is used: streams unchanged
        text_loss = TextLoss(reader).to_device(device)
    amp = _amp_dtype(options.amp, device)
    model = CUTModel(config, netG, netD, netF, lr_lambda, amp, text_loss)
    generator = torch.Generator().manual_seed(_stream_seed(options.seed, info.rank))
    random.seed(options.seed + info.rank)
    np.random.seed(options.seed + info.rank)
    torch.manual_seed(options.seed + 1000 * (info.rank + 1))
    return model, generator, channels_last


def _restore_streams(
    saved: dict, generator: torch.Generator, info: distributed.DistInfo, seed: int
) -> None:
    """This rank's saved random states; re-seeded (data order kept) if the world size changed."""
    if len(saved["rng"]) == info.world_size:
        restore_rng(saved["rng"][info.rank], generator)
        return
    _warn(
        f"checkpoint was written by {len(saved['rng'])} processes, this run has "
        f"{info.world_size}: random streams are re-seeded, data order is kept"
    )
    generator.manual_seed(_stream_seed(seed, info.rank) + int(saved["step"]))


def _wrap_ddp(model: CUTModel, info: distributed.DistInfo) -> None:
    if not info.enabled:
        return
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [info.device.index] if info.device.type == "cuda" else None
    model.wrap(lambda m: DDP(m, device_ids=ids, broadcast_buffers=False))


def _open_run_folder(run: _Run, held: contextlib.ExitStack) -> RunLogger:
    """Claim the folder (a new run), clear a killed save's leftovers, write options.json
    and start the log; rank 0 only."""
    options, run_dir = run.options, run.run_dir
    if not options.resume:  # one run per folder: a second one started alongside stops here
        held.enter_context(claimed_folder(run_dir, "name"))
        refuse_existing_run(run_dir)
    remove_stale_temporaries(run_dir)
    record = {
        "config": run.config.to_dict(),
        "options": options.to_dict(),
        "total_steps": run.total,
    }
    atomic_write_text(run_dir / "options.json", json.dumps(record, indent=2) + "\n")
    from kplate.gan.logging import RunLogger

    return RunLogger(
        run_dir, loss_names(run.config), run.step, run.total, options.progress, options.tensorboard
    )


def _start_message(run: _Run) -> str:
    model, info = run.model, run.info
    sizes = ", ".join(
        f"{name} {count_parameters(net) / 1e6:.2f}M"
        for name, net in (("G", model.netG), ("D", model.netD), ("F", model.netF))
    )
    return (
        f"{run.config.mode} ({run.config.profile}) on {info.device}"
        + (f" x{info.world_size}" if info.enabled else "")
        + f": {sizes} params; {run.data.describe()};"
        f" {run.sampler.steps_per_epoch} steps/epoch; steps {run.step} -> {run.total}"
    )


def _set_up(
    config: CUTConfig | None,
    options: TrainOptions,
    info: distributed.DistInfo,
    held: contextlib.ExitStack,
    reader: TextReader | None = None,
) -> _Run:
    """Everything before the first step, in the order that keeps a resumed run exact."""
    saved = _restore(options, info, held)
    config = _run_config(config, saved, info.device)
    options = _resolve_options(options, saved)
    dataroot = _check_inputs(config, options, info)
    _check_reader(config, reader)
    data = PlateData.load(dataroot, config.height, config.width_multiple)
    if config.lambda_text > 0 and data.labelled_a == 0:
        raise OptionError(
            "lambda_text",
            f"{{option}} {config.lambda_text:g} needs labelled A plates: "
            f"{dataroot / 'trainA'} has none (no text in {dataroot / 'dataset.json'} and no "
            "labels.csv; build the dataroot with `kplate dataset` from a kplate generate output)",
        )
    sampler = BucketBatchSampler(data, options.batch_size * info.world_size, options.seed)
    total = _total_steps(options, saved, sampler.steps_per_epoch)
    model, generator, channels_last = _build(config, options, info, total, reader)
    run = _Run(config, options, info, data, sampler, model, generator, channels_last, total)
    if saved is not None:
        model.restore(saved["model"])
        run.step = run.last_saved = int(saved["step"])
        run.epoch, run.index = int(saved["sampler"]["epoch"]), int(saved["sampler"]["index"])
        _restore_streams(saved, generator, info, options.seed)
    _wrap_ddp(model, info)
    if info.is_main:
        run.logger = _open_run_folder(run, held)
        run.logger.message(_start_message(run))
    return run


# -- the loop ---------------------------------------------------------------------------------


@dataclass
class _Run:
    """A run once it is set up: the model, its data, the position and the log (rank 0)."""

    config: CUTConfig
    options: TrainOptions
    info: distributed.DistInfo
    data: PlateData
    sampler: BucketBatchSampler
    model: CUTModel
    generator: torch.Generator
    channels_last: bool
    total: int
    step: int = 0
    epoch: int = 0
    index: int = 0
    last_saved: int = -1
    logger: RunLogger | None = None
    # True on the device while every loss so far was finite; read (a sync) only where the
    # loop logs or saves, so a diverged model is never logged, saved or reported as trained.
    finite: torch.Tensor = field(init=False)
    tick: tuple[float, int] = field(init=False)  # (time, step) of the last log flush

    def __post_init__(self) -> None:
        self.finite = torch.ones((), dtype=torch.bool, device=self.info.device)
        self.start_clock()

    def start_clock(self) -> None:
        self.tick = (time.perf_counter(), self.step)

    @property
    def run_dir(self) -> Path:
        return self.options.run_dir

    @property
    def checkpoint(self) -> Path:
        return self.run_dir / CHECKPOINT_FILE

    def advance(self) -> tuple[torch.Tensor, torch.Tensor, StepResult]:
        """One training step on the next batch; returns the batch and what the step made."""
        device = self.info.device
        batch = self.sampler.batch(self.epoch, self.index)
        a, b = self.data.fetch(batch, self.info.rank, int(self.options.batch_size))
        real_A = to_model_input(a, device, self.channels_last)
        real_B = to_model_input(b, device, self.channels_last)
        texts = None
        if self.model.text_loss is not None:
            texts = self.data.texts(batch, self.info.rank, int(self.options.batch_size))
        result = self.model.train_step(real_A, real_B, self.generator, texts)
        self.finite &= torch.isfinite(result.losses).all()
        self.model.step_schedulers()
        self.step += 1
        self.index += 1
        if self.index == self.sampler.steps_per_epoch:
            self.epoch, self.index = self.epoch + 1, 0
        return real_A, real_B, result

    def check_finite(self, weights: bool) -> None:
        """Stop (every rank) if a loss so far, or with `weights` a weight, is not finite."""
        ok = self.finite
        if weights:
            nets = (self.model.netG, self.model.netD, self.model.netF)
            ok = ok & _all_finite(p for net in nets for p in net.parameters()).to(ok.device)
        if distributed.any_rank(self.info, not bool(ok)):
            raise KplateError(_nonfinite_message(self.run_dir, self.step, self.last_saved))

    def report(self, losses: torch.Tensor, images: tuple[torch.Tensor, ...], done: bool) -> None:
        """Log this step's losses (mean over ranks); write logs and an image grid when due."""
        logger, options = self.logger, self.options
        if logger is None:
            return
        logger.record(self.step, self.epoch, self.model.lr, losses)
        if self.step % options.log_every == 0 or done:
            now = time.perf_counter()
            logger.flush((now - self.tick[0]) / max(1, self.step - self.tick[1]))
            self.tick = (now, self.step)
        if self.step % options.image_every == 0 or done:
            logger.save_grid(self.step, *images)
            logger.plot_losses()

    def save(self) -> None:
        """checkpoint.pt and generator.pt at this step (every rank's random states)."""
        rngs = distributed.gather_objects(self.info, capture_rng(self.generator))
        if self.info.is_main:
            state = {
                "step": self.step,
                "total_steps": self.total,
                "sampler": {"epoch": self.epoch, "index": self.index},
                "model": self.model.state_dict(),
                "rng": rngs,
                "world_size": self.info.world_size,
                "options": self.options.to_dict(),
            }
            save_checkpoint(self.run_dir, state, self.config)
        distributed.barrier(self.info)
        self.last_saved = self.step

    def stop_asked(self, flag: dict[str, bool]) -> bool:
        """Ctrl-C on any rank; ranks agree on it at log steps only (one sync per log)."""
        if not self.info.enabled:
            return flag["stop"]
        if self.step % self.options.log_every:
            return False
        return distributed.any_rank(self.info, flag["stop"])

    def interrupt(self) -> TrainingInterrupted:
        """Save this step (if not saved yet) and flush the log, for a clean Ctrl-C."""
        if self.last_saved != self.step:
            self.check_finite(weights=True)
            self.save()
        if self.logger is not None:
            self.logger.flush()
            self.logger.plot_losses()
        return TrainingInterrupted(self.step, self.checkpoint)


def _loop(run: _Run, on_step: Callable[[int], None] | None) -> TrainResult:
    """Train from `run.step` to `run.total`, logging, saving and stopping on Ctrl-C."""
    options = run.options
    try:
        with _stop_on_signals() as flag:
            run.start_clock()
            while run.step < run.total:
                real_A, real_B, result = run.advance()
                done = run.step == run.total
                saving = run.step % options.save_every == 0 or done
                if run.step % options.log_every == 0 or saving:
                    run.check_finite(weights=saving)
                losses = distributed.all_mean(run.info, result.losses)
                run.report(losses, (real_A, result.fake_B, real_B), done)
                if saving:
                    run.save()
                if on_step is not None:
                    on_step(run.step)
                if run.stop_asked(flag) and not done:
                    raise run.interrupt()
    finally:
        if run.logger is not None:
            run.logger.close()
    return TrainResult(run.run_dir, run.step, run.total, run.checkpoint, run.config)
