"""The main job: plate strings -> rendered (and optionally augmented) images with labels.

`generate(config)` is an iterator, so `for image, entry in generate(config)` works from
Python; `write_dataset(config, options)` is what `kplate generate` runs: deterministic
per image (each image's randomness comes from `plate_seed(run seed, index)`, so worker
count and sharding never change a byte), resumable and safe against interruption.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import random
import signal
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

from kplate import __version__
from kplate.errors import KplateError
from kplate.extras import require
from kplate.io.files import atomic_write_text, encode_image
from kplate.io.manifest import (
    METADATA,
    dumps_line,
    write_derived_manifests,
)
from kplate.io.run_folder import (
    IMAGES,
    RUN_FILE,
    SUMMARY_FILE,
    remove_stray_temporaries,
    resume_prefix,
    run_folder,
    write_file,
)
from kplate.numbers import sample, validate
from kplate.render import Renderer, glyph_source
from kplate.render.glyphs import require as require_glyphs
from kplate.render.plate import check_size
from kplate.render.record import PlateRecord
from kplate.spec.types import EXAMPLES, PlateType, plate_characters

#: Run seeds are 0 to 2**63 - 1: `plate_seed` folds a seed to 64 bits, so a wider range
#: would let two seeds (-1 and 2**64 - 1) name one run.
MAX_SEED = 2**63 - 1
#: More processes than this only adds start-up time and memory on any machine kplate runs on.
MAX_WORKERS = 256
#: How often (seconds) a waiting main process checks that its workers are still alive.
WORKER_CHECK_SECONDS = 1.0


class ImageFormat(StrEnum):
    JPEG = "jpg"
    PNG = "png"


class FileNaming(StrEnum):
    """`index`: ASCII names by position; `label`: the earlier project's `<text>__<type>`."""

    INDEX = "index"
    LABEL = "label"


class Augmenter(Protocol):
    """Applies sampled effects to one plate; returns the new image, record and the params."""

    def __call__(
        self, image: np.ndarray, record: PlateRecord, rng: np.random.Generator
    ) -> tuple[np.ndarray, PlateRecord, dict[str, Any]]: ...


@dataclass(frozen=True)
class GenerateConfig:
    """Everything that decides the pixels and labels of a run (and nothing that doesn't)."""

    count: int = 100
    types: tuple[PlateType, ...] = tuple(PlateType)
    weights: tuple[float, ...] | None = None
    seed: int = 0
    height: int | None = 110
    width: int | None = None
    augment: str | None = None
    font: str | None = None
    glyph_dir: str | None = None
    plates: tuple[tuple[str, str], ...] | None = None  # CSV mode: (text, type id) per row
    image_format: ImageFormat = ImageFormat.JPEG
    jpeg_quality: int = 95
    translate: str | None = None  # a trained generator (checkpoint path) applied last

    def __post_init__(self) -> None:
        """Every number is checked here, before anything is drawn or written."""
        if self.plates is None and self.count < 0:
            raise KplateError(f"--count must be 0 or more, got {self.count}")
        if not 0 <= self.seed <= MAX_SEED:
            raise KplateError(f"--seed must be 0 to {MAX_SEED} (2**63 - 1), got {self.seed}")
        if not self.types:
            raise KplateError("no plate types selected")
        repeated = [t.value for t, n in Counter(self.types).items() if n > 1]
        if repeated:
            raise KplateError(f"--types names {', '.join(repeated)} more than once")
        if self.weights is not None:
            self._check_weights(self.weights)
        if not 1 <= self.jpeg_quality <= 100:
            raise KplateError(f"JPEG quality must be 1 to 100, got {self.jpeg_quality}")
        check_size(self.drawn_types(), self.height, self.width)

    def _check_weights(self, weights: tuple[float, ...]) -> None:
        shown = ",".join(f"{w:g}" for w in weights)
        if len(weights) != len(self.types):
            raise KplateError(f"--weights has {len(weights)} values for {len(self.types)} types")
        if not all(math.isfinite(w) for w in weights) or not math.isfinite(sum(weights)):
            raise KplateError(f"--weights {shown}: every weight and their sum must be finite")
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise KplateError(f"--weights {shown}: must be non-negative with a positive sum")

    def drawn_types(self) -> list[PlateType]:
        """The types this run can draw: those of the CSV rows, or those with a weight."""
        if self.plates is not None:
            return sorted({PlateType(type_id) for _, type_id in self.plates})
        weights = self.weights or (1.0,) * len(self.types)
        return [t for t, w in zip(self.types, weights, strict=True) if w > 0]

    def characters(self) -> set[str]:
        """Every character this run can draw: what its glyph source must cover."""
        if self.plates is not None:
            return {char for text, _ in self.plates for char in text}
        return set().union(*(plate_characters(t) for t in self.drawn_types()))

    @property
    def total(self) -> int:
        return len(self.plates) if self.plates is not None else self.count

    def fingerprint(self) -> dict[str, Any]:
        """What run.json records; a resumed run must match it exactly."""
        data = asdict(self)
        data["types"] = [t.value for t in self.types]
        data["plates"] = None if self.plates is None else [list(p) for p in self.plates]
        data["image_format"] = self.image_format.value
        return data


