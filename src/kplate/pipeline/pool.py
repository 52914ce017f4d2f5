"""Making a run's plates in several processes, in index order, without ever hanging.

The main process builds and checks the factory, then forks: a worker never meets an
error of the user's at start. A random run splits its types between workers ("lanes") so
that each fills the render caches of its own types only. Indices stay ranges from start
to end, so memory does not grow with the run's size.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import cv2

from kplate.errors import KplateError
from kplate.io.files import encode_image
from kplate.io.manifest import dumps_line
from kplate.io.naming import FileNaming, file_name_for
from kplate.io.run_folder import write_file
from kplate.pipeline.config import GenerateConfig
from kplate.pipeline.factory import PlateFactory, random_type
from kplate.spec.types import PlateType

#: More processes than this only adds start-up time and memory on any machine kplate runs on.
MAX_WORKERS = 256
#: How often (seconds) a waiting main process checks that its workers are still alive.
WORKER_CHECK_SECONDS = 1.0
#: How long (seconds) a pool's own terminate() may take before its workers are killed and
#: the pool is left behind (see `_terminate`).
TERMINATE_SECONDS = 10.0


@dataclass(frozen=True)
class WorkerSetup:
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
_WORKER: tuple[PlateFactory, WorkerSetup] | None = None
#: Why this worker could not build its factory (spawn only); its first task raises it.
_WORKER_ERROR: Exception | None = None
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class WorkerError(Exception):
    """A bug that stopped a worker: its traceback as text, which always crosses back to
    the main process (an exception whose class needs other constructor arguments fails to
    unpickle there, and multiprocessing.Pool then waits forever)."""


def _init_worker(setup: WorkerSetup) -> None:
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
    # (OpenCV's thread count is set in the main process around the fork, never here:
    # setting it in a forked child whose parent had started OpenCV's pool deadlocks.)
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


class Written(NamedTuple):
    """A plate a worker has already written: its type (for the counts) and its manifest
    line, serialised in the worker so the parent process only appends text."""

    type: str
    line: str


def _work(index: int) -> tuple[Any, dict[str, Any] | Written]:
    """One task of a pool worker; every failure leaves as a portable exception."""
    if _WORKER_ERROR is not None:
        raise _WORKER_ERROR
    assert _WORKER is not None
    try:
        return _make(*_WORKER, index)
    except Exception as error:
        raise _portable(error) from None


def _work_chunk(indices: Sequence[int]) -> list[tuple[Any, dict[str, Any] | Written]]:
    return [_work(index) for index in indices]


def _make(
    factory: PlateFactory, setup: WorkerSetup, index: int
) -> tuple[Any, dict[str, Any] | Written]:
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
    return None, Written(entry["type"], dumps_line(entry))


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


def produce(
    factory: PlateFactory, setup: WorkerSetup, indices: Sequence[int], workers: int
) -> Iterator[tuple[Any, dict[str, Any] | Written]]:
    """(pixels, encoded image, or None once written; entry, or the written line) in index
    order, from 1+ processes. `indices` is a range (or any sequence): it is never listed,
    so memory does not grow with the run's size."""
    if workers <= 1 or len(indices) < 2:
        for index in indices:
            yield _make(factory, setup, index)
        return
    if setup.config.augment:
        import kplate.augment  # noqa: F401  (imported once here, not once per forked worker)
    # A realism critic runs torch, and a worker forked from a process that has run torch
    # (a fit that trained the critic, or the check's first draw) hangs at its first
    # parallel region: such runs start their workers fresh.
    forkable = not getattr(factory.augmenter, "uses_torch", False)
    method = "fork" if sys.platform.startswith("linux") and forkable else "spawn"
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
    def start(cls, context: Any, workers: int, setup: WorkerSetup) -> _Pool:
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
def _pools(context: Any, count: int, workers: int, setup: WorkerSetup) -> Iterator[list[_Pool]]:
    """`count` pools of `workers` processes each, terminated on the way out.

    Ctrl-C and SIGTERM are blocked while the workers start, so none arrives before a
    worker has set its own handlers (it unblocks them then); the main process takes
    both once the pools exist.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    pools: list[_Pool] = []
    try:
        with _opencv_threads_stopped():
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
            _terminate(each.pool)


def _terminate(pool: Any) -> None:
    """`pool.terminate()`, returning within TERMINATE_SECONDS whatever state the pool is in.

    CPython's terminate can wait forever when a run stops while workers still send results
    (python/cpython#96995, open): its result handler stops reading first, a worker blocks
    on the full result pipe holding the pipe's lock and is killed holding it, and the task
    handler, which terminate joins, then waits for that lock. Seen once, as a hang of
    test_a_worker_failing_mid_run_stops_the_run. So terminate runs in a thread of its own;
    if it has not returned in time, the workers still alive are killed and the pool's
    daemon threads are left to end with the process: the run has failed already.
    """
    stopper = threading.Thread(target=pool.terminate, name="kplate-pool-terminate", daemon=True)
    stopper.start()
    stopper.join(TERMINATE_SECONDS)
    if stopper.is_alive():
        for process in list(pool._pool):
            if process.exitcode is None:
                process.kill()


@contextmanager
def _opencv_threads_stopped() -> Iterator[None]:
    """Fork with no OpenCV worker thread alive: a thread of OpenCV's pool can hold one of
    its locks at the instant of the fork, and the child, which has the lock but not the
    thread, then waits for it forever on its first parallel call (seen as a worker stuck
    in cv2.warpAffine, 1 run in about 50 of test_repeated_kills_then_rerun). One thread
    means no pool: the workers run OpenCV single-threaded, as processes that already
    split the work should; the main process gets its thread count back afterwards."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def _produce_in_lanes(
    setup: WorkerSetup,
    indices: Sequence[int],
    lanes: tuple[list[set[PlateType]], PlateType | None],
    context: Any,
) -> Iterator[tuple[Any, dict[str, Any] | Written]]:
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
