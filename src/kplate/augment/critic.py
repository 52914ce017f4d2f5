"""A realism critic: of several camera draws of one plate, keep the one that looks most
like the real crops a config was fitted to.

`kplate fit` matches the marginals of image statistics; a small CNN trained to tell the
real crops from the fitted config's draws sees what they miss together (the plate's
place and size in the crop, darkness with blur, the frame's look). A config with a
`critic` section draws `candidates` augmentations of each plate from the image's own
generator, scores them, and keeps one with probability proportional to
exp(temper x logit): sampling-importance-resampling with the critic's odds as the
density ratio real/synthetic (Azadi et al. 2019, "Discriminator Rejection Sampling", do
the same with rejection). The plate, its number, type and boxes never change; only which
camera draw it gets. The weights live beside the config in a `.npz` file written by
`kplate fit` (numbers only; no images). docs/fit.md, "The critic".

torch is imported only when a config names a critic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from kplate.errors import KplateError

if TYPE_CHECKING:
    import torch

#: The critic's input: RGB squeezed to this size, as the realism test and the fit's
#: statistics see a crop.
HEIGHT, WIDTH = 48, 160
#: Draws per plate, and the largest a config may ask for (each costs a full camera chain).
CANDIDATES = 4
MAX_CANDIDATES = 32
#: How strongly the critic's odds tilt the choice (1: the density ratio itself).
TEMPER = 1.0
MAX_TEMPER = 4.0
#: Logits are rounded before the choice, so a last-bit difference between thread counts
#: cannot change which draw a seed keeps.
LOGIT_DECIMALS = 2
#: Marks a weights file as kplate's (kplate overwrites no other file).
MARKER = "kplate_critic"
#: Channels of the critic's convolution stages (3x3 conv, batch norm, ReLU; the first at
#: full size then 2x2 max-pooled, the others stride 2), then global max pooling.
CHANNELS = (16, 32, 64, 64)
KEYS = ("file", "candidates", "temper")


def network() -> torch.nn.Module:
    """The critic's CNN: one logit per image, high = looks real."""
    from torch import nn

    layers: list[nn.Module] = []
    previous = 3
    for stage, channels in enumerate(CHANNELS):
        stride = 1 if stage == 0 else 2
        layers += [
            nn.Conv2d(previous, channels, 3, stride=stride, padding=1),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
        ]
        if stage == 0:
            layers.append(nn.MaxPool2d(2))
        previous = channels
    layers += [nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(previous, 1)]
    return nn.Sequential(*layers)


def squeeze(image: np.ndarray) -> np.ndarray:
    """An RGB uint8 image at the fixed 48x160 (PIL bilinear, aspect not kept), as the
    realism test and the fit's statistics resize it."""
    from PIL import Image

    pil = Image.fromarray(image)
    return np.asarray(pil.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR), dtype=np.uint8)


def as_tensor(arrays: np.ndarray) -> torch.Tensor:
    """(N, HEIGHT, WIDTH, 3) uint8 -> (N, 3, HEIGHT, WIDTH) float in [0, 1]."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(arrays)).permute(0, 3, 1, 2).float().div(255)


def save_weights(model: torch.nn.Module, path: Path | BinaryIO) -> None:
    """The weights in an .npz with kplate's marker (no pickles), to a path or a binary
    file; floating-point values as float16, which halves the file and moves no logit by
    more than the rounding."""
    arrays = {}
    for name, value in model.state_dict().items():
        array = value.detach().cpu().numpy()
        arrays[name] = array.astype(np.float16) if array.dtype == np.float32 else array
    arrays[MARKER] = np.array(CHANNELS)
    if not isinstance(path, Path):
        np.savez(path, **arrays)
        return
    with open(path, "wb") as handle:  # np.savez would add .npz to a path without it
        np.savez(handle, **arrays)


def written_by_kplate(path: Path) -> bool:
    """Whether `path` is a critic file kplate wrote (the only kind it may replace)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return MARKER in data.files
    except (OSError, ValueError, EOFError):
        return False