_MASK64 = (1 << 64) - 1


def plate_seed(run_seed: int, index: int) -> int:
    """The seed of one image: independent of worker count, shard and order of work.

    A SplitMix64-style mix of (run seed, index): well spread, 63 bits, and ten times
    cheaper than numpy's SeedSequence on this per-plate hot path.
    """
    z = ((run_seed & _MASK64) * 0x9E3779B97F4A7C15 + index + 0x632BE59BD9B4E019) & _MASK64
    for _ in range(2):
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        z ^= z >> 31
    return z >> 1


class PlateFactory:
    """Makes image `index` of a run. One per process; it keeps the renderer's caches warm."""

    def __init__(self, config: GenerateConfig, augmenter: Augmenter | None = None) -> None:
        self.config = config
        self.renderer = Renderer(glyph_source(config.font, config.glyph_dir))
        self.augmenter = augmenter if augmenter is not None else _build_augmenter(config.augment)

    def check(self) -> None:
        """Draw once, now, what the run will need: every glyph it can use, and one plate of
        each type it can draw at its size, through the augmenter.

        `kplate generate` calls this before it touches the output folder, so a font that
        cannot draw, a plate that does not fit its size or an augmentation that fails is
        one line with nothing written, never an error midway through a run (or in a
        worker). The caches it fills are the run's own, so a forked worker starts warm.
        """
        require_glyphs(self.renderer.glyphs, "".join(sorted(self.config.characters())))
        for plate_type in self.config.drawn_types():
            plate = self.renderer.render_number(
                validate(EXAMPLES[plate_type], plate_type),
                height=self.config.height,
                width=self.config.width,
            )
            if self.augmenter is not None:
                self.augmenter(plate.image, plate.record, np.random.default_rng(0))

    def make(self, index: int, *, reuse: bool = False) -> tuple[np.ndarray, dict[str, Any]]:
        """Image `index` and its metadata entry. With `reuse`, the clean image lives in a
        buffer that the next `reuse` call overwrites (for callers that encode at once)."""
        seed = plate_seed(self.config.seed, index)
        rng = random.Random(seed)
        if self.config.plates is not None:
            text, type_id = self.config.plates[index]
            number = validate(text, type_id)
        else:
            plate_type = _draw_type(self.config, rng)
            number = validate(sample(plate_type, rng), plate_type)
        plate = self.renderer.render_number(
            number, height=self.config.height, width=self.config.width, reuse=reuse
        )
        image, record, params = plate.image, plate.record, None
        if self.augmenter is not None:
            image, record, params = self.augmenter(image, record, np.random.default_rng(seed))
        entry: dict[str, Any] = {"file_name": None}
        entry.update(record.to_dict())
        entry["seed"] = seed
        entry["index"] = index
        entry["augment"] = params
        return image, entry


