"""`write_dataset`: a run written into a folder that survives interruption.

Everything the run needs (glyphs, each type at its size, the augmenter, the translation
step) is built and tried before the folder or its lock is touched. Images are written
as they are made; metadata.jsonl is appended in index order; the derived manifests and
summary.json come at the end. Re-running the same command finishes an interrupted run.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from kplate import __version__
from kplate.errors import KplateError, OptionError
from kplate.extras import require
from kplate.io.files import discard_stdout, encode_image
from kplate.io.layout import DEFAULT_SHARD_SIZE, MAX_SHARD_SIZE, Layout
from kplate.io.manifest import METADATA, dumps_line
from kplate.io.naming import IMAGES, FileNaming, ImageFormat, file_name_for, index_digits
from kplate.io.run_folder import RunFolder, run_lines, write_file
from kplate.pipeline.config import GenerateConfig
from kplate.pipeline.factory import PlateFactory
from kplate.pipeline.pool import MAX_WORKERS, WorkerSetup, Written, produce
from kplate.pipeline.stream import StreamRun, consecutive

#: A step that the pipeline passes its plates through, in order: (RGB image, entry) in,
#: (RGB image, entry) out. `kplate.gan.step.TranslationStep` is one.
Step = Callable[
    [Iterator[tuple[np.ndarray, dict[str, Any]]]], Iterator[tuple[np.ndarray, dict[str, Any]]]
]


@dataclass(frozen=True)
class WriteOptions:
    """How and where a run is written; none of this changes an image's pixels or label."""

    out: Path = Path("kplate-out")
    naming: FileNaming = FileNaming.INDEX
    workers: int = 1
    shard: tuple[int, int] | None = None
    overwrite: bool = False
    lmdb: bool = False
    save: bool = True
    progress: bool | None = None  # None: a bar on a terminal, plain lines otherwise; False: quiet
    device: str = "auto"  # where --translate runs
    translate_batch: int = 16
    #: folder (images and manifests) or streaming shards (webdataset, parquet)
    layout: Layout = Layout.FOLDER
    shard_size: int = DEFAULT_SHARD_SIZE  # samples per streaming shard
    #: A dask.distributed scheduler address: the run's rounds go to that cluster.
    scheduler: str | None = None


@dataclass
class RunSummary:
    total: int
    written: int
    resumed_from: int
    seconds: float
    per_type: dict[str, int] = field(default_factory=dict)
    out: str = ""

    @property
    def plates_per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.per_type.items()))
        head = run_lines(self.total, self.written, self.resumed_from, self.seconds, self.out)
        return [*head, counts]


def shard_indices(total: int, shard: tuple[int, int] | None) -> range:
    """Indices of shard I of N: every N-th image from I, so shards interleave evenly."""
    if shard is None:
        return range(total)
    index, count = shard
    return range(index, total, count)


