"""Apply a trained generator to plates: any size in, the same size out, labels carried over.

`Translator` runs the generator at its training height with the plate's own aspect
ratio (width rounded as in training), in batches of equal shape, and resizes the result
back to the input's size, so boxes and quads in the labels stay exact. Translation
needs domain A alone; there is no testB and no square crop.
"""

from __future__ import annotations

import contextlib
import csv
import json
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from kplate import __version__
from kplate.errors import KplateError
from kplate.gan.checkpoint import CHECKPOINT_FILE, GENERATOR_FILE, load_generator
from kplate.gan.config import round_width
from kplate.gan.data import open_rgb
from kplate.gan.distributed import DistInfo, barrier, gather_objects
from kplate.gan.preservation import edge_correlation
from kplate.io.files import atomic_write_text, encode_image
from kplate.io.manifest import (
    LABELS_CSV,
    METADATA,
    dumps_line,
    iter_metadata,
    read_metadata,
    write_derived_manifests,
)
from kplate.io.paths import refuse_overlap
from kplate.io.run_folder import (
    IMAGES,
    RUN_FILE,
    SUMMARY_FILE,
    output_folder,
    refuse_unfinished,
    remove_stray_temporaries,
    resume_prefix,
    run_folder,
    write_file,
)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


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
        raise KplateError("give --name (with --checkpoints-dir) or --checkpoint")
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


class Translator:
    """Batch translation of RGB uint8 plates of any size (see the module docstring)."""

    def __init__(
        self, generator: torch.nn.Module, device: torch.device | str = "cpu", batch_size: int = 16
    ) -> None:
        if batch_size < 1:
            raise KplateError(f"--batch-size must be 1 or more, got {batch_size}")
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


# -- datasets -------------------------------------------------------------------------


@dataclass(frozen=True)
class InputItem:
    """One input image: where it is, the name it keeps in the output, and its labels."""

    path: Path
    file_name: str
    entry: dict[str, Any]


def _safe_relative(root: Path, name: str, where: str) -> str:
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts or "\x00" in name or not name.strip():
        raise KplateError(f"{where}: file name '{name}' points outside {root}")
    return rel.as_posix()


def _output_name(rel: str) -> str:
    return rel if rel.startswith(f"{IMAGES}/") else f"{IMAGES}/{rel}"


def list_inputs(root: Path) -> list[InputItem]:
    """A kplate dataset (metadata.jsonl), a labels.csv folder or any folder of images."""
    if not root.is_dir():
        raise KplateError(f"{root}: input folder not found")
    items: list[InputItem] = []
    if (root / METADATA).is_file():
        for line, entry in enumerate(read_metadata(root / METADATA), start=1):
            rel = _safe_relative(root, str(entry.get("file_name", "")), f"{root / METADATA}:{line}")
            items.append(InputItem(root / rel, rel, dict(entry)))
    elif (root / LABELS_CSV).is_file():
        with open(root / LABELS_CSV, encoding="utf-8-sig", newline="") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                rel = _safe_relative(root, row.get("file") or "", f"{root / LABELS_CSV}:{line}")
                entry = {"file_name": _output_name(rel), "text": row.get("text") or None}
                if row.get("style") or row.get("type"):
                    entry["type"] = row.get("type") or row.get("style")
                items.append(InputItem(root / rel, entry["file_name"], entry))
    else:
        for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
            if path.is_file() and not any(
                part.startswith(".") for part in path.relative_to(root).parts
            ):
                rel = _output_name(path.relative_to(root).as_posix())
                items.append(InputItem(path, rel, {"file_name": rel, "text": None}))
    if not items:
        raise KplateError(f"{root}: no images to translate")
    return items


def read_rgb(path: Path) -> np.ndarray:
    return np.asarray(open_rgb(path))


@dataclass
class TranslateSummary:
    total: int
    translated: int
    resumed_from: int
    seconds: float
    mean_preservation: float | None
    out: str

    def lines(self) -> list[str]:
        rate = self.translated / self.seconds if self.seconds > 0 else 0.0
        head = f"{self.total} plates in {self.out}"
        if self.resumed_from:
            head += f" ({self.resumed_from} already there, {self.translated} made now)"
        score = "n/a" if self.mean_preservation is None else f"{self.mean_preservation:.3f}"
        return [
            head,
            f"{self.seconds:.1f} s, {rate:.1f} plates/s",
            f"content preservation (edge correlation in character boxes): mean {score}",
        ]