def _draw_type(config: GenerateConfig, rng: random.Random) -> PlateType:
    """The first draw of an image's generator in a random run: its plate type."""
    return rng.choices(config.types, config.weights)[0]


def random_type(config: GenerateConfig, index: int) -> PlateType:
    """The type that image `index` of a random run gets, without drawing the plate."""
    return _draw_type(config, random.Random(plate_seed(config.seed, index)))


def _build_augmenter(spec: str | None) -> Augmenter | None:
    if not spec:
        return None
    from kplate.augment import build_augmenter

    return build_augmenter(spec)


def generate(
    config: GenerateConfig, indices: range | None = None
) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
    """Yield (RGB image, metadata entry) for each image of the run, in index order."""
    factory = PlateFactory(config)
    for index in indices if indices is not None else range(config.total):
        yield factory.make(index)


# -- writing a run to disk ------------------------------------------------------------------


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
        head = f"{self.total} plates in {self.out or '(not saved)'}"
        if self.resumed_from:
            head += f" ({self.resumed_from} already there, {self.written} made now)"
        rate = f"{self.seconds:.1f} s, {self.plates_per_second:.0f} plates/s"
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.per_type.items()))
        return [head, rate, counts]


def shard_indices(total: int, shard: tuple[int, int] | None) -> range:
    """Indices of shard I of N: every N-th image from I, so shards interleave evenly."""
    if shard is None:
        return range(total)
    index, count = shard
    return range(index, total, count)


def file_name_for(
    entry: dict[str, Any], naming: FileNaming, fmt: ImageFormat, digits: int, seen: Counter[str]
) -> str:
    """The image's path relative to the output folder."""
    if naming is FileNaming.INDEX:
        return f"{IMAGES}/{entry['index']:0{digits}d}.{fmt.value}"
    stem = f"{entry['text']}__{entry['type']}"
    previous = seen[stem]
    seen[stem] += 1
    suffix = f"_{previous}" if previous else ""
    return f"{IMAGES}/{entry['type']}/{stem}{suffix}.{fmt.value}"


def _index_digits(total: int) -> int:
    return max(6, len(str(max(0, total - 1))))


@dataclass(frozen=True)
class _WorkerSetup:
    """What a worker needs: the run config and, when names follow the index, where to write.

    With index names the worker writes its own image, so only the small manifest entry
    travels back to the main process; label names depend on earlier duplicates, so then
    the encoded bytes travel back and the main process names and writes them.
    """

    config: GenerateConfig
    out: Path | None = None
    digits: int = 6
    encode: bool = True  # False: hand back raw pixels (for translation in the main process)


#: The factory and setup of this process's work: set in the main process before a pool
#: forks, so a forked worker starts with the factory the main process built and checked.
_WORKER: tuple[PlateFactory, _WorkerSetup] | None = None
#: Why this worker could not build its factory (spawn only); its first task raises it.
_WORKER_ERROR: Exception | None = None
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class WorkerError(Exception):
    """A bug that stopped a worker: its traceback as text, which always crosses back to
    the main process (an exception whose class needs other constructor arguments fails to
    unpickle there, and multiprocessing.Pool then waits forever)."""


def _init_worker(setup: _WorkerSetup) -> None:
    """Pool initializer. It never raises: Pool starts a new worker in place of one whose
    initializer failed, forever, so a failure is kept and raised by the first task."""
    global _WORKER, _WORKER_ERROR
    # Ctrl-C reaches the whole process group and Pool.terminate() sends SIGTERM: the main
    # process alone reports and stops the run, a worker just ends without a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    if _WORKER is not None and _WORKER[1] is setup:
        return
    # (OpenCV's thread count is left alone: setting it in a forked child whose parent
    # already started OpenCV's thread pool deadlocks.)
    try:
        _WORKER = (PlateFactory(setup.config), setup)
    except Exception as error:
        _WORKER_ERROR = _portable(error)


