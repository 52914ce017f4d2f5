"""The main job: plate strings -> rendered (and optionally augmented) images with labels.

`generate(config)` is an iterator, so `for image, entry in generate(config)` works from
Python; `write_dataset(config, options)` is what `kplate generate` runs: deterministic
per image (each image's randomness comes from `plate_seed(run seed, index)`, so worker
count and sharding never change a byte), resumable and safe against interruption.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

from kplate import __version__
from kplate.errors import KplateError
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
from kplate.render.record import PlateRecord
from kplate.spec.types import PlateType


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
        if self.plates is None and self.count < 0:
            raise KplateError(f"--count must be 0 or more, got {self.count}")
        if not self.types:
            raise KplateError("no plate types selected")
        if self.weights is not None:
            if len(self.weights) != len(self.types):
                raise KplateError(
                    f"--weights has {len(self.weights)} values for {len(self.types)} types"
                )
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise KplateError("--weights must be non-negative with a positive sum")

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


_WORKER: tuple[PlateFactory, _WorkerSetup] | None = None


def _init_worker(setup: _WorkerSetup) -> None:
    global _WORKER
    # (OpenCV's thread count is left alone: setting it in a forked child whose parent
    # already started OpenCV's thread pool deadlocks.)
    _WORKER = (PlateFactory(setup.config), setup)


class _Written(NamedTuple):
    """A plate a worker has already written: its type (for the counts) and its manifest
    line, serialised in the worker so the parent process only appends text."""

    type: str
    line: str


def _work(index: int) -> tuple[Any, dict[str, Any] | _Written]:
    assert _WORKER is not None
    factory, setup = _WORKER
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
    setup: _WorkerSetup, indices: list[int], workers: int
) -> Iterator[tuple[Any, dict[str, Any] | _Written]]:
    """(pixels, encoded image, or None once written; entry, or the written line) in index
    order, from 1+ processes."""
    if workers <= 1 or len(indices) < 2:
        _init_worker(setup)
        for index in indices:
            yield _work(index)
        return
    if setup.config.augment:
        import kplate.augment  # noqa: F401  (imported once here, not once per forked worker)
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    context = multiprocessing.get_context(method)
    lanes = _type_lanes(setup.config, workers)
    if lanes is None:
        with context.Pool(workers, initializer=_init_worker, initargs=(setup,)) as pool:
            chunk = max(1, min(32, len(indices) // (workers * 8)))
            yield from pool.imap(_work, indices, chunksize=chunk)
        return
    yield from _produce_in_lanes(setup, indices, lanes, context)


def _produce_in_lanes(
    setup: _WorkerSetup,
    indices: list[int],
    lanes: tuple[list[set[PlateType]], PlateType | None],
    context: Any,
) -> Iterator[tuple[Any, dict[str, Any] | _Written]]:
    """One single-process pool per lane of types; results merged back into index order.

    Work goes out in rounds of LANE_ROUND indices, the next round submitted before the
    current one is collected, so no lane waits at a round's end and at most two rounds of
    results are held back for in-order writing."""
    types, flex = lanes
    lane_of = {t: lane for lane, members in enumerate(types) for t in members}
    pools = [
        context.Pool(1, initializer=_init_worker, initargs=(setup,)) for _ in range(len(types))
    ]

    def submit(block: list[int]) -> tuple[list[int], list[Any]]:
        order, work = [], [[] for _ in types]
        for index in block:
            plate_type = random_type(setup.config, index)
            if plate_type is flex:
                lane = min(range(len(work)), key=lambda k: len(work[k]))
            else:
                lane = lane_of[plate_type]
            order.append(lane)
            work[lane].append(index)
        streams = [
            pool.imap(_work, lane_work, chunksize=max(1, min(32, len(lane_work) // 8)))
            for pool, lane_work in zip(pools, work, strict=True)
        ]
        return order, streams

    try:
        blocks = [indices[i : i + LANE_ROUND] for i in range(0, len(indices), LANE_ROUND)]
        pending = submit(blocks[0]) if blocks else None
        for number in range(len(blocks)):
            assert pending is not None
            order, streams = pending
            pending = submit(blocks[number + 1]) if number + 1 < len(blocks) else None
            for lane in order:
                yield next(streams[lane])
        for pool in pools:
            pool.close()
        for pool in pools:
            pool.join()
    finally:
        for pool in pools:
            pool.terminate()


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
            print(f"{self.done}/{self.total} plates", flush=True)
            self._next_report += max(1, self.total // 10)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _translate_stream(
    stream: Iterator[tuple[Any, dict[str, Any]]], config: GenerateConfig, options: WriteOptions
) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """Rendered plates -> translated, encoded plates, in batches, in order (one pass)."""
    from kplate.gan.distributed import resolve_device
    from kplate.gan.preservation import edge_correlation
    from kplate.gan.translate import Translator

    assert config.translate is not None
    translator, model = Translator.from_checkpoint(
        Path(config.translate), resolve_device(options.device), options.translate_batch
    )
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


def write_dataset(config: GenerateConfig, options: WriteOptions) -> RunSummary:
    """Write (or finish) a run into `options.out`; see the README's Output section."""
    indices = list(shard_indices(config.total, options.shard))
    start = time.perf_counter()
    if not options.save:
        per_type: Counter[str] = Counter()
        for _, entry in _produce(_WorkerSetup(config, encode=False), indices, options.workers):
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

        # run.json first: from here on a killed run leaves a folder its re-run recognises.
        atomic_write_text(out / RUN_FILE, json.dumps(fingerprint, ensure_ascii=False, indent=1))
        if not resuming:
            (out / METADATA).unlink(missing_ok=True)
        kept = resume_prefix(out, indices, recount)
        if resuming and (out / SUMMARY_FILE).is_file() and kept == len(indices):
            summary = json.loads((out / SUMMARY_FILE).read_text(encoding="utf-8"))
            return RunSummary(len(indices), 0, kept, 0.0, summary.get("per_type", {}), str(out))
        (out / IMAGES).mkdir(exist_ok=True)
        remove_stray_temporaries(out / IMAGES)
        (out / SUMMARY_FILE).unlink(missing_ok=True)
        todo = indices[kept:]
        progress = _Progress(len(indices), kept, options.progress)
        made_dirs: set[Path] = set()
        try:
            with open(out / METADATA, "a", encoding="utf-8") as manifest:
                by_index = options.naming is FileNaming.INDEX and not config.translate
                setup = _WorkerSetup(
                    config, out if by_index else None, digits, encode=not config.translate
                )
                stream = _produce(setup, todo, options.workers)
                if config.translate:
                    stream = _translate_stream(stream, config, options)
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
