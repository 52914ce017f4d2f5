"""Checkpoints: atomic, self-describing, exactly resumable.

`checkpoint.pt` holds G, D, F, the optimisers, schedulers and AMP scalers, the step, the
sampler position, every rank's RNG states (python, numpy, torch, CUDA, the training
generator) and the config and options. `generator.pt` is G alone plus what rebuilds it
(config, kplate version, format version) for `load_generator` and `kplate translate`.
Both are written to a temporary file and renamed, so a crash never leaves half a file.
Everything stored is plain data and tensors, so loading uses `weights_only=True`.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kplate import __version__
from kplate.errors import KplateError, OptionError
from kplate.gan.config import CUTConfig
from kplate.gan.networks import ResnetGenerator
from kplate.io.files import file_mode
from kplate.limits import NotRegularFile, regular_file_stat

FORMAT = "kplate-cut"
FORMAT_VERSION = 1
CHECKPOINT_FILE = "checkpoint.pt"
GENERATOR_FILE = "generator.pt"


def atomic_torch_save(obj: Any, path: Path) -> None:
    """torch.save to a temporary file in the same folder, fsync, then rename over `path`.

    The file gets the mode the user's umask gives any new file (mkstemp's is 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), file_mode())
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def capture_rng(generator: torch.Generator) -> dict[str, Any]:
    """This process's random states, as plain data and tensors."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "kind": np_state[0],
            "keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "gauss": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
        "train": generator.get_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def restore_rng(state: dict[str, Any], generator: torch.Generator) -> None:
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    n = state["numpy"]
    np.random.set_state(
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"])
    )
    torch.set_rng_state(state["torch"])
    generator.set_state(state["train"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def _header(config: CUTConfig) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kplate_version": __version__,
        "torch_version": str(torch.__version__),
        "config": config.to_dict(),
    }


def save_checkpoint(run_dir: Path, state: dict[str, Any], config: CUTConfig) -> Path:
    """Write checkpoint.pt and generator.pt under `run_dir`; returns the checkpoint path."""
    path = run_dir / CHECKPOINT_FILE
    atomic_torch_save({**_header(config), **state}, path)
    atomic_torch_save(
        {**_header(config), "step": state["step"], "G": state["model"]["G"]},
        run_dir / GENERATOR_FILE,
    )
    return path


_ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive; anything else is not ours


def _load(path: Path, mmap: bool = False) -> dict[str, Any]:
    """A kplate checkpoint file's contents, or one KplateError line saying why not.

    Only a regular file that starts like a torch.save archive reaches torch.load, so a
    JPEG, a FIFO or /dev/zero gets "not a kplate checkpoint", never torch's advice to
    load it with weights_only=False (which would run arbitrary code). `mmap` maps the
    tensors instead of reading them, for a caller that needs only the header.
    """
    try:
        regular_file_stat(path)
        with open(path, "rb") as handle:
            magic = handle.read(len(_ZIP_MAGIC))
    except FileNotFoundError:
        raise KplateError(f"{path}: no checkpoint here") from None
    except NotRegularFile as error:
        raise KplateError(f"{path}: is {error.kind}, not a kplate checkpoint; not opened") from None
    except OSError as error:
        raise KplateError(f"{path}: cannot read checkpoint ({error.strerror})") from None
    if magic != _ZIP_MAGIC:
        raise KplateError(
            f"{path}: cannot read checkpoint (not a kplate checkpoint: "
            f"expected a {GENERATOR_FILE} or {CHECKPOINT_FILE} written by kplate train)"
        )
    try:
        data = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "weights only load failed" in first.lower():  # never pass on torch's advice
            first = "not a kplate checkpoint: it holds objects other than tensors and plain data"
        raise KplateError(f"{path}: cannot read checkpoint ({first})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise KplateError(f"{path}: not a kplate CUT checkpoint")
    version = data.get("format_version", 0)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise KplateError(
            f"{path}: checkpoint format {version!r} is newer than this kplate "
            f"({__version__}) reads ({FORMAT_VERSION}); upgrade kplate"
        )
    return data


#: What a full training checkpoint holds beyond the header (generator.pt has only "G").
_TRAINING_KEYS = ("step", "total_steps", "sampler", "model", "rng", "options")


def _require_finite(path: Path, tensors: dict[str, Any], what: str) -> None:
    """Refuse weights with NaN or infinity: a diverged model translates to garbage."""
    for name, tensor in tensors.items():
        if (
            isinstance(tensor, torch.Tensor)
            and tensor.is_floating_point()
            and not bool(torch.isfinite(tensor).all())
        ):
            raise KplateError(
                f"{path}: the {what} weights are not finite (NaN or infinity in {name}); "
                "the training diverged, retrain with a lower --lr"
            )


def load_checkpoint(run_dir: Path) -> dict[str, Any]:
    """The full training state of a run, or a KplateError saying there is none."""
    path = Path(run_dir) / CHECKPOINT_FILE
    if not os.path.lexists(path):  # anything else there (a FIFO, a folder) is named by _load
        started = Path(run_dir).is_dir() and any(Path(run_dir).iterdir())
        raise OptionError(
            "resume",
            f"{{option}}: no checkpoint in {run_dir} (expected {CHECKPOINT_FILE})"
            + (
                "; the run stopped before its first save: run the same command without "
                "{option} to start it again"
                if started
                else ""
            ),
        )
    data = _load(path)
    missing = [key for key in _TRAINING_KEYS if key not in data]
    if missing or not isinstance(data.get("model"), dict):
        hint = " (it holds a generator only, like generator.pt)" if "G" in data else ""
        raise OptionError(
            "resume",
            f"{{option}}: {path} is not a full training checkpoint{hint}; "
            f"missing {', '.join(missing) or 'model'}",
        )
    for net, weights in data["model"].items():
        if isinstance(weights, dict) and net in {"G", "D", "F"}:
            _require_finite(path, weights, net)
    return data


def saved_config(run_dir: Path) -> CUTConfig | None:
    """The model config of a run's checkpoint, reading its header only (the tensors are
    mapped, not read); None when there is no checkpoint (`load_checkpoint` says why)."""
    path = Path(run_dir) / CHECKPOINT_FILE
    if not os.path.lexists(path):
        return None
    data = _load(path, mmap=True)
    try:
        return CUTConfig.from_dict(data["config"])
    except (KeyError, TypeError, ValueError) as error:
        raise KplateError(f"{path}: not a kplate CUT checkpoint ({error})") from None


def remove_stale_temporaries(run_dir: Path) -> None:
    """Delete the `.checkpoint.pt.XXXX.tmp` / `.generator.pt.XXXX.tmp` a kill inside
    `atomic_torch_save` left (8 MB and more each); call it before the run writes."""
    for name in (CHECKPOINT_FILE, GENERATOR_FILE):
        for stray in Path(run_dir).glob(f".{name}.*.tmp"):
            stray.unlink(missing_ok=True)


def load_generator(
    path_or_dir: str | os.PathLike[str], device: str | torch.device = "cpu"
) -> ResnetGenerator:
    """A trained generator in eval mode, from generator.pt, checkpoint.pt or their folder.

    The returned module has `.config` (a CUTConfig) and `.step`; inputs are (B, 3, H, W) in [-1, 1]
    with H and W multiples of 4, outputs the same shape.
    """
    path = Path(path_or_dir)
    if path.is_dir():
        for name in (GENERATOR_FILE, CHECKPOINT_FILE):
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise KplateError(f"{path}: no {GENERATOR_FILE} or {CHECKPOINT_FILE} here")
    data = _load(path)
    try:
        config = CUTConfig.from_dict(data["config"])
        config.validate()
        weights = data["G"] if "G" in data else data["model"]["G"]
        _require_finite(path, weights, "generator")
        netG = ResnetGenerator(config)
        netG.load_state_dict(weights)
    except (AttributeError, KeyError, TypeError, ValueError, RuntimeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise KplateError(f"{path}: not a usable kplate generator ({first})") from None
    netG.step = data.get("step")  # the training step it was saved at, for provenance
    netG.eval()
    return netG.to(device)