def translated_entry(
    item: InputItem, index: int, source: np.ndarray, output: np.ndarray, model: ModelInfo
) -> dict[str, Any]:
    """The input's labels, unchanged, plus what the translation did."""
    entry = dict(item.entry)
    entry["file_name"] = item.file_name
    entry["index"] = index
    entry.setdefault("width", int(source.shape[1]))
    entry.setdefault("height", int(source.shape[0]))
    boxes = [c["box"] for c in entry.get("chars") or []]
    entry["translation"] = {
        **model.to_dict(),
        "preservation": round(edge_correlation(source, output, boxes), 4),
    }
    return entry


def _batches(todo: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(todo), size):
        yield todo[start : start + size]


def translate_dataset(
    input_dir: Path,
    out: Path,
    translator: Translator,
    model: ModelInfo,
    *,
    overwrite: bool = False,
    dist_info: DistInfo | None = None,
    progress: bool = False,
) -> TranslateSummary:
    """Translate every image of `input_dir` into `out` (resumable; ranks split the work)."""
    start = time.perf_counter()
    rank, world = (dist_info.rank, dist_info.world_size) if dist_info else (0, 1)
    out = output_folder(out)
    refuse_overlap(out, [("--input", input_dir), ("--checkpoint", Path(model.path))])
    refuse_unfinished(input_dir, "--input")
    items = list_inputs(input_dir)
    fingerprint = {
        "command": "translate",
        "input": str(input_dir.resolve()),
        "count": len(items),
        "model": model.to_dict(),
        "kplate": __version__,
    }
    claim = run_folder(out, fingerprint, overwrite) if rank == 0 else contextlib.nullcontext()
    barrier_info = dist_info
    with claim as resuming:
        kept = 0
        if rank == 0:
            atomic_write_text(out / RUN_FILE, json.dumps(fingerprint, ensure_ascii=False, indent=1))
            if not resuming:
                (out / METADATA).unlink(missing_ok=True)
            kept = resume_prefix(out, list(range(len(items))))
            if (out / IMAGES).exists():
                remove_stray_temporaries(out / IMAGES)
            (out / SUMMARY_FILE).unlink(missing_ok=True)
        done = gather_objects(barrier_info, kept)[0] if barrier_info else kept
        todo = list(range(done, len(items)))
        round_size = translator.batch_size * world
        bar = None
        if progress and rank == 0:
            from tqdm import tqdm

            bar = tqdm(total=len(items), initial=done, unit="plate")
        manifest = open(out / METADATA, "a", encoding="utf-8") if rank == 0 else None  # noqa: SIM115
        try:
            for round_indices in _batches(todo, round_size):
                mine = round_indices[rank::world]
                sources = [read_rgb(items[i].path) for i in mine]
                outputs = translator.translate(sources) if sources else []
                entries = []
                for i, source, output in zip(mine, sources, outputs, strict=True):
                    path = out / items[i].file_name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    fmt = "png" if path.suffix.lower() == ".png" else "jpg"
                    write_file(path, encode_image(output, fmt))
                    entries.append(translated_entry(items[i], i, source, output, model))
                gathered = gather_objects(barrier_info, entries) if barrier_info else [entries]
                if manifest is not None:
                    merged = sorted(
                        (e for part in gathered for e in part), key=lambda e: e["index"]
                    )
                    manifest.write("".join(dumps_line(e) for e in merged))
                    manifest.flush()
                    if bar is not None:
                        bar.update(len(merged))
        except OSError as error:  # a full or read-only disk: what is written is a valid prefix
            raise KplateError(f"{out}: write failed ({error.strerror}); re-run to resume") from None
        finally:
            if manifest is not None:
                manifest.close()
            if bar is not None:
                bar.close()
        if barrier_info:
            barrier(barrier_info)
        seconds = time.perf_counter() - start
        if rank != 0:
            return TranslateSummary(len(items), len(todo), done, seconds, None, str(out))
        count = write_derived_manifests(out, lmdb=False)
        scores = [e["translation"]["preservation"] for e in iter_metadata(out / METADATA)]
        mean = float(np.mean(scores)) if scores else None
        atomic_write_text(
            out / SUMMARY_FILE,
            json.dumps(
                {
                    "complete": True,
                    "count": count,
                    "model": model.to_dict(),
                    "mean_preservation": None if mean is None else round(mean, 4),
                    "seconds": round(seconds, 3),
                },
                ensure_ascii=False,
                indent=1,
            ),
        )
        return TranslateSummary(len(items), len(todo), done, seconds, mean, str(out))
