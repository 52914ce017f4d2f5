"""Translate a dataset folder: the input's images and labels in, a kplate dataset out.

The input is a kplate dataset (metadata.jsonl), a folder with labels.csv, or any folder
of images; the output keeps every label and file name and adds what the translation did
(the model, an edge-preservation score). The run folder is resumable and ranks of a
torchrun launch split the work. The model itself is `kplate.gan.translator.Translator`.
"""

from __future__ import annotations

import contextlib
import posixpath
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kplate import __version__
from kplate.errors import KplateError
from kplate.gan.data import open_rgb
from kplate.gan.distributed import DistInfo, barrier, gather_objects
from kplate.gan.translator import ModelInfo, Translator, resolve_checkpoint, translation_record
from kplate.gan.verify import Verifier, VerifyCounts
from kplate.io.files import encode_image
from kplate.io.images import Labelled, is_image_name, iter_labels, label_manifest
from kplate.io.manifest import (
    METADATA,
    dumps_line,
    iter_metadata,
)
from kplate.io.paths import refuse_overlap
from kplate.io.run_folder import (
    IMAGES,
    RunFolder,
    output_folder,
    refuse_unfinished,
    run_lines,
    write_file,
)

__all__ = [  # ModelInfo, Translator and resolve_checkpoint live in translator.py
    "InputItem",
    "ModelInfo",
    "TranslateSummary",
    "Translator",
    "list_inputs",
    "read_rgb",
    "resolve_checkpoint",
    "translate_dataset",
    "translated_entry",
]


@dataclass(frozen=True)
class InputItem:
    """One input image: where it is, the name it keeps in the output, and its labels."""

    path: Path
    file_name: str
    entry: dict[str, Any]


def _output_name(rel: str) -> str:
    rel = posixpath.normpath(rel)  # `a/../b.png` (inside the folder) is written as `b.png`
    return rel if rel.startswith(f"{IMAGES}/") else f"{IMAGES}/{rel}"


def list_inputs(root: Path) -> list[InputItem]:
    """A kplate dataset (metadata.jsonl), a labels.csv folder or any folder of images."""
    if not root.is_dir():
        raise KplateError(f"{root}: input folder not found")
    if label_manifest(root) is not None:
        items = [_labelled_item(labelled) for labelled in _labels(root)]
    else:
        items = [
            InputItem(path, name, {"file_name": name, "text": None})
            for path in sorted(p for p in root.rglob("*") if is_image_name(p))
            if path.is_file()
            and not any(part.startswith(".") for part in path.relative_to(root).parts)
            for name in [_output_name(path.relative_to(root).as_posix())]
        ]
    if not items:
        raise KplateError(f"{root}: no images to translate")
    return items


def _labels(root: Path) -> list[Labelled]:
    manifest = label_manifest(root)
    try:
        return list(iter_labels(root))
    except (KeyError, TypeError) as error:
        raise KplateError(f"{manifest}: missing column or field {error}") from None


def _labelled_item(labelled: Labelled) -> InputItem:
    """A manifest entry as an input: a kplate entry keeps all its labels; a labels.csv row
    gives its text and type."""
    if labelled.entry is not None:  # a kplate output: its names are kept as they are
        return InputItem(labelled.path, posixpath.normpath(labelled.name), dict(labelled.entry))
    name = _output_name(labelled.name)
    entry: dict[str, Any] = {"file_name": name, "text": labelled.text or None}
    if labelled.type:
        entry["type"] = labelled.type
    return InputItem(labelled.path, name, entry)


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
    verify: VerifyCounts | None = None  # with --verify: the whole output's outcomes

    def lines(self) -> list[str]:
        score = "n/a" if self.mean_preservation is None else f"{self.mean_preservation:.3f}"
        head = run_lines(self.total, self.translated, self.resumed_from, self.seconds, self.out, 1)
        lines = [*head, f"content preservation (edge correlation in character boxes): mean {score}"]
        return lines if self.verify is None else [*lines, self.verify.line()]


def translated_entry(
    item: InputItem, index: int, source: np.ndarray, output: np.ndarray, model: ModelInfo
) -> dict[str, Any]:
    """The input's labels, unchanged, plus what the translation did."""
    entry = dict(item.entry)
    entry["file_name"] = item.file_name
    entry["index"] = index
    entry.setdefault("width", int(source.shape[1]))
    entry.setdefault("height", int(source.shape[0]))
    entry["translation"] = translation_record(model, source, output, entry)
    return entry


def _batches(todo: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(todo), size):
        yield todo[start : start + size]


#: A single process: what `dist_info=None` means.
_ALONE = DistInfo(rank=0, local_rank=0, world_size=1, device=torch.device("cpu"))