def _portable(error: BaseException) -> Exception:
    """An exception that survives the trip to the main process and keeps its one line."""
    if isinstance(error, KplateError):
        return KplateError(str(error))
    if isinstance(error, OSError) and type(error).__module__ == "builtins":
        return error  # a full disk stays "write failed (...)" in the main process
    text = "".join(traceback.format_exception(error)).rstrip()
    return WorkerError(f"a worker failed:\n{text}")


class _Written(NamedTuple):
    """A plate a worker has already written: its type (for the counts) and its manifest
    line, serialised in the worker so the parent process only appends text."""

    type: str
    line: str


def _work(index: int) -> tuple[Any, dict[str, Any] | _Written]:
    """One task of a pool worker; every failure leaves as a portable exception."""
    if _WORKER_ERROR is not None:
        raise _WORKER_ERROR
    assert _WORKER is not None
    try:
        return _make(*_WORKER, index)
    except Exception as error:
        raise _portable(error) from None


def _work_chunk(indices: Sequence[int]) -> list[tuple[Any, dict[str, Any] | _Written]]:
    return [_work(index) for index in indices]


def _make(
    factory: PlateFactory, setup: _WorkerSetup, index: int
) -> tuple[Any, dict[str, Any] | _Written]:
    cfg = setup.config
    if not setup.encode:
        return factory.make(index)
    image, entry = factory.make(index, reuse=True)
    data = encode_image(image, cfg.image_format.value, cfg.jpeg_quality)
    if setup.out is None:
        return data, entry
    entry["file_name"] = file_name_for(
        entry, FileNaming.INDEX, cfg.image_format, setup.digits, Counter()
    )
    write_file(setup.out / entry["file_name"], data)
    return None, _Written(entry["type"], dumps_line(entry))


#: Indices handed out per round when workers own types: bounds how far one lane can run
#: ahead of the others, and so the results held back for in-order writing.
LANE_ROUND = 1024


def _type_lanes(
    config: GenerateConfig, workers: int
) -> tuple[list[set[PlateType]], PlateType | None] | None:
    """Split a random run's types between the workers, balanced by weight, so that each
    worker fills the render caches of its own types only (a cache start-up is ~0.25 s of
    CPU for 15 types, paid by every worker when they share all types).

    Returns the lanes and one "flex" type (the lightest of the busiest lane) whose plates
    go to whichever lane has the least work in a round, which evens the lanes out. None
    (one shared pool instead) for a CSV run, for fewer than workers + 1 drawn types, and
    when weights are so uneven that no split comes within 10% of a fair share."""
    if config.plates is not None:
        return None
    weights = config.weights or (1.0,) * len(config.types)
    drawn = [(w, t) for t, w in zip(config.types, weights, strict=True) if w > 0]
    if len(drawn) < workers + 1:
        return None
    lanes: list[set[PlateType]] = [set() for _ in range(workers)]
    load = [0.0] * workers
    for weight, plate_type in sorted(drawn, key=lambda d: (-d[0], d[1].value)):
        lane = load.index(min(load))
        lanes[lane].add(plate_type)
        load[lane] += weight
    fair = sum(load) / workers
    heaviest = load.index(max(load))
    if load[heaviest] <= 1.02 * fair:
        return lanes, None
    busiest = lanes[heaviest]
    by_weight = {t: w for w, t in drawn}
    flex = min(busiest, key=lambda t: (by_weight[t], t.value))
    if len(busiest) < 2 or load[heaviest] - by_weight[flex] > 1.1 * fair:
        return None
    busiest.discard(flex)
    return lanes, flex