def load_network(path: Path | BinaryIO) -> torch.nn.Module:
    """The critic in eval mode; a file that is not a kplate critic is a one-line error."""
    import torch

    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError) as error:
        raise KplateError(f"critic {path}: cannot read ({error})") from None
    if MARKER not in arrays or tuple(arrays.pop(MARKER).tolist()) != CHANNELS:
        raise KplateError(f"critic {path}: not a kplate critic of this version")
    model = network()
    try:
        model.load_state_dict(
            {
                name: torch.from_numpy(
                    value.astype(np.float32) if value.dtype == np.float16 else value
                )
                for name, value in arrays.items()
            }
        )
    except RuntimeError:
        raise KplateError(f"critic {path}: weights do not fit the critic's network") from None
    return model.eval()


@dataclass
class Critic:
    """Scores camera draws of one plate and picks one (see the module docstring)."""

    path: Path
    candidates: int = CANDIDATES
    temper: float = TEMPER
    _model: Any = None

    def logits(self, images: list[np.ndarray]) -> list[float]:
        """Each image's logit (high = looks real), rounded to LOGIT_DECIMALS."""
        import torch

        if self._model is None:
            self._model = load_network(self.path)
        batch = as_tensor(np.stack([squeeze(image) for image in images]))
        # One thread: a few 48x160 crops gain nothing from more, and a worker forked from
        # a process whose OpenMP pool was started hangs at its first parallel region.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                out = self._model(batch).squeeze(1).tolist()
        finally:
            torch.set_num_threads(threads)
        return [round(float(value), LOGIT_DECIMALS) for value in out]

    def choose(self, logits: list[float], rng: np.random.Generator) -> int:
        """One index, drawn with probability proportional to exp(temper x logit)."""
        top = max(logits)
        weights = np.array([math.exp(self.temper * (value - top)) for value in logits])
        return int(rng.choice(len(logits), p=weights / weights.sum()))


def validate_critic(
    values: Any, fail: Callable[..., Exception], folder: Path | None
) -> dict[str, Any]:
    """Check a spec's `critic` mapping: `file` (the weights, relative to the config's
    folder), `candidates` (2 to MAX_CANDIDATES) and `temper` (above 0, at most
    MAX_TEMPER). The file is resolved and must exist; it is read when first used."""
    if not isinstance(values, dict):
        raise fail(("critic",), f"expected a mapping of {', '.join(KEYS)}")
    from kplate.extras import require

    require("torch", needed_for="a config with a critic")
    unknown = [str(key) for key in values if key not in KEYS]
    if unknown:
        raise fail(("critic", unknown[0]), f"unknown key; allowed: {', '.join(KEYS)}")
    name = values.get("file")
    if not isinstance(name, str) or not name:
        raise fail(("critic", "file"), f"expected the critic's weights file, got {name!r:.60}")
    path = Path(name) if folder is None else folder / name
    if not path.is_file():
        raise fail(("critic", "file"), f"no such file: {path}")
    candidates = values.get("candidates", CANDIDATES)
    if (
        not isinstance(candidates, int)
        or isinstance(candidates, bool)
        or not 2 <= candidates <= MAX_CANDIDATES
    ):
        raise fail(
            ("critic", "candidates"),
            f"expected a whole number from 2 to {MAX_CANDIDATES}, got {candidates!r:.60}",
        )
    temper = values.get("temper", TEMPER)
    number = isinstance(temper, int | float) and not isinstance(temper, bool)
    if not number or not math.isfinite(temper) or not 0 < temper <= MAX_TEMPER:
        raise fail(
            ("critic", "temper"),
            f"expected a number above 0 and at most {MAX_TEMPER:g}, got {temper!r:.60}",
        )
    return {"file": str(path.resolve()), "candidates": candidates, "temper": float(temper)}