def translate_dataset(
    input_dir: Path,
    out: Path,
    translator: Translator,
    model: ModelInfo,
    *,
    overwrite: bool = False,
    dist_info: DistInfo | None = None,
    progress: bool = False,
    verifier: Verifier | None = None,
) -> TranslateSummary:
    """Translate every image of `input_dir` into `out` (resumable; ranks split the work).

    With `verifier` (`--verify`) every translated plate is read, and one not read as its
    label is written as its source plate instead (gan/verify.py says why).
    """
    start = time.perf_counter()
    info = dist_info or _ALONE
    out = output_folder(out)
    refuse_overlap(out, [("input", input_dir), ("checkpoint", Path(model.path))])
    refuse_unfinished(input_dir, "input")
    items = list_inputs(input_dir)
    fingerprint = {
        "command": "translate",
        "input": str(input_dir.resolve()),
        "count": len(items),
        "model": model.to_dict(),
        "kplate": __version__,
    }
    if verifier is not None:  # only then: an unverified run's run.json is unchanged
        fingerprint["verify"] = {"reader": verifier.name, "policy": "source"}
    folder = RunFolder(out, fingerprint, overwrite) if info.is_main else None
    with folder or contextlib.nullcontext():
        kept = _open_output(folder, len(items)) if folder is not None else 0
        done = gather_objects(info, kept)[0]
        writer = _OutputWriter(out, items, model, info, progress, done, verifier)
        try:
            writer.translate(range(done, len(items)), translator)
        finally:
            writer.close()
        barrier(info)
        seconds = time.perf_counter() - start
        mean, counts = (None, None)
        if folder is not None:
            mean, counts = _finish_output(folder, model, seconds, verifier is not None)
        return TranslateSummary(
            len(items), len(items) - done, done, seconds, mean, str(out), counts
        )


def _open_output(folder: RunFolder, count: int) -> int:
    """Write run.json and keep the finished prefix of an earlier run (rank 0, under the
    folder's lock); returns how many images are already done."""
    kept = folder.begin(range(count))
    folder.reopen()
    return kept


class _OutputWriter:
    """Images and manifest lines of one run: every rank translates and writes its share
    of each round of images; rank 0 appends the round's lines to metadata.jsonl in order."""

    def __init__(
        self,
        out: Path,
        items: list[InputItem],
        model: ModelInfo,
        info: DistInfo,
        progress: bool,
        done: int,
        verifier: Verifier | None = None,
    ) -> None:
        self.out, self.items, self.model, self.info = out, items, model, info
        self.verifier = verifier
        self.manifest = None
        self.bar = None
        if info.is_main:
            self.manifest = open(out / METADATA, "a", encoding="utf-8")  # noqa: SIM115
            if progress:
                from tqdm import tqdm

                self.bar = tqdm(total=len(items), initial=done, unit="plate")

    def translate(self, todo: range, translator: Translator) -> None:
        """Every index of `todo`, a round of batch size x ranks at a time.

        Rounds are aligned to the run's first index, so a resumed run batches each image
        with the same companions as an uninterrupted one: a generator's output can differ
        in the last bit with its batch's make-up, and a resume must give the same bytes.
        The images of a partly finished round are translated again but not rewritten.
        """
        rank, world = self.info.rank, self.info.world_size
        round_size = translator.batch_size * world
        first = todo.start - todo.start % round_size
        try:
            for round_indices in _batches(list(range(first, todo.stop)), round_size):
                mine = round_indices[rank::world]
                entries = self._write_images(mine, translator, keep_below=todo.start)
                self._append(gather_objects(self.info, entries))
        except OSError as error:  # a full or read-only disk: what is written is a valid prefix
            raise KplateError(
                f"{self.out}: write failed ({error.strerror}); re-run to resume"
            ) from None

    def _write_images(
        self, mine: list[int], translator: Translator, keep_below: int = 0
    ) -> list[dict[str, Any]]:
        """Translate this rank's images and write those from `keep_below` on (the ones
        before it are already written); their manifest entries."""
        sources = [read_rgb(self.items[i].path) for i in mine]
        outputs = translator.translate(sources) if sources else []
        checks: list[dict[str, Any] | None] = [None] * len(outputs)
        if self.verifier is not None and outputs:
            checked = self.verifier.apply(sources, outputs, [self.items[i].entry for i in mine])
            outputs = [image for image, _ in checked]
            checks = [record for _, record in checked]
        entries = []
        for i, source, output, check in zip(mine, sources, outputs, checks, strict=True):
            if i < keep_below:
                continue
            path = self.out / self.items[i].file_name
            path.parent.mkdir(parents=True, exist_ok=True)
            fmt = "png" if path.suffix.lower() == ".png" else "jpg"
            write_file(path, encode_image(output, fmt))
            entry = translated_entry(self.items[i], i, source, output, self.model)
            if check is not None:
                entry["translation"]["verify"] = check
            entries.append(entry)
        return entries

    def _append(self, gathered: list[list[dict[str, Any]]]) -> None:
        if self.manifest is None:
            return
        merged = sorted((e for part in gathered for e in part), key=lambda e: e["index"])
        self.manifest.write("".join(dumps_line(e) for e in merged))
        self.manifest.flush()
        if self.bar is not None:
            self.bar.update(len(merged))

    def close(self) -> None:
        if self.manifest is not None:
            self.manifest.close()
        if self.bar is not None:
            self.bar.close()


def _finish_output(
    folder: RunFolder, model: ModelInfo, seconds: float, verified: bool = False
) -> tuple[float | None, VerifyCounts | None]:
    """labels.csv, gt.txt and summary.json once every image is written (rank 0); returns
    the mean preservation score and, for a verified run, the outcomes of every entry
    (counted from metadata.jsonl, so a resumed run's earlier part counts too)."""
    scores = []
    counts = VerifyCounts() if verified else None
    for entry in iter_metadata(folder.out / METADATA):  # streamed: flat memory
        scores.append(entry["translation"]["preservation"])
        if counts is not None:
            counts.add_entry(entry)
    mean = float(np.mean(scores)) if scores else None
    fields: dict[str, Any] = {
        "model": model.to_dict(),
        "mean_preservation": None if mean is None else round(mean, 4),
        "seconds": round(seconds, 3),
    }
    if counts is not None:
        fields["verify"] = counts.to_dict()
    folder.finish(fields)
    return mean, counts
