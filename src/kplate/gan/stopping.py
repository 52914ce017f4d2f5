"""Train until a measured score stops improving: the GAN's stopping rule (issue #17).

A GAN's losses do not say when it is done: D and G trade places for ever. What the
benchmark cares about is whether translated plates pass for real ones, so every `every`
steps the caller measures a score of the current generator (lower is better; the
benchmark's is the realism two-sample accuracy of translated held-out plates against
held-out real crops, 0.5 = indistinguishable) and training stops when it has not improved
by `min_delta` for `patience` checks in a row, or at `max_steps`, or when `seconds` have
passed. The generator of the best check is kept as `best_generator.pt`; the curve and
the reason are returned. The learning rate should stay constant (decay_fraction 0): the
end of the run is not known in advance.

The score comes in as a callable, so the gan stage needs nothing from `kplate.evaluate`.
"""

from __future__ import annotations

import enum
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from kplate.errors import OptionError
from kplate.gan.checkpoint import GENERATOR_FILE
from kplate.gan.config import CUTConfig, TrainOptions
from kplate.gan.text_loss import TextReader
from kplate.gan.train import TrainingInterrupted, train

BEST_FILE = "best_generator.pt"


class StopReason(enum.StrEnum):
    PLATEAU = "plateau"  # no improvement for `patience` checks
    STEP_CAP = "step cap"
    TIME = "time budget"


@dataclass
class PlateauRule:
    """The rule itself, apart from training (so it can be tested on its own)."""

    every: int
    patience: int
    max_steps: int
    min_delta: float = 0.0
    seconds: float | None = None
    curve: list[tuple[int, float]] = field(default_factory=list)
    best: tuple[int, float] | None = None
    since_best: int = 0

    def __post_init__(self) -> None:
        for name in ("every", "patience", "max_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise OptionError(
                    name, f"{{option}} must be a whole number of 1 or more, got {value!r}"
                )
        if self.min_delta < 0:
            raise OptionError("min_delta", f"{{option}} must be 0 or more, got {self.min_delta}")

    def record(self, step: int, score: float) -> bool:
        """Add a check; True when it is the best so far (by more than min_delta)."""
        self.curve.append((step, score))
        if self.best is None or score < self.best[1] - self.min_delta:
            self.best, self.since_best = (step, score), 0
            return True
        self.since_best += 1
        return False

    def reason(self, step: int, elapsed: float) -> StopReason | None:
        """Why training should stop after `step`, or None to go on."""
        if self.since_best >= self.patience:
            return StopReason.PLATEAU
        if step >= self.max_steps:
            return StopReason.STEP_CAP
        if self.seconds is not None and elapsed >= self.seconds:
            return StopReason.TIME
        return None


@dataclass(frozen=True)
class StopResult:
    stopped_at: int
    reason: StopReason
    best_step: int | None
    best_score: float | None
    best_checkpoint: Path | None
    curve: list[tuple[int, float]]
    seconds: float

    def to_dict(self) -> dict:
        return {
            "stopped_at": self.stopped_at,
            "reason": self.reason.value,
            "best_step": self.best_step,
            "best_score": self.best_score,
            "curve": [list(point) for point in self.curve],
            "seconds": round(self.seconds, 1),
        }


class _Stop(Exception):
    def __init__(self, step: int, reason: StopReason) -> None:
        super().__init__(reason.value)
        self.step, self.reason = step, reason


def train_until_plateau(
    config: CUTConfig,
    options: TrainOptions,
    rule: PlateauRule,
    score: Callable[[Path, int], float],
    reader: TextReader | None = None,
    on_check: Callable[[int, float, bool], None] | None = None,
) -> StopResult:
    """Train a new run under `rule`; `score(generator_file, step)` measures a check.

    Checkpoints are saved at every check (`save_every` = `rule.every`) so the score sees
    the generator of that step; the run's total is the cap, at a constant learning rate.
    """
    options = replace(options, steps=rule.max_steps, epochs=None, save_every=rule.every)
    options = replace(options, decay_fraction=0.0)
    run_dir = options.run_dir
    start = time.monotonic()

    def on_step(step: int) -> None:
        if step % rule.every == 0:
            value = float(score(run_dir / GENERATOR_FILE, step))
            best = rule.record(step, value)
            if best:
                tmp = run_dir / f".{BEST_FILE}.tmp"
                shutil.copyfile(run_dir / GENERATOR_FILE, tmp)
                tmp.replace(run_dir / BEST_FILE)
            if on_check is not None:
                on_check(step, value, best)
        reason = rule.reason(step, time.monotonic() - start)
        if reason is not None and step < rule.max_steps:  # at the cap, train() ends itself
            raise _Stop(step, reason)

    try:
        result = train(config, options, on_step=on_step, reader=reader)
        step, reason = result.step, StopReason.STEP_CAP
    except _Stop as stop:
        step, reason = stop.step, stop.reason
    except TrainingInterrupted as stop:
        step, reason = stop.step, StopReason.TIME
    best = rule.best
    return StopResult(
        stopped_at=step,
        reason=reason,
        best_step=None if best is None else best[0],
        best_score=None if best is None else best[1],
        best_checkpoint=(run_dir / BEST_FILE) if best is not None else None,
        curve=list(rule.curve),
        seconds=time.monotonic() - start,
    )
