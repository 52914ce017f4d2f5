"""Plate-shaped unpaired data: decode once, cache as uint8, batch by aspect ratio.

Plates are small, so every image is decoded once at start-up (in threads) and kept in
memory as uint8 tensors at its training shape; a batch is then an `index_select`, and the
loader is never the bottleneck. Domain A (synthetic plates) defines the buckets: each
plate's width at `height` is rounded to a multiple of 8, so 520x110 plates train at 64x304
and two-row 335x170 plates at 64x128, never squashed or padded to squares. Domain B crops
(any size) are resized to the bucket whose aspect ratio is nearest to theirs. No flips:
a mirrored Hangul plate is not a plate.

Batches hold one bucket each. The order is a pure function of (seed, epoch), and rank r of
a DDP run takes the r-th slice of every global batch, so sharding is deterministic and the
sampler position is just (epoch, index).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from kplate.dataset.labels import split_labels
from kplate.errors import KplateError
from kplate.gan.config import round_width
from kplate.io.images import is_image_name, iter_labels, label_manifest, open_image


def list_images(folder: Path) -> list[Path]:
    """Sorted image files of one domain; a missing or empty folder is the user's error."""
    if not folder.is_dir():
        raise KplateError(f"{folder}: missing (expected a folder of images; see `kplate dataset`)")
    # Anything with an image name that is not a folder is kept: a dangling link, a link
    # loop, a FIFO or a device is then named by open_rgb as unreadable (never opened),
    # instead of the domain silently losing an image.
    files = sorted(p for p in folder.iterdir() if is_image_name(p) and not p.is_dir())
    if not files:
        raise KplateError(f"{folder}: no images (.jpg or .png) in this domain")
    return files


def open_rgb(path: Path) -> Image.Image:
    """`kplate.io.images.open_image` as RGB: a missing or unreadable file, a FIFO or device,
    or more than MAX_PIXELS is the user's error (`UnreadableImage`, one line naming it)."""
    return open_image(path, "RGB")


def _to_tensor(image: Image.Image, height: int, width: int) -> torch.Tensor:
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BICUBIC)
    return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).contiguous()


def domain_labels(folder: Path) -> dict[str, str]:
    """File name -> plate text of a domain's images: from the dataroot's dataset.json
    (`kplate dataset` records each file's label there), else from a labels.csv or
    metadata.jsonl in the folder (the earlier make_dataset copy writes labels.csv); {} for
    an unlabelled domain. The text-preserving loss reads these; nothing else in training
    does."""
    labels = split_labels(folder.parent, folder.name)
    if labels:
        return labels
    if label_manifest(folder) is None:
        return {}
    try:
        return {
            Path(item.name).name: item.text.strip() for item in iter_labels(folder) if item.text
        }
    except (KeyError, TypeError) as error:
        raise KplateError(f"{folder}: labels: missing column or field {error}") from None


@dataclass
class Bucket:
    """All cached images of one training shape, uint8 (N, 3, H, W), and A's labels."""

    height: int
    width: int
    a: torch.Tensor
    b: torch.Tensor
    a_texts: list[str | None] | None = None


@dataclass(frozen=True)
class Batch:
    """One global batch: a bucket, A indices into it and B (bucket, index) references."""

    bucket: int
    a_index: tuple[int, ...]
    b_refs: tuple[tuple[int, int], ...]


