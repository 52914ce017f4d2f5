"""Train a fitted config's realism critic (`kplate.augment.critic`) and write its file.

The critic learns to tell the real crops from draws of the fitted config, each squeezed
to 48x160 RGB. Drawn through the config with its `critic` section, each plate then keeps
the camera draw the critic finds most real-like, by its odds (docs/fit.md, "The critic").
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kplate.augment import critic as critic_model
from kplate.errors import KplateError
from kplate.evaluate.defaults import CRITIC_DRAWS, CRITIC_STEPS
from kplate.evaluate.fit import Sampler
from kplate.io.files import atomic_write_bytes
from kplate.pipeline.config import GenerateConfig

#: Draws are made in chunks (a chunk's clean plates are held while it is augmented).
CHUNK = 250
#: Where the critic's draws start in the fit's plate indices: apart from the search
#: sample and the final check.
FIRST_INDEX = 1_000_000
#: Each step trains on HALF_BATCH real and HALF_BATCH drawn crops (AdamW, lr 1e-3, weight
#: decay 1e-2); the draws and steps are CRITIC_DRAWS and CRITIC_STEPS (evaluate/defaults).
HALF_BATCH = 16
LR, WEIGHT_DECAY = 1e-3, 1e-2
SUFFIX = ".critic.npz"


@dataclass
class CriticFit:
    """What `fit_critic` trained: the config's `critic` section and how it was made."""

    section: dict[str, Any]
    real: int
    draws: int
    steps: int
    train_accuracy: float
    seconds: float


def critic_path(config_out: str | Path) -> Path:
    """The critic's file beside a fitted config: `NAME.yaml` -> `NAME.critic.npz`."""
    path = Path(config_out)
    return path.with_name(path.stem + SUFFIX)


def check_critic_out(path: Path) -> Path:
    """`path` may be (over)written: absent, or a critic kplate wrote; touches nothing."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise KplateError(f"critic {path}: exists and is not a regular file")
    if path.exists() and not critic_model.written_by_kplate(path):
        raise KplateError(
            f"critic {path}: exists and was not written by kplate fit; remove it or choose "
            "another --out"
        )
    return path


#: The fewest draws and steps a critic is trained with.
MIN_DRAWS, MIN_STEPS = 16, 1


def check_critic_options(candidates: int, temper: float, draws: int, steps: int) -> None:
    """`--critic-candidates` (0, or 2 to MAX_CANDIDATES), `--critic-temper`,
    `--critic-draws` and `--critic-steps`."""
    top = critic_model.MAX_CANDIDATES
    if candidates != 0 and not 2 <= candidates <= top:
        raise KplateError(
            f"--critic-candidates must be 0 (no critic) or 2 to {top}, got {candidates}"
        )
    if not 0 < temper <= critic_model.MAX_TEMPER:  # NaN fails too
        raise KplateError(
            f"--critic-temper must be above 0 and at most {critic_model.MAX_TEMPER:g}, got {temper}"
        )
    if draws < MIN_DRAWS:
        raise KplateError(f"--critic-draws must be {MIN_DRAWS} or more, got {draws}")
    if steps < MIN_STEPS:
        raise KplateError(f"--critic-steps must be {MIN_STEPS} or more, got {steps}")


def draw_arrays(spec: dict[str, Any], config: GenerateConfig, count: int) -> np.ndarray:
    """`count` draws of `spec` (without a critic) at the critic's input size."""
    plain = {group: value for group, value in spec.items() if group != "critic"}
    chunks = []
    for start in range(FIRST_INDEX, FIRST_INDEX + count, CHUNK):
        indices = range(start, min(start + CHUNK, FIRST_INDEX + count))
        chunks.append(Sampler(config, indices).arrays(plain, "fitted"))
    return np.concatenate(chunks)


def train_critic(
    real: np.ndarray, drawn: np.ndarray, *, steps: int = CRITIC_STEPS, seed: int = 0
) -> tuple[Any, float]:
    """The critic trained on (N, 48, 160, 3) uint8 real and drawn crops, and its accuracy
    on its own training crops (balanced); deterministic for a seed on CPU."""
    import torch
    import torch.nn.functional as F

    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = critic_model.network()
    optimiser = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    real_t, drawn_t = critic_model.as_tensor(real), critic_model.as_tensor(drawn)
    targets = torch.cat([torch.zeros(HALF_BATCH), torch.ones(HALF_BATCH)])
    model.train()
    for _ in range(steps):
        fake = torch.randint(len(drawn_t), (HALF_BATCH,), generator=generator)
        true = torch.randint(len(real_t), (HALF_BATCH,), generator=generator)
        with torch.random.fork_rng(devices=[]):  # dropout from the run's own seed
            torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))
            logits = model(torch.cat([drawn_t[fake], real_t[true]])).squeeze(1)
        loss = F.binary_cross_entropy_with_logits(logits, targets)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    model.eval()
    with torch.inference_mode():
        hits = [
            ((model(tensor[i : i + 512]).squeeze(1) > 0) == label).float().mean().item()
            for tensor, label in ((drawn_t, False), (real_t, True))
            for i in range(0, len(tensor), 512)
        ]
    return model, float(np.mean(hits))


def fit_critic(
    real: np.ndarray,
    spec: dict[str, Any],
    config: GenerateConfig,
    out: Path,
    *,
    candidates: int = critic_model.CANDIDATES,
    temper: float = critic_model.TEMPER,
    draws: int = CRITIC_DRAWS,
    steps: int = CRITIC_STEPS,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> CriticFit:
    """Train the critic on `real` against `draws` of `spec`, write it to `out` (through a
    temporary beside it), and return the config's `critic` section for it."""
    started = time.monotonic()
    say = progress or (lambda _: None)
    check_critic_out(out)
    say(f"critic: drawing {draws} plates of the fitted config")
    drawn = draw_arrays(spec, config, draws)
    say(f"critic: {steps} steps on {len(real)} real crops against {len(drawn)} draws")
    model, accuracy = train_critic(real, drawn, steps=steps, seed=seed)
    buffer = io.BytesIO()
    critic_model.save_weights(model, buffer)
    critic_model.load_network(io.BytesIO(buffer.getvalue()))  # reads back before it is written
    check_critic_out(out)  # still ours (or absent) just before it is replaced
    atomic_write_bytes(out, buffer.getvalue())
    section = {"file": str(out.resolve()), "candidates": candidates, "temper": float(temper)}
    seconds = round(time.monotonic() - started, 1)
    return CriticFit(section, len(real), len(drawn), steps, accuracy, seconds)
