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
from kplate.errors import KplateError
from kplate.gan.config import CUTConfig
from kplate.gan.networks import ResnetGenerator
from kplate.io.files import file_mode

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


def _load(path: Path) -> dict[str, Any]:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise KplateError(f"{path}: no checkpoint here") from None
    except Exception as error:
        raise KplateError(f"{path}: cannot read checkpoint ({error})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise KplateError(f"{path}: not a kplate CUT checkpoint")
    if data.get("format_version", 0) > FORMAT_VERSION:
        raise KplateError(
            f"{path}: checkpoint format {data['format_version']} is newer than this kplate "
            f"({__version__}) reads ({FORMAT_VERSION}); upgrade kplate"
        )
    return data


def load_checkpoint(run_dir: Path) -> dict[str, Any]:
    """The full training state of a run, or a KplateError saying there is none."""
    path = Path(run_dir) / CHECKPOINT_FILE
    if not path.is_file():
        started = Path(run_dir).is_dir() and any(Path(run_dir).iterdir())
        raise KplateError(
            f"--resume: no checkpoint in {run_dir} (expected {CHECKPOINT_FILE})"
            + (
                "; the run stopped before its first save: run the same command without "
                "--resume to start it again"
                if started
                else ""
            )
        )
    return _load(path)


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
    config = CUTConfig.from_dict(data["config"])
    netG = ResnetGenerator(config)
    weights = data["G"] if "G" in data else data["model"]["G"]
    netG.load_state_dict(weights)
    netG.step = data.get("step")  # the training step it was saved at, for provenance
    netG.eval()
    return netG.to(device)
