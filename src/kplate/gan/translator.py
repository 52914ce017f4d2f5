"""A trained generator as a function of images: any size in, the same size out.

`Translator` runs the generator at its training height with the plate's own aspect
ratio (width rounded as in training), in batches of equal shape, and resizes the result
back to the input's size, so boxes and quads in the labels stay exact. It reads and
writes no files: `kplate.gan.translate` applies it to a dataset folder.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from kplate.errors import KplateError, OptionError
from kplate.gan.checkpoint import CHECKPOINT_FILE, GENERATOR_FILE, load_generator
from kplate.gan.config import round_width
from kplate.gan.edge_score import edge_correlation


def resolve_checkpoint(
    name: str | None,
    checkpoints_dir: str | Path = "checkpoints",
    checkpoint: str | Path | None = None,
) -> Path:
    """The generator file for `--checkpoint FILE`, or for `--name` under `--checkpoints-dir`."""
    if checkpoint is not None:
        path = Path(checkpoint)
        if not path.exists():
            raise KplateError(f"{path}: checkpoint not found")
        return path
    if not name:
        raise OptionError(
            "name",
            "give {option} (with {checkpoints_dir}) or {checkpoint}",
            also=("checkpoints_dir", "checkpoint"),
        )
    run_dir = Path(checkpoints_dir) / name
    for file in (GENERATOR_FILE, CHECKPOINT_FILE):
        if (run_dir / file).is_file():
            return run_dir / file
    raise KplateError(f"unknown model name '{name}': no {GENERATOR_FILE} in {run_dir}")


@dataclass(frozen=True)
class ModelInfo:
    """What the output records about the model that made it."""

    name: str
    path: str
    step: int | None
    mode: str
    profile: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "checkpoint": self.path,
            "step": self.step,
            "mode": self.mode,
            "profile": self.profile,
        }


def translation_record(
    model: ModelInfo, source: np.ndarray, output: np.ndarray, entry: dict[str, Any]
) -> dict[str, Any]:
    """What a translated entry records: the model, and how well the edges inside the
    entry's character boxes survived (1.0: unchanged)."""
    boxes = [c["box"] for c in entry.get("chars") or []]
    return {**model.to_dict(), "preservation": round(edge_correlation(source, output, boxes), 4)}


class Translator:
    """Batch translation of RGB uint8 plates of any size (see the module docstring)."""

    def __init__(
        self, generator: torch.nn.Module, device: torch.device | str = "cpu", batch_size: int = 16
    ) -> None:
        if batch_size < 1:
            raise OptionError("batch_size", f"{{option}} must be 1 or more, got {batch_size}")
        self.device = torch.device(device)
        self.generator = generator.to(self.device).eval()
        self.config = generator.config
        self.batch_size = batch_size
        if self.device.type == "cuda":
            self.generator = self.generator.to(memory_format=torch.channels_last)

    @classmethod
    def from_checkpoint(
        cls, path: Path, device: torch.device | str = "cpu", batch_size: int = 16
    ) -> tuple[Translator, ModelInfo]:
        generator = load_generator(path, device="cpu")
        step = getattr(generator, "step", None)
        config = generator.config
        name = path.parent.name if path.name in (GENERATOR_FILE, CHECKPOINT_FILE) else path.stem
        info = ModelInfo(
            name, str(path), None if step is None else int(step), config.mode, config.profile
        )
        return cls(generator, device, batch_size), info

    def model_shape(self, height: int, width: int) -> tuple[int, int]:
        """The (height, width) the generator sees for an input of this size."""
        h = self.config.height
        return h, round_width(h, width / height, self.config.width_multiple)

    @torch.inference_mode()
    def translate(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Translate RGB (or greyscale) uint8 images; each comes back at its own size."""
        results: list[np.ndarray | None] = [None] * len(images)
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        rgb = [np.repeat(i[..., None], 3, axis=2) if i.ndim == 2 else i[..., :3] for i in images]
        for index, image in enumerate(rgb):
            groups[self.model_shape(*image.shape[:2])].append(index)
        autocast = (
            torch.autocast("cuda", dtype=torch.float16)
            if self.device.type == "cuda"
            else contextlib.nullcontext()
        )
        for (mh, mw), members in groups.items():
            for start in range(0, len(members), self.batch_size):
                chunk = members[start : start + self.batch_size]
                batch = np.stack(
                    [cv2.resize(rgb[i], (mw, mh), interpolation=cv2.INTER_AREA) for i in chunk]
                )
                x = torch.from_numpy(batch).permute(0, 3, 1, 2).to(self.device).float()
                x = x.div_(127.5).sub_(1.0)
                if self.device.type == "cuda":
                    x = x.contiguous(memory_format=torch.channels_last)
                with autocast:
                    y = self.generator(x)
                y = ((y.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
                out = y.permute(0, 2, 3, 1).cpu().numpy()
                for i, translated in zip(chunk, out, strict=True):
                    h, w = rgb[i].shape[:2]
                    results[i] = cv2.resize(translated, (w, h), interpolation=cv2.INTER_LINEAR)
        return [r for r in results if r is not None]
