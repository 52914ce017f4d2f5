"""The training loop: set-up, resume, DDP, logging, checkpoints and Ctrl-C.

`train(config, options)` is the whole of `kplate train`. The run's length is a total step
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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kplate.errors import KplateError
from kplate.gan import distributed
from kplate.gan.checkpoint import (
    CHECKPOINT_FILE,
    capture_rng,
    load_checkpoint,
    remove_stale_temporaries,
    restore_rng,
    save_checkpoint,
)
from kplate.gan.config import DEFAULT_BATCH_SIZE, DEFAULT_STEPS, CUTConfig, TrainOptions
from kplate.gan.data import BucketBatchSampler, PlateData, to_model_input
from kplate.gan.model import LOSS_NAMES, CUTModel
from kplate.gan.networks import build_networks, count_parameters
from kplate.io.files import atomic_write_text
from kplate.io.lock import DirectoryLock, claimed_folder, refuse_if_busy
from kplate.io.paths import refuse_overlap


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


def _resolve_config(
    requested: CUTConfig | dict[str, Any] | None, saved: dict | None, device: torch.device
) -> CUTConfig:
    """The run's config: the saved one when resuming (conflicts are errors), else new.

    `requested` is a full CUTConfig, or only the fields the user asked for (the CLI), in
    which case the profile defaults to lite on CPU and full on CUDA.
    """
    if isinstance(requested, dict):
        CUTConfig.check_values(requested)
    if saved is not None:
        saved_config = CUTConfig.from_dict(saved["config"])
        if requested is None:
            return saved_config
        if isinstance(requested, CUTConfig):
            conflicts = requested.differences(saved_config)
        else:
            conflicts = [
                f"{k}={v} (checkpoint has {getattr(saved_config, k)})"
                for k, v in requested.items()
                if getattr(saved_config, k) != (tuple(v) if isinstance(v, list) else v)
            ]
        if conflicts:
            raise KplateError(
                "--resume: options conflict with the checkpoint: " + "; ".join(conflicts)
            )
        return saved_config
    if isinstance(requested, CUTConfig):
        return requested
    fields = dict(requested or {})
    mode = fields.pop("mode", "cut")
    profile = fields.pop("profile", None) or ("full" if device.type == "cuda" else "lite")
    return CUTConfig.for_mode(mode, profile, **fields)


def _resolve_options(options: TrainOptions, saved: dict | None) -> TrainOptions:
    """Fill batch size, seed and dataroot from the checkpoint (resuming) or the defaults."""
    previous = saved.get("options", {}) if saved is not None else {}
    values: dict[str, Any] = {}
    for key, default in (("batch_size", DEFAULT_BATCH_SIZE), ("seed", 0)):
        given = getattr(options, key)
        if given is None:
            values[key] = previous.get(key, default)
        elif key in previous and given != previous[key]:
            raise KplateError(
                f"--resume: options conflict with the checkpoint: {key}={given} "
                f"(checkpoint has {previous[key]})"
            )
    saved_root = previous.get("dataroot")
    if options.dataroot is None and saved_root:
        values["dataroot"] = Path(saved_root)
    elif (
        options.dataroot is not None
        and saved_root
        and not _same_folder(options.dataroot, Path(saved_root))
    ):
        raise KplateError(
            f"--resume: --dataroot {options.dataroot} is not the run's dataroot {saved_root}; "
            "leave --dataroot out to continue on the saved one, or start a new --name"
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
        raise KplateError(
            f"--resume: the run is already at step {step}, past the {total} steps asked for "
            "(--steps or --epochs); ask for more steps to train further"
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
    config: CUTConfig | dict[str, Any] | None,
    options: TrainOptions,
    on_step: Callable[[int], None] | None = None,
) -> TrainResult:
    """Train CUT/FastCUT and return where the result is.

    `config` is a CUTConfig, or a dict of the fields asked for (the rest from
    `CUTConfig.for_mode`, lite on CPU and full on CUDA), or None for those defaults;
    resuming, it must agree with the checkpoint's. `on_step(step)` runs after every step.
    """
    options.validate()
    info = distributed.setup(options.device)
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    if options.deterministic:
        torch.use_deterministic_algorithms(True)
    try:
        with contextlib.ExitStack() as held:  # the run folder's lock, once it is taken
            return _train(config, options, info, on_step, held)
    except OSError as error:  # a full or read-only disk while writing the run folder
        run_dir = options.run_dir
        if (run_dir / CHECKPOINT_FILE).is_file():
            then = (
                f"resume with: kplate train --name {options.name} "
                f"--checkpoints-dir {options.checkpoints_dir} --resume"
            )
        else:
            then = "run the same command again"
        raise KplateError(
            f"{run_dir}: write failed ({error.strerror or error}); free space, then {then}"
        ) from None
    finally:
        torch.use_deterministic_algorithms(previous_deterministic)
        distributed.cleanup(info)


def _train(
    config: CUTConfig | dict[str, Any] | None,
    options: TrainOptions,
    info: distributed.DistInfo,
    on_step: Callable[[int], None] | None,
    held: contextlib.ExitStack,
) -> TrainResult:
    run_dir = options.run_dir
    saved = None
    if options.resume:
        if info.is_main and run_dir.is_dir():
            held.enter_context(DirectoryLock(run_dir))  # a run still training is refused
        saved = load_checkpoint(run_dir) if info.is_main else None
        saved = distributed.broadcast_object(info, saved)
    elif (run_dir / CHECKPOINT_FILE).exists():
        raise KplateError(
            f"{run_dir} already holds a run; add --resume to continue it or choose another --name"
        )
    config = _resolve_config(config, saved, info.device)
    options = _resolve_options(options, saved)
    config.validate()
    if options.dataroot is None:
        raise KplateError("--dataroot is required")
    refuse_overlap(run_dir, [("--dataroot", Path(options.dataroot))], "--name")
    if info.is_main and not options.resume:
        refuse_if_busy(run_dir)

    data = PlateData.load(Path(options.dataroot), config.height, config.width_multiple)
    sampler = BucketBatchSampler(data, options.batch_size * info.world_size, options.seed)
    if options.steps is not None:
        total = options.steps
    elif saved is not None and options.epochs is None:
        total = int(saved["total_steps"])
    elif options.epochs is not None:
        total = options.epochs * sampler.steps_per_epoch
    else:
        total = DEFAULT_STEPS
    if saved is not None:
        _check_total(total, int(saved["step"]))

    device = info.device
    channels_last = (
        device.type == "cuda" if options.channels_last is None else options.channels_last
    )
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    torch.manual_seed(options.seed)  # identical initial weights on every rank
    netG, netD, netF = build_networks(config)
    for net in (netG, netD, netF):
        net.to(device=device, memory_format=memory_format)
    model = CUTModel(
        config,
        netG,
        netD,
        netF,
        lr_lambda_for(total, options.decay_fraction),
        _amp_dtype(options.amp, device),
    )
    generator = torch.Generator().manual_seed(options.seed * 7919 + info.rank + 1)
    random.seed(options.seed + info.rank)
    np.random.seed(options.seed + info.rank)
    torch.manual_seed(options.seed + 1000 * (info.rank + 1))

    step, epoch, index = 0, 0, 0
    if saved is not None:
        model.load_state_dict(saved["model"])
        step = int(saved["step"])
        epoch, index = int(saved["sampler"]["epoch"]), int(saved["sampler"]["index"])
        # The schedule follows this run's total: set this step's rate now.
        for scheduler in model.schedulers.values():
            for group, base in zip(
                scheduler.optimizer.param_groups, scheduler.base_lrs, strict=True
            ):
                group["lr"] = base * scheduler.lr_lambdas[0](scheduler.last_epoch)
        if len(saved["rng"]) == info.world_size:
            restore_rng(saved["rng"][info.rank], generator)
        else:
            _warn(
                f"checkpoint was written by {len(saved['rng'])} processes, this run has "
                f"{info.world_size}: random streams are re-seeded, data order is kept"
            )
            generator.manual_seed(options.seed * 7919 + info.rank + 1 + step)
        del saved

    if info.enabled:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [device.index] if device.type == "cuda" else None
        model.wrap(lambda m: DDP(m, device_ids=ids, broadcast_buffers=False))

    logger = None
    if info.is_main:
        if not options.resume:  # one run per folder: a second one started alongside stops here
            held.enter_context(claimed_folder(run_dir))
            if (run_dir / CHECKPOINT_FILE).exists():
                raise KplateError(
                    f"{run_dir} already holds a run; add --resume to continue it or choose "
                    "another --name"
                )
        remove_stale_temporaries(run_dir)
        record = {"config": config.to_dict(), "options": options.to_dict(), "total_steps": total}
        atomic_write_text(run_dir / "options.json", json.dumps(record, indent=2) + "\n")
        from kplate.gan.logging import RunLogger

        logger = RunLogger(run_dir, LOSS_NAMES, step, total, options.progress, options.tensorboard)
        logger.message(
            f"{config.mode} ({config.profile}) on {device}"
            + (f" x{info.world_size}" if info.enabled else "")
            + f": G {count_parameters(netG) / 1e6:.2f}M, D {count_parameters(netD) / 1e6:.2f}M,"
            f" F {count_parameters(netF) / 1e6:.2f}M params; {data.describe()};"
            f" {sampler.steps_per_epoch} steps/epoch; steps {step} -> {total}"
        )

    def save(at_step: int) -> Path:
        rngs = distributed.gather_objects(info, capture_rng(generator))
        path = run_dir / CHECKPOINT_FILE
        if info.is_main:
            state = {
                "step": at_step,
                "total_steps": total,
                "sampler": {"epoch": epoch, "index": index},
                "model": model.state_dict(),
                "rng": rngs,
                "world_size": info.world_size,
                "options": options.to_dict(),
            }
            save_checkpoint(run_dir, state, config)
        distributed.barrier(info)
        return path

    checkpoint_path = run_dir / CHECKPOINT_FILE
    last_saved = step if options.resume else -1
    per_rank = int(options.batch_size)
    # True on the device while every loss so far was finite; read (a sync) only where the
    # loop logs or saves, so a diverged model is never logged, saved or reported as trained.
    finite = torch.ones((), dtype=torch.bool, device=device)

    def check_finite(at_step: int, weights: bool) -> None:
        ok = finite
        if weights:
            nets = (netG, netD, netF)
            ok = ok & _all_finite(p for net in nets for p in net.parameters()).to(device)
        if distributed.any_rank(info, not bool(ok)):
            raise KplateError(_nonfinite_message(run_dir, at_step, last_saved))

    try:
        with _stop_on_signals() as flag:
            tick = time.perf_counter()
            tick_step = step
            while step < total:
                batch = sampler.batch(epoch, index)
                a, b = data.fetch(batch, info.rank, per_rank)
                real_A = to_model_input(a, device, channels_last)
                real_B = to_model_input(b, device, channels_last)
                result = model.train_step(real_A, real_B, generator)
                finite &= torch.isfinite(result.losses).all()
                model.step_schedulers()
                step += 1
                index += 1
                if index == sampler.steps_per_epoch:
                    epoch, index = epoch + 1, 0
                done = step == total
                saving = step % options.save_every == 0 or done
                if step % options.log_every == 0 or saving:
                    check_finite(step, weights=saving)
                if logger is not None:
                    logger.record(step, epoch, model.lr, result.losses)
                    if step % options.log_every == 0 or done:
                        now = time.perf_counter()
                        logger.flush((now - tick) / max(1, step - tick_step))
                        tick, tick_step = now, step
                    if step % options.image_every == 0 or done:
                        logger.save_grid(step, real_A, result.fake_B, real_B)
                        logger.plot_losses()
                if saving:
                    checkpoint_path = save(step)
                    last_saved = step
                if on_step is not None:
                    on_step(step)
                stop = flag["stop"]
                if info.enabled:
                    stop = (
                        distributed.any_rank(info, stop) if step % options.log_every == 0 else False
                    )
                if stop and not done:
                    if last_saved != step:
                        check_finite(step, weights=True)
                        checkpoint_path = save(step)
                    if logger is not None:
                        logger.flush()
                        logger.plot_losses()
                    raise TrainingInterrupted(step, checkpoint_path)
            if last_saved != step:  # resumed at or past the total: nothing to train
                checkpoint_path = run_dir / CHECKPOINT_FILE
    finally:
        if logger is not None:
            logger.close()
    return TrainResult(run_dir, step, total, checkpoint_path, config)
