"""Writing a run as streaming shards (`--format webdataset|parquet`) on this machine.

A run's shards are its rounds: shard K holds positions K*S to K*S + S - 1 of the run's
indices. Each is written whole under a temporary name and renamed, so a finished shard's
file is the proof that it is finished: a re-run after an interruption skips the shards
that exist and makes only the missing ones (what `pipeline/dask_run.py` relies on too).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from kplate.io.files import encode_image
from kplate.io.layout import Layout, Sample, shard_types, write_shard
from kplate.io.naming import ImageFormat, index_digits
from kplate.io.run_folder import RunFolder
from kplate.pipeline.config import GenerateConfig
from kplate.pipeline.factory import PlateFactory


class Round(NamedTuple):
    """Round `number` of a run: the indices it makes (a slice of the run's range)."""

    number: int
    indices: range


def rounds(indices: range, size: int) -> list[Round]:
    """The run's indices cut into rounds of `size` (the last may be shorter)."""
    return [
        Round(number, indices[start : start + size])
        for number, start in enumerate(range(0, len(indices), size))
    ]


def consecutive(todo: list[Round]) -> Iterator[list[Round]]:
    """The rounds in stretches of consecutive numbers."""
    group: list[Round] = []
    for work in todo:
        if group and work.number != group[-1].number + 1:
            yield group
            group = []
        group.append(work)
    if group:
        yield group


def samples(encoded: Iterable[tuple[Any, Any]], digits: int, fmt: ImageFormat) -> Iterator[Sample]:
    """(key, image bytes, entry) with the entry's `file_name` set to its name in the shard."""
    for data, entry in encoded:
        key = f"{entry['index']:0{digits}d}"
        entry["file_name"] = f"{key}.{fmt.value}"
        yield key, data, entry


def make_round(
    factory: PlateFactory, layout: Layout, out: Path, work: Round, total: int
) -> Counter[str]:
    """Render, augment, encode and write one round as its shard, in this process (a
    task of a cluster run, `pipeline/dask_run.py`)."""
    config = factory.config

    def encoded() -> Iterator[tuple[bytes, dict[str, Any]]]:
        for index in work.indices:
            image, entry = factory.make(index, reuse=True)
            yield encode_image(image, config.image_format.value, config.jpeg_quality), entry

    path = out / layout.shard_name(work.number)
    return write_shard(layout, path, samples(encoded(), index_digits(total), config.image_format))


class StreamRun:
    """A local run into streaming shards: resume, make the missing shards, finish."""

    def __init__(
        self, config: GenerateConfig, layout: Layout, shard_size: int, folder: RunFolder
    ) -> None:
        self.config, self.layout, self.shard_size, self.folder = config, layout, shard_size, folder
        self.per_type: Counter[str] = Counter()

    def missing(self, indices: range) -> tuple[list[Round], int]:
        """The rounds still to make and how many plates the finished ones hold (their
        types counted again). Changes nothing on disk."""
        todo, kept = [], 0
        for work in rounds(indices, self.shard_size):
            path = self.folder.out / self.layout.shard_name(work.number)
            if self.folder.resuming and path.is_file():
                self.per_type += shard_types(self.layout, path)
                kept += len(work.indices)
            else:
                todo.append(work)
        return todo, kept

    def reopen(self) -> None:
        """run.json first, as in a folder run; then the temporaries and the old summary go."""
        self.folder.write_record()
        self.folder.reopen()

    def write(
        self,
        work: Round,
        plates: Iterable[tuple[Any, Any]],
        step: Callable[[Any], Any] | None,
        on_plate: Callable[[], None],
    ) -> None:
        """One shard from the round's `plates` (the pool's encoded plates, or raw pixels
        that `step` translates first)."""
        stream: Iterable[tuple[Any, Any]] = plates
        if step is not None:
            stream = _encode(step(iter(stream)), self.config)

        def counted() -> Iterator[tuple[Any, Any]]:
            for item in stream:
                on_plate()
                yield item

        digits = index_digits(self.config.total)
        path = self.folder.out / self.layout.shard_name(work.number)
        self.per_type += write_shard(
            self.layout, path, samples(counted(), digits, self.config.image_format)
        )

    def finish(self, fields: dict[str, Any]) -> None:
        self.folder.finish_summary(sum(self.per_type.values()), fields)


def _encode(
    plates: Iterator[tuple[np.ndarray, dict[str, Any]]], config: GenerateConfig
) -> Iterator[tuple[bytes, dict[str, Any]]]:
    for image, entry in plates:
        yield encode_image(image, config.image_format.value, config.jpeg_quality), entry
