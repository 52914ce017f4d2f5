"""Hyperparameters beside the model: `CUTConfig` (what G, D and F are) and `TrainOptions`.

`CUTConfig` is everything needed to rebuild the networks and reproduce the losses; it is
stored in every checkpoint so `load_generator` and `--resume` never guess. `TrainOptions`
is the run: where the data is, how long, how often to save. No global option bag.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kplate.errors import KplateError, OptionError

MODES = ("cut", "fastcut")
PROFILES = ("lite", "full")

# Defaults for a run that names neither --steps nor --epochs: about an hour of the lite
# profile on a 2-core CPU at batch 4 (see docs/gan.md), minutes on a GPU.
DEFAULT_STEPS = 4000
DEFAULT_BATCH_SIZE = 4


@dataclass(frozen=True)
class Bounds:
    """The values a numeric setting may take: finite, within [lo, hi] (ends open if asked),
    and an integer for an int setting. One check for every number of CUTConfig and
    TrainOptions, so NaN, infinity and out-of-range values stop before anything runs."""

    lo: float
    hi: float
    integer: bool = False
    lo_open: bool = False
    hi_open: bool = False

    def problem(self, value: Any) -> str | None:
        """Why `value` is refused, or None."""
        if self.integer:
            if isinstance(value, bool) or not isinstance(value, int):
                return "must be an integer"
        elif isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        elif not math.isfinite(value):
            return "must be a finite number"
        low_ok = value > self.lo if self.lo_open else value >= self.lo
        high_ok = value < self.hi if self.hi_open else value <= self.hi
        if low_ok and high_ok:
            return None
        if self.integer:
            return f"must be an integer from {self.lo:g} to {self.hi:g}"
        left, right = "(" if self.lo_open else "[", ")" if self.hi_open else "]"
        return f"must be in {left}{self.lo:g}, {self.hi:g}{right}"

    def check(self, name: str, value: Any) -> None:
        reason = self.problem(value)
        if reason is not None:
            raise OptionError(name, f"{{option}} {value!r}: {reason}")


def _check_numbers(values: dict[str, Any], bounds: dict[str, Bounds]) -> None:
    """Bounds.check every value that has bounds (None means "not given")."""
    for name, value in values.items():
        if name in bounds and value is not None:
            bounds[name].check(name, value)


def _int(lo: int, hi: int) -> Bounds:
    return Bounds(lo, hi, integer=True)


#: Every numeric CUTConfig field (a test checks none is missing).
CONFIG_BOUNDS: dict[str, Bounds] = {
    "height": _int(24, 1024),
    "width_multiple": _int(4, 256),
    "input_nc": _int(1, 4),
    "output_nc": _int(1, 4),
    "ngf": _int(1, 1024),
    "n_blocks": _int(1, 64),
    "ndf": _int(1, 1024),
    "n_layers_D": _int(1, 8),
    "netF_nc": _int(1, 4096),
    "num_patches": _int(1, 65536),
    "nce_T": Bounds(0, 100, lo_open=True),
    "lambda_GAN": Bounds(0, 10_000),
    "lambda_NCE": Bounds(0, 10_000),
    "lambda_text": Bounds(0, 10_000),
    "lr": Bounds(0, 1, lo_open=True),
    "beta1": Bounds(0, 1, hi_open=True),
    "beta2": Bounds(0, 1, hi_open=True),
    "init_gain": Bounds(0, 10, lo_open=True),
}

#: Every numeric TrainOptions field (a test checks none is missing).
OPTION_BOUNDS: dict[str, Bounds] = {
    "steps": _int(1, 10**9),
    "epochs": _int(1, 10**6),
    "decay_fraction": Bounds(0, 1),
    "batch_size": _int(1, 4096),
    "seed": _int(0, 2**31 - 1),
    "save_every": _int(1, 10**9),
    "image_every": _int(1, 10**9),
    "log_every": _int(1, 10**9),
}


@dataclass(frozen=True)
class CUTConfig:
    """The CUT/FastCUT model: architecture, losses and optimiser settings.

    `full` is the paper's setting (Park et al. 2020); `lite` is a narrower, shallower
    generator that trains on a laptop CPU. Use `CUTConfig.for_mode("fastcut", "lite")`.
    """

    mode: str = "cut"
    profile: str = "full"
    height: int = 64
    width_multiple: int = 8
    input_nc: int = 3
    output_nc: int = 3
    ngf: int = 64
    n_blocks: int = 9
    ndf: int = 64
    n_layers_D: int = 3
    netF_nc: int = 256
    nce_layers: tuple[int, ...] = (0, 4, 8, 12, 16)
    num_patches: int = 256
    nce_T: float = 0.07
    lambda_GAN: float = 1.0
    lambda_NCE: float = 1.0
    # Weight of the text-preserving loss (gan/text_loss.py); 0 (default) trains plain CUT.
    lambda_text: float = 0.0
    nce_idt: bool = True
    flip_equivariance: bool = False
    gan_mode: str = "lsgan"
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    init_gain: float = 0.02

    @classmethod
    def for_mode(cls, mode: str = "cut", profile: str = "full", **overrides: Any) -> CUTConfig:
        """The paper's defaults for CUT or FastCUT, at the `full` or `lite` size."""
        mode, profile = mode.lower(), profile.lower()
        if mode not in MODES:
            raise KplateError(f"unknown mode '{mode}' (expected cut or fastcut)")
        if profile not in PROFILES:
            raise KplateError(f"unknown profile '{profile}' (expected lite or full)")
        values: dict[str, Any] = {"mode": mode, "profile": profile}
        if mode == "fastcut":
            values.update(lambda_NCE=10.0, nce_idt=False, flip_equivariance=True)
        if profile == "lite":
            values.update(ngf=16, n_blocks=5, ndf=16, n_layers_D=3, netF_nc=128)
        values.update(overrides)
        config = cls(**values)
        config.validate()
        return config

    @staticmethod
    def check_values(values: dict[str, Any]) -> None:
        """Refuse NaN, infinite, non-integer or out-of-range numbers among `values` (field
        name -> value), naming the flag: the requested fields before anything runs."""
        _check_numbers(values, CONFIG_BOUNDS)

    def validate(self) -> None:
        """Reject settings the networks cannot run with, in the user's words."""
        self.check_values(dataclasses.asdict(self))
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in self.nce_layers):
            raise KplateError(f"nce_layers {self.nce_layers}: must be layer numbers (0 or more)")
        if not self.nce_layers:
            raise KplateError("nce_layers must name at least one layer")
        if self.height % 4:  # the bounds already hold it to 24 or more
            raise OptionError("height", f"{{option}} {self.height}: must be a multiple of 4")
        if self.width_multiple % 4:
            raise KplateError("width_multiple must be a multiple of 4 (two 2x downsamplings)")
        last = max(self.nce_layers)
        if last >= 12 + self.n_blocks:
            raise KplateError(
                f"nce layer {last} is past the encoder ({self.n_blocks} blocks end at {11 + self.n_blocks})"
            )
        if self.gan_mode != "lsgan":
            raise KplateError(f"gan_mode '{self.gan_mode}' is not supported (lsgan only)")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["nce_layers"] = list(self.nce_layers)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CUTConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "nce_layers" in values:
            values["nce_layers"] = tuple(int(v) for v in values["nce_layers"])
        return cls(**values)

    def differences(self, other: CUTConfig) -> list[str]:
        """`field=mine (other has theirs)` for every field that differs."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [f"{k}={mine[k]} (checkpoint has {theirs[k]})" for k in mine if mine[k] != theirs[k]]


@dataclass
class TrainOptions:
    """One training run: data, length, output and bookkeeping (not the model)."""

    dataroot: Path | None
    name: str
    checkpoints_dir: Path = Path("checkpoints")
    steps: int | None = None
    epochs: int | None = None
    # Fraction of the run at the end over which the learning rate decays linearly to ~0.
    decay_fraction: float = 0.5
    # None: the checkpoint's when resuming, else DEFAULT_BATCH_SIZE and 0.
    batch_size: int | None = None
    seed: int | None = None
    device: str = "auto"
    resume: bool = False
    save_every: int = 500
    image_every: int = 200
    log_every: int = 10
    progress: bool = True
    tensorboard: bool = True
    deterministic: bool = False
    # None: channels-last on CUDA only (on this CPU it measured slower, see docs/gan.md).
    channels_last: bool | None = None
    # auto: bf16 autocast on CUDA GPUs that support it, else fp16 with loss scaling; off on CPU.
    amp: str = "auto"
    # torch.compile G and D (CUDA only: on CPU the compile time outweighs a short run's gain).
    compile: bool = False

    @property
    def run_dir(self) -> Path:
        return Path(self.checkpoints_dir) / self.name

    def validate(self) -> None:
        if not self.name or "/" in self.name or self.name in {".", ".."}:
            raise OptionError("name", f"{{option}} '{self.name}': must be a plain folder name")
        if self.steps is not None and self.epochs is not None:
            raise OptionError("steps", "give {option} or {epochs}, not both", also=("epochs",))
        _check_numbers(dataclasses.asdict(self), OPTION_BOUNDS)
        if self.amp not in {"auto", "bf16", "fp16", "off"}:
            raise OptionError("amp", f"{{option}} {self.amp}: expected auto, bf16, fp16 or off")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["dataroot"] = None if self.dataroot is None else str(self.dataroot)
        data["checkpoints_dir"] = str(self.checkpoints_dir)
        return data


def default_profile(device_type: str) -> str:
    """The profile of a run that names none: the paper's on a CUDA GPU, lite elsewhere."""
    return "full" if device_type == "cuda" else "lite"


def resume_conflict(conflicts: list[str]) -> KplateError:
    """The one error for `--resume` with settings that are not the checkpoint's."""
    return OptionError(
        "resume", "{option}: options conflict with the checkpoint: " + "; ".join(conflicts)
    )


def round_width(height: int, aspect: float, multiple: int) -> int:
    """Width for a plate of this aspect ratio at `height`, rounded to `multiple` (>= multiple)."""
    return max(multiple, round(height * aspect / multiple) * multiple)