def _produce(
    factory: PlateFactory, setup: _WorkerSetup, indices: Sequence[int], workers: int
) -> Iterator[tuple[Any, dict[str, Any] | _Written]]:
    """(pixels, encoded image, or None once written; entry, or the written line) in index
    order, from 1+ processes. `indices` is a range (or any sequence): it is never listed,
    so memory does not grow with the run's size."""
    if workers <= 1 or len(indices) < 2:
        for index in indices:
            yield _make(factory, setup, index)
        return
    if setup.config.augment:
        import kplate.augment  # noqa: F401  (imported once here, not once per forked worker)
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    context = multiprocessing.get_context(method)
    global _WORKER
    _WORKER = (factory, setup)
    try:
        lanes = _type_lanes(setup.config, workers)
        if lanes is None:
            with _pools(context, 1, workers, setup) as (pool,):
                yield from pool.imap(indices, max(1, min(32, len(indices) // (workers * 8))))
            return
        yield from _produce_in_lanes(setup, indices, lanes, context)
    finally:
        _WORKER = None


@dataclass(frozen=True)
class _Pool:
    """A multiprocessing pool and the process ids of the workers it started with."""

    pool: Any
    worker_ids: frozenset[int | None]

    @classmethod
    def start(cls, context: Any, workers: int, setup: _WorkerSetup) -> _Pool:
        pool = context.Pool(workers, initializer=_init_worker, initargs=(setup,))
        return cls(pool, _worker_ids(pool))

    def imap(self, indices: Sequence[int], chunksize: int) -> Iterator[Any]:
        """`pool.imap(_work, indices, chunksize)`, stopping the run when a worker dies.

        multiprocessing.Pool replaces a worker that was killed (by the OOM killer, say)
        and loses its task, so a plain imap would wait forever; the pool's process ids
        changing is how that shows. The chunks are made here (imap's own chunking hides
        the waits behind a generator), as slices, so a range is never listed.
        """
        chunks = (indices[i : i + chunksize] for i in range(0, len(indices), chunksize))
        results = self.pool.imap(_work_chunk, chunks)
        while True:
            try:
                yield from results.next(timeout=WORKER_CHECK_SECONDS)
            except StopIteration:
                return
            except multiprocessing.TimeoutError:
                if _worker_ids(self.pool) != self.worker_ids:
                    raise KplateError(
                        "a worker process died (killed, or out of memory?); re-run the same "
                        "command to resume"
                    ) from None


def _worker_ids(pool: Any) -> frozenset[int | None]:
    return frozenset(process.pid for process in pool._pool)


@contextmanager
def _pools(context: Any, count: int, workers: int, setup: _WorkerSetup) -> Iterator[list[_Pool]]:
    """`count` pools of `workers` processes each, terminated on the way out.

    Ctrl-C and SIGTERM are blocked while the workers start, so none arrives before a
    worker has set its own handlers (it unblocks them then); the main process takes
    both once the pools exist.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    pools: list[_Pool] = []
    try:
        for _ in range(count):
            pools.append(_Pool.start(context, workers, setup))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        yield pools
        for each in pools:
            each.pool.close()
        for each in pools:
            each.pool.join()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        for each in pools:
            each.pool.terminate()


def _produce_in_lanes(
    setup: _WorkerSetup,
    indices: Sequence[int],
    lanes: tuple[list[set[PlateType]], PlateType | None],
    context: Any,
) -> Iterator[tuple[Any, dict[str, Any] | _Written]]:
    """One single-process pool per lane of types; results merged back into index order.

    Work goes out in rounds of LANE_ROUND indices, the next round submitted before the
    current one is collected, so no lane waits at a round's end and at most two rounds of
    results are held back for in-order writing."""
    types, flex = lanes
    lane_of = {t: lane for lane, members in enumerate(types) for t in members}

    with _pools(context, len(types), 1, setup) as pools:

        def submit(block: Sequence[int]) -> tuple[list[int], list[Iterator[Any]]]:
            order: list[int] = []
            work: list[list[int]] = [[] for _ in types]
            for index in block:
                plate_type = random_type(setup.config, index)
                if plate_type is flex:
                    lane = min(range(len(work)), key=lambda k: len(work[k]))
                else:
                    lane = lane_of[plate_type]
                order.append(lane)
                work[lane].append(index)
            streams = [
                pool.imap(lane_work, max(1, min(32, len(lane_work) // 8)))
                for pool, lane_work in zip(pools, work, strict=True)
            ]
            return order, streams

        blocks = (indices[i : i + LANE_ROUND] for i in range(0, len(indices), LANE_ROUND))
        pending = submit(next(blocks, range(0)))
        while pending[0]:
            order, streams = pending
            pending = submit(next(blocks, range(0)))
            for lane in order:
                yield next(streams[lane])


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

    def update(self) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(1)
        elif not self._quiet and self._next_report <= self.done < self.total:
            self._next_report += max(1, self.total // 10)
            try:
                print(f"{self.done}/{self.total} plates", flush=True)
            except BrokenPipeError:
                # `kplate generate | head -1`: whoever read the lines has gone; the run
                # is not theirs to stop, so it finishes quietly.
                self._quiet = True
                _discard_stdout()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so later prints (and the flush at exit) do not fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file descriptor (a test's capture): nothing to redirect


def _load_translator(config: GenerateConfig, options: WriteOptions) -> tuple[Any, Any] | None:
    """The --translate generator, loaded before the output folder is touched."""
    if not config.translate:
        return None
    from kplate.gan.distributed import resolve_device
    from kplate.gan.translate import Translator

    return Translator.from_checkpoint(
        Path(config.translate), resolve_device(options.device), options.translate_batch
    )


def _translate_stream(
    stream: Iterator[tuple[Any, dict[str, Any]]],
    config: GenerateConfig,
    options: WriteOptions,
    loaded: tuple[Any, Any],
) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """Rendered plates -> translated, encoded plates, in batches, in order (one pass)."""
    from kplate.gan.preservation import edge_correlation

    translator, model = loaded
    pending: list[tuple[np.ndarray, dict[str, Any]]] = []

    def flush() -> Iterator[tuple[bytes, dict[str, Any]]]:
        outputs = translator.translate([image for image, _ in pending])
        for (source, entry), output in zip(pending, outputs, strict=True):
            boxes = [c["box"] for c in entry["chars"]]
            entry["translation"] = {
                **model.to_dict(),
                "preservation": round(edge_correlation(source, output, boxes), 4),
            }
            yield encode_image(output, config.image_format.value, config.jpeg_quality), entry
        pending.clear()

    for image, entry in stream:
        pending.append((image, entry))
        if len(pending) >= options.translate_batch:
            yield from flush()
    if pending:
        yield from flush()


def _finished_summary(out: Path) -> dict[str, int] | None:
    """The per-type counts of a finished run's summary.json; None when it is missing or
    unreadable (then the run's end is redone, which rewrites it)."""
    try:
        summary = json.loads((out / SUMMARY_FILE).read_text(encoding="utf-8"))
        per_type = summary["per_type"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return per_type if isinstance(per_type, dict) else None


def write_dataset(config: GenerateConfig, options: WriteOptions) -> RunSummary:
    """Write (or finish) a run into `options.out`; see the README's Output section.

    Everything the run needs (glyphs, each type at its size, the augmenter, the
    translator) is built and tried before the folder or its lock is touched, so a bad
    option is one line with nothing written, and workers never meet an error of the
    user's on start.
    """
    if not 1 <= options.workers <= MAX_WORKERS:
        raise KplateError(f"--workers must be 1 to {MAX_WORKERS}, got {options.workers}")
    indices = shard_indices(config.total, options.shard)
    factory = PlateFactory(config)
    factory.check()
    if options.lmdb and options.save:
        require("lmdb", needed_for="--lmdb")
    translator = _load_translator(config, options)
    start = time.perf_counter()
    if not options.save:
        per_type: Counter[str] = Counter()
        setup = _WorkerSetup(config, encode=False)
        for _, entry in _produce(factory, setup, indices, options.workers):
            per_type[entry["type"]] += 1
        return RunSummary(
            len(indices), len(indices), 0, time.perf_counter() - start, dict(per_type)
        )

    out = options.out
    fingerprint = {
        "command": "generate",
        "config": config.fingerprint(),
        "shard": options.shard,
        "naming": options.naming.value,
        "kplate": __version__,
    }
    with run_folder(out, fingerprint, options.overwrite) as resuming:
        seen: Counter[str] = Counter()
        per_type: Counter[str] = Counter()
        digits = _index_digits(config.total)

        def recount(entry: dict[str, Any]) -> None:
            # Rebuild what the kept part implies: counts, and label-name duplicates.
            file_name_for(entry, options.naming, config.image_format, digits, seen)
            per_type[entry["type"]] += 1

        try:
            # run.json first: from here on a killed run leaves a folder its re-run knows.
            atomic_write_text(out / RUN_FILE, json.dumps(fingerprint, ensure_ascii=False, indent=1))
            if not resuming:
                (out / METADATA).unlink(missing_ok=True)
            kept = resume_prefix(out, indices, recount)
            finished = _finished_summary(out) if resuming and kept == len(indices) else None
            if finished is not None:
                return RunSummary(len(indices), 0, kept, 0.0, finished, str(out))
            (out / IMAGES).mkdir(exist_ok=True)
            remove_stray_temporaries(out / IMAGES)
            (out / SUMMARY_FILE).unlink(missing_ok=True)
        except OSError as error:
            # A resumed folder where kplate's own names are something else: metadata.jsonl
            # a folder, images a file, a file it cannot read.
            raise KplateError(
                f"{error.filename or out}: cannot be used for this run's output "
                f"({error.strerror or error}); move it away or choose another --out"
            ) from None
        todo = indices[kept:]
        progress = _Progress(len(indices), kept, options.progress)
        made_dirs: set[Path] = set()
        by_index = options.naming is FileNaming.INDEX and not config.translate
        setup = _WorkerSetup(config, out if by_index else None, digits, encode=not config.translate)
        stream = _produce(factory, setup, todo, options.workers)
        if translator is not None:
            stream = _translate_stream(stream, config, options, translator)
        try:
            with open(out / METADATA, "a", encoding="utf-8") as manifest, closing(stream):
                for data, entry in stream:
                    if isinstance(entry, _Written):
                        manifest.write(entry.line)
                        per_type[entry.type] += 1
                        progress.update()
                        continue
                    if data is not None:
                        name = file_name_for(
                            entry, options.naming, config.image_format, digits, seen
                        )
                        entry["file_name"] = name
                        path = out / name
                        if path.parent not in made_dirs:
                            path.parent.mkdir(parents=True, exist_ok=True)
                            made_dirs.add(path.parent)
                        write_file(path, data)
                    # No flush per line: a line is only ever written after its image, so
                    # a kill loses at most buffered lines, whose images a re-run redoes.
                    manifest.write(dumps_line(entry))
                    per_type[entry["type"]] += 1
                    progress.update()
        except OSError as error:
            raise KplateError(f"{out}: write failed ({error.strerror}); re-run to resume") from None
        finally:
            progress.close()
        count = write_derived_manifests(out, lmdb=options.lmdb)
        seconds = time.perf_counter() - start
        summary = RunSummary(len(indices), len(todo), kept, seconds, dict(per_type), str(out))
        atomic_write_text(
            out / SUMMARY_FILE,
            json.dumps(
                {
                    "complete": True,
                    "count": count,
                    "per_type": summary.per_type,
                    "seconds": round(seconds, 3),
                    "plates_per_second": round(summary.plates_per_second, 1),
                },
                ensure_ascii=False,
                indent=1,
            ),
        )
        return summary