class _Progress:
    """A bar on a terminal; otherwise a line every 10% (None), or nothing at all (False)."""

    def __init__(self, total: int, initial: int, enabled: bool | None) -> None:
        self.total, self.done = total, initial
        use_bar = sys.stderr.isatty() if enabled is None else enabled
        self._quiet = enabled is False
        self._bar = None
        if use_bar:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=initial, unit="plate", dynamic_ncols=True)
        self._next_report = initial + max(1, total // 10)

    def update(self, count: int = 1) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
        elif not self._quiet and self._next_report <= self.done < self.total:
            while self._next_report <= self.done:  # a round of many plates counts at once
                self._next_report += max(1, self.total // 10)
            try:
                print(f"{self.done}/{self.total} plates", flush=True)
            except BrokenPipeError:
                # `kplate generate | head -1`: whoever read the lines has gone; the run
                # is not theirs to stop, so it finishes quietly.
                self._quiet = True
                discard_stdout()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def translation_step(config: GenerateConfig, options: WriteOptions) -> Step | None:
    """The --translate step, loaded now: before the output folder is touched."""
    if not config.translate:
        if config.verify:
            raise OptionError("verify", "{option} checks translated plates: add --translate")
        return None
    if config.verify:  # the reader is evaluate's (a later stage): the caller loads it
        raise OptionError(
            "verify",
            "{option}: pass write_dataset a step=TranslationStep(..., verifier=...) "
            "holding the reader (kplate generate --verify does)",
        )
    from kplate.gan.step import TranslationStep

    return TranslationStep.from_checkpoint(
        Path(config.translate), options.device, options.translate_batch
    )


def _encoded(
    plates: Iterator[tuple[np.ndarray, dict[str, Any]]], config: GenerateConfig
) -> Iterator[tuple[bytes, dict[str, Any]]]:
    for image, entry in plates:
        yield encode_image(image, config.image_format.value, config.jpeg_quality), entry


def write_dataset(
    config: GenerateConfig, options: WriteOptions, step: Step | None = None
) -> RunSummary:
    """Write (or finish) a run into `options.out`; see the README's Output section.

    `step` is the translation step that `config.translate` names, when the caller has
    built it already (on a device of its choice); by default it is loaded from there.
    Everything the run needs (glyphs, each type at its size, the augmenter, the
    translation step) is built and tried before the folder or its lock is touched, so a
    bad option is one line with nothing written, and workers never meet an error of the
    user's on start.
    """
    check_options(config, options)
    indices = shard_indices(config.total, options.shard)
    factory = PlateFactory(config)
    factory.check()
    if options.lmdb and options.save:
        require("lmdb", needed_for="--lmdb")
    if options.layout is Layout.PARQUET and options.save:
        require("pyarrow", needed_for="--format parquet")
    if step is None:
        step = translation_step(config, options)
    client = None
    if options.scheduler is not None and options.save:
        from kplate.pipeline.dask_run import connect

        client = connect(options.scheduler)  # reached now, before the folder is touched
    start = time.perf_counter()
    if not options.save:
        per_type: Counter[str] = Counter()
        setup = WorkerSetup(config, encode=False)
        for _, entry in produce(factory, setup, indices, options.workers):
            per_type[entry["type"]] += 1
        return RunSummary(
            len(indices), len(indices), 0, time.perf_counter() - start, dict(per_type)
        )
    fingerprint = {
        "command": "generate",
        "config": config.fingerprint(),
        "shard": options.shard,
        "naming": options.naming.value,
        "kplate": __version__,
    }
    if options.layout is not Layout.FOLDER:
        # Only streaming runs record these, so a folder run's run.json stays as it was.
        fingerprint["format"] = options.layout.value
        fingerprint["shard_size"] = options.shard_size
    if client is not None:
        with client, RunFolder(options.out, fingerprint, options.overwrite) as folder:
            return _write_on_cluster(config, options, folder, client, indices, start)
    with RunFolder(options.out, fingerprint, options.overwrite) as folder:
        if options.layout is not Layout.FOLDER:
            return _write_stream(config, options, folder, factory, step, indices, start)
        return _Run(config, options, folder, start).write(factory, step, indices)


def check_options(config: GenerateConfig, options: WriteOptions) -> None:
    """Options that cannot go together, refused before anything is built or written."""
    if not 1 <= options.workers <= MAX_WORKERS:
        raise OptionError(
            "workers", f"{{option}} must be 1 to {MAX_WORKERS}, got {options.workers}"
        )
    if not 1 <= options.shard_size <= MAX_SHARD_SIZE:
        raise OptionError(
            "shard_size", f"{{option}} must be 1 to {MAX_SHARD_SIZE}, got {options.shard_size}"
        )
    if options.scheduler is not None:
        _check_cluster_options(config, options)
    if options.layout is Layout.FOLDER:
        if options.shard_size != DEFAULT_SHARD_SIZE:
            raise OptionError(
                "shard_size",
                "{option} applies to {layout} webdataset or parquet only",
                also=("layout",),
            )
        return
    layout = options.layout.value
    if options.lmdb:
        raise OptionError(
            "lmdb",
            f"{{layout}} {layout} writes no image files for {{option}}; drop {{option}}",
            also=("layout",),
        )
    if options.naming is not FileNaming.INDEX:
        raise OptionError(
            "naming",
            f"{{layout}} {layout} keys samples by index; {{option}} label applies to folder "
            "output only",
            also=("layout",),
        )
    if config.image_format is not ImageFormat.JPEG:
        raise OptionError(
            "image_format",
            f"{{layout}} {layout} stores JPEG images; {{option}} png applies to folder output only",
            also=("layout",),
        )


def _check_cluster_options(config: GenerateConfig, options: WriteOptions) -> None:
    """What a run on a Dask cluster cannot do: its workers are the cluster's, they write
    images by index, and the translation step runs in one process."""
    if not options.save:
        raise OptionError("scheduler", "{option} writes a run; drop --save False")
    if options.workers != 1:
        raise OptionError(
            "workers",
            "{option} counts local processes; with {scheduler} the cluster's "
            "workers do the work: drop {option}",
            also=("scheduler",),
        )
    if config.translate:
        raise OptionError(
            "scheduler",
            "{option} cannot run --translate (a model on one device); drop one",
        )
    if options.naming is not FileNaming.INDEX:
        raise OptionError(
            "naming",
            "{option} label names depend on every earlier plate; with {scheduler} use index names",
            also=("scheduler",),
        )


def _write_on_cluster(
    config: GenerateConfig,
    options: WriteOptions,
    folder: RunFolder,
    client: Any,
    indices: range,
    start: float,
) -> RunSummary:
    """The run's missing rounds on the cluster (`pipeline/dask_run.py`), then the end of
    the run as a local run writes it."""
    from kplate.pipeline.dask_run import ClusterRun

    run = ClusterRun(config, options.layout, options.shard_size, folder, client, indices)
    todo, kept = run.plan()
    if not todo and kept == len(indices) and folder.resuming:
        finished = folder.finished_summary()
        if finished is not None:
            return RunSummary(len(indices), 0, kept, 0.0, dict(run.per_type), str(folder.out))
    run.reopen()
    progress = _Progress(len(indices), kept, options.progress)
    try:
        run.compute(todo, progress.update)
    finally:
        progress.close()
    run.assemble()
    seconds = time.perf_counter() - start
    made = len(indices) - kept
    summary = RunSummary(len(indices), made, kept, seconds, dict(run.per_type), str(folder.out))
    fields = {
        "per_type": summary.per_type,
        "seconds": round(seconds, 3),
        "plates_per_second": round(summary.plates_per_second, 1),
    }
    if options.layout is Layout.FOLDER:
        folder.finish(fields, lmdb=options.lmdb)
    else:
        folder.finish_summary(sum(run.per_type.values()), fields)
    return summary


def _write_stream(
    config: GenerateConfig,
    options: WriteOptions,
    folder: RunFolder,
    factory: PlateFactory,
    step: Step | None,
    indices: range,
    start: float,
) -> RunSummary:
    """A local run into webdataset or parquet shards (`pipeline/stream.py`)."""
    run = StreamRun(config, options.layout, options.shard_size, folder)
    todo, kept = run.missing(indices)
    if not todo and folder.resuming and folder.finished_summary() is not None:
        return RunSummary(len(indices), 0, kept, 0.0, dict(run.per_type), str(folder.out))
    run.reopen()
    setup = WorkerSetup(config, None, index_digits(config.total), encode=step is None)
    progress = _Progress(len(indices), kept, options.progress)
    size = options.shard_size
    try:
        # One worker pool per stretch of consecutive missing shards (the whole run, unless
        # a cluster run left gaps), cut into its shards as the plates come.
        for group in consecutive(todo):
            last = group[-1]
            span = indices[group[0].number * size : last.number * size + len(last.indices)]
            with closing(produce(factory, setup, span, options.workers)) as plates:
                for work in group:
                    run.write(work, islice(plates, len(work.indices)), step, progress.update)
    except OSError as error:
        raise KplateError(
            f"{folder.out}: write failed ({error.strerror or error}); re-run to resume"
        ) from None
    finally:
        progress.close()
    seconds = time.perf_counter() - start
    made = len(indices) - kept
    summary = RunSummary(len(indices), made, kept, seconds, dict(run.per_type), str(folder.out))
    run.finish(
        {
            "per_type": summary.per_type,
            "seconds": round(seconds, 3),
            "plates_per_second": round(summary.plates_per_second, 1),
        }
    )
    return summary


class _Run:
    """One `write_dataset` into an open run folder: resume, make the rest, finish."""

    def __init__(
        self, config: GenerateConfig, options: WriteOptions, folder: RunFolder, start: float
    ) -> None:
        self.config, self.options, self.folder, self.start = config, options, folder, start
        self.out = folder.out
        self.digits = index_digits(config.total)
        self.seen: Counter[str] = Counter()  # label names given so far, for `_1` suffixes
        self.per_type: Counter[str] = Counter()
        self.made_dirs: set[Path] = set()

    def write(self, factory: PlateFactory, step: Step | None, indices: range) -> RunSummary:
        kept = self._resume(indices)
        if kept is None:
            return RunSummary(
                len(indices), 0, len(indices), 0.0, dict(self.per_type), str(self.out)
            )
        todo = indices[kept:]
        progress = _Progress(len(indices), kept, self.options.progress)
        by_index = self.options.naming is FileNaming.INDEX and step is None
        setup = WorkerSetup(
            self.config, self.out if by_index else None, self.digits, encode=step is None
        )
        stream = produce(factory, setup, todo, self.options.workers)
        if step is not None:
            stream = _encoded(step(stream), self.config)
        try:
            with open(self.out / METADATA, "a", encoding="utf-8") as manifest, closing(stream):
                for data, entry in stream:
                    manifest.write(self._record(data, entry))
                    progress.update()
        except OSError as error:
            raise KplateError(
                f"{self.out}: write failed ({error.strerror}); re-run to resume"
            ) from None
        finally:
            progress.close()
        return self._finish(len(indices), len(todo), kept)

    def _resume(self, indices: range) -> int | None:
        """How many images an earlier part of the run finished (None: all of them, and
        its summary is intact); counts and label-name repeats are rebuilt from them."""
        try:
            kept = self.folder.begin(indices, self._recount)
            finished = self.folder.finished_summary() if self.folder.resuming else None
            if kept == len(indices) and finished is not None:
                per_type = finished.get("per_type")
                if isinstance(per_type, dict):
                    self.per_type = Counter(per_type)
                    return None
            (self.out / IMAGES).mkdir(exist_ok=True)
            self.folder.reopen()
        except OSError as error:
            # A resumed folder where kplate's own names are something else: metadata.jsonl
            # a folder, images a file, a file it cannot read.
            raise OptionError(
                "out",
                f"{error.filename or self.out}: cannot be used for this run's output "
                f"({error.strerror or error}); move it away or choose another {{option}}",
            ) from None
        return kept

    def _recount(self, entry: dict[str, Any]) -> None:
        file_name_for(entry, self.options.naming, self.config.image_format, self.digits, self.seen)
        self.per_type[entry["type"]] += 1

    def _record(self, data: Any, entry: dict[str, Any] | Written) -> str:
        """Write one image the main process holds (a worker wrote the others already) and
        return its manifest line. A line is only ever written after its image, so a kill
        loses at most buffered lines, whose images a re-run redoes: no flush per line."""
        if isinstance(entry, Written):
            self.per_type[entry.type] += 1
            return entry.line
        if data is not None:
            name = file_name_for(
                entry, self.options.naming, self.config.image_format, self.digits, self.seen
            )
            entry["file_name"] = name
            path = self.out / name
            if path.parent not in self.made_dirs:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.made_dirs.add(path.parent)
            write_file(path, data)
        self.per_type[entry["type"]] += 1
        return dumps_line(entry)

    def _finish(self, total: int, written: int, kept: int) -> RunSummary:
        seconds = time.perf_counter() - self.start
        summary = RunSummary(total, written, kept, seconds, dict(self.per_type), str(self.out))
        self.folder.finish(
            {
                "per_type": summary.per_type,
                "seconds": round(seconds, 3),
                "plates_per_second": round(summary.plates_per_second, 1),
            },
            lmdb=self.options.lmdb,
        )
        return summary