class PlateData:
    """Cached domains A and B, bucketed by plate aspect ratio."""

    def __init__(self, buckets: list[Bucket], files_a: int, files_b: int) -> None:
        self.buckets = buckets
        self.files_a = files_a
        self.files_b = files_b

    @classmethod
    def load(
        cls, dataroot: Path, height: int, multiple: int = 8, phase: str = "train"
    ) -> PlateData:
        """Decode `dataroot/{phase}A` and `{phase}B`; raises KplateError naming a bad file."""
        dataroot = Path(dataroot)
        if not dataroot.is_dir():
            raise KplateError(f"{dataroot}: no such dataroot folder")
        paths_a = list_images(dataroot / f"{phase}A")
        paths_b = list_images(dataroot / f"{phase}B")
        with ThreadPoolExecutor(max_workers=4) as pool:
            images_a = list(pool.map(open_rgb, paths_a))
            images_b = list(pool.map(open_rgb, paths_b))
        labels = domain_labels(dataroot / f"{phase}A")
        widths_a = [round_width(height, im.width / im.height, multiple) for im in images_a]
        shapes = sorted(set(widths_a))
        by_width: dict[int, list[torch.Tensor]] = {w: [] for w in shapes}
        texts: dict[int, list[str | None]] = {w: [] for w in shapes}
        for image, width, path in zip(images_a, widths_a, paths_a, strict=True):
            by_width[width].append(_to_tensor(image, height, width))
            texts[width].append(labels.get(path.name))
        logs = [math.log(w / height) for w in shapes]
        b_lists: dict[int, list[torch.Tensor]] = {w: [] for w in shapes}
        for image in images_b:
            aspect = math.log(image.width / image.height)
            nearest = min(range(len(shapes)), key=lambda i: abs(logs[i] - aspect))
            b_lists[shapes[nearest]].append(_to_tensor(image, height, shapes[nearest]))
        buckets = []
        for width in shapes:
            b = b_lists[width]
            b_tensor = torch.stack(b) if b else torch.empty(0, 3, height, width, dtype=torch.uint8)
            bucket = Bucket(height, width, torch.stack(by_width[width]), b_tensor, texts[width])
            buckets.append(bucket)
        return cls(buckets, len(paths_a), len(paths_b))

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return [(b.height, b.width) for b in self.buckets]

    def describe(self) -> str:
        parts = [f"{b.height}x{b.width}: {len(b.a)} A / {len(b.b)} B" for b in self.buckets]
        return f"{self.files_a} A and {self.files_b} B images in buckets " + ", ".join(parts)

    @property
    def labelled_a(self) -> int:
        """How many A images have a label (what the text-preserving loss can use)."""
        return sum(sum(t is not None for t in b.a_texts or []) for b in self.buckets)

    def texts(self, batch: Batch, rank: int, per_rank: int) -> list[str | None]:
        """The labels of this rank's A images of a global batch (None: unlabelled)."""
        bucket = self.buckets[batch.bucket]
        a_texts = bucket.a_texts or [None] * len(bucket.a)
        lo, hi = rank * per_rank, (rank + 1) * per_rank
        return [a_texts[i] for i in batch.a_index[lo:hi]]

    def fetch(self, batch: Batch, rank: int, per_rank: int) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank's slice of a global batch as uint8 tensors (A, B), same shape."""
        bucket = self.buckets[batch.bucket]
        lo, hi = rank * per_rank, (rank + 1) * per_rank
        a = bucket.a.index_select(0, torch.tensor(batch.a_index[lo:hi], dtype=torch.long))
        b_items = []
        for source, index in batch.b_refs[lo:hi]:
            image = self.buckets[source].b[index]
            if source != batch.bucket:
                image = (
                    F.interpolate(
                        image[None].float(),
                        size=(bucket.height, bucket.width),
                        mode="bilinear",
                        antialias=True,
                        align_corners=False,
                    )[0]
                    .round()
                    .clamp(0, 255)
                    .to(torch.uint8)
                )
            b_items.append(image)
        return a, torch.stack(b_items)


class BucketBatchSampler:
    """Deterministic bucketed batches: the same (seed, epoch) gives the same list anywhere."""

    def __init__(self, data: PlateData, global_batch: int, seed: int) -> None:
        self.a_counts = [len(b.a) for b in data.buckets]
        all_b = [(k, i) for k, b in enumerate(data.buckets) for i in range(len(b.b))]
        self.b_pools: list[Sequence[tuple[int, int]]] = []
        for k, bucket in enumerate(data.buckets):
            # A bucket with no B crops of its own borrows (resized) crops from the others.
            self.b_pools.append([(k, i) for i in range(len(bucket.b))] or all_b)
        self.global_batch = global_batch
        self.seed = seed
        self._cache: tuple[int, list[Batch]] | None = None

    @property
    def steps_per_epoch(self) -> int:
        return sum(max(1, n // self.global_batch) for n in self.a_counts)

    def epoch(self, epoch: int) -> list[Batch]:
        if self._cache is not None and self._cache[0] == epoch:
            return self._cache[1]
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        size = self.global_batch
        batches = []
        for k, count in enumerate(self.a_counts):
            perm = torch.randperm(count, generator=g)
            if count < size:  # tiny bucket: repeat it to fill one batch
                perm = perm.repeat(math.ceil(size / count))[:size]
            pool = self.b_pools[k]
            for start in range(0, max(1, count // size) * size, size):
                picks = torch.randint(len(pool), (size,), generator=g).tolist()
                refs = tuple(pool[i] for i in picks)
                batches.append(Batch(k, tuple(perm[start : start + size].tolist()), refs))
        order = torch.randperm(len(batches), generator=g).tolist()
        result = [batches[i] for i in order]
        self._cache = (epoch, result)
        return result

    def batch(self, epoch: int, index: int) -> Batch:
        return self.epoch(epoch)[index]


def to_model_input(images: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float in [-1, 1] on `device` (converted after the copy: 4x less)."""
    x = images.to(device, non_blocking=True).float().div_(127.5).sub_(1.0)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def to_uint8_image(x: torch.Tensor) -> np.ndarray:
    """One (3, H, W) tensor in [-1, 1] -> HxWx3 uint8."""
    x = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(1, 2, 0).numpy()
