"""`kplate generate --scheduler ADDRESS`: a run's rounds of plate indices computed on a
dask.distributed cluster, with the same bytes as a run on one machine.

Each round is one Dask task: it renders, augments and encodes its plates and writes them
itself, into the output folder that client and workers share (a network file system or
the one disk of a single machine). With `--format webdataset|parquet` a round is one
shard, written whole and renamed. In a folder run a task writes its images by index and
then its part of the manifest as `OUT/.rounds/ROUND.jsonl` (renamed into place: the file
is the proof that the round is done); when every round is done the client appends the
parts to metadata.jsonl in index order and finishes the folder as a local run does.

Dask recomputes the rounds of a worker that dies (up to its
`distributed.scheduler.allowed-failures`), and retries a round that raised. A run stopped
by anything else is finished by re-running the same command: only the rounds with no file
are sent again.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kplate.errors import KplateError, OptionError
from kplate.extras import require
from kplate.io.files import atomic_write_text, encode_image
from kplate.io.layout import Layout, shard_types
from kplate.io.manifest import METADATA, dumps_line
from kplate.io.naming import IMAGES, FileNaming, file_name_for, index_digits
from kplate.io.run_folder import ROUNDS, RunFolder
from kplate.pipeline.config import GenerateConfig
from kplate.pipeline.factory import PlateFactory
from kplate.pipeline.stream import Round, make_round, rounds

#: How long the client tries to reach the scheduler before the run is refused.
CONNECT_SECONDS = 10.0
#: How long a stopped run waits for rounds that workers had started to end.
STRAGGLER_SECONDS = 60.0
#: Times a round that raised is tried again (a worker's death is Dask's own recompute).
RETRIES = 2
#: A folder run's rounds: enough of them to keep a cluster busy (64 or more), none so big
#: that a lost round costs much, none so small that Dask's ~1 ms per task shows.
MAX_ROUND = 4096
TARGET_ROUNDS = 64

_ADDRESS = re.compile(r"(?:[a-z]+://)?[^\s/:]+(?::\d{1,5})?")


def folder_round_size(plates: int) -> int:
    """Plates per round of a folder run: a function of the run alone, so a re-run on a
    cluster of another size finds the rounds that are done."""
    return max(1, min(MAX_ROUND, math.ceil(plates / TARGET_ROUNDS)))


def connect(address: str) -> Any:
    """A dask.distributed Client of the scheduler at `address`, or a one-line error; the
    run calls this before it touches the output folder."""
    if not _ADDRESS.fullmatch(address.strip()):
        raise OptionError(
            "scheduler",
            f"{{option}} {address!r}: not a scheduler address such as tcp://HOST:8786",
        )
    require("distributed", needed_for="--scheduler")
    from distributed import Client

    try:
        return Client(address.strip(), timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise OptionError(
            "scheduler", f"{{option}} {address}: cannot reach the scheduler ({reason})"
        ) from None


# -- on a worker ----------------------------------------------------------------------------

#: Per worker thread, the factory of the run it last worked for: built once per thread,
#: since a factory reuses its image buffer and a worker may run several tasks at once.
_LOCAL = threading.local()


def _factory(config: GenerateConfig) -> PlateFactory:
    cached: tuple[GenerateConfig, PlateFactory] | None = getattr(_LOCAL, "factory", None)
    if cached is None or cached[0] != config:
        cached = (config, PlateFactory(config))
        _LOCAL.factory = cached
    return cached[1]


def _write_image(path: Path, data: bytes) -> None:
    """Write then rename under a name of this thread's own: a round that Dask computes
    again while a lost worker still runs it never shares a temporary with it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def round_task(
    config: GenerateConfig, layout: Layout, out: str, number: int, indices: range
) -> dict[str, int]:
    """One round, on whichever worker Dask chose; returns its plates per type."""
    factory = _factory(config)
    folder = Path(out)
    if layout is not Layout.FOLDER:
        return dict(make_round(factory, layout, folder, Round(number, indices), config.total))
    return _folder_round(factory, folder, number, indices)


def _folder_round(factory: PlateFactory, out: Path, number: int, indices: range) -> dict[str, int]:
    config = factory.config
    digits = index_digits(config.total)
    lines: list[str] = []
    per_type: Counter[str] = Counter()
    for index in indices:
        image, entry = factory.make(index, reuse=True)
        data = encode_image(image, config.image_format.value, config.jpeg_quality)
        entry["file_name"] = file_name_for(
            entry, FileNaming.INDEX, config.image_format, digits, Counter()
        )
        _write_image(out / entry["file_name"], data)
        lines.append(dumps_line(entry))
        per_type[entry["type"]] += 1
    atomic_write_text(out / ROUNDS / round_file(number), "".join(lines))
    return dict(per_type)


def round_file(number: int) -> str:
    return f"{number:06d}.jsonl"


# -- on the client --------------------------------------------------------------------------


class ClusterRun:
    """One run on a cluster, into an open run folder: resume, send the missing rounds,
    collect, finish."""

    def __init__(
        self,
        config: GenerateConfig,
        layout: Layout,
        shard_size: int,
        folder: RunFolder,
        client: Any,
        indices: range,
    ) -> None:
        self.config, self.layout, self.folder, self.client = config, layout, folder, client
        self.out = folder.out.resolve()
        self.indices = indices
        self.size = shard_size if layout is not Layout.FOLDER else folder_round_size(len(indices))
        self.per_type: Counter[str] = Counter()

    def plan(self) -> tuple[list[Round], int]:
        """The rounds to compute and how many plates are done already (their types
        counted again). A folder run keeps metadata.jsonl's intact prefix too."""
        every = rounds(self.indices, self.size)
        prefix = 0
        if self.layout is Layout.FOLDER:
            prefix = self.folder.begin(
                self.indices, lambda entry: self.per_type.update([entry["type"]])
            )
        todo, kept = [], prefix
        for work in every:
            start = work.number * self.size
            end = start + len(work.indices)
            if end <= prefix:
                continue
            path = self._done_file(work)
            if not (self.folder.resuming and path.is_file()):
                todo.append(work)
                continue
            if self.layout is not Layout.FOLDER:
                self.per_type += shard_types(self.layout, path)
            kept += end - max(start, prefix)
        return todo, kept

    def _done_file(self, work: Round) -> Path:
        if self.layout is Layout.FOLDER:
            return self.out / ROUNDS / round_file(work.number)
        return self.out / self.layout.shard_name(work.number)

    def reopen(self) -> None:
        """run.json, then room for new files: the temporaries and the old summary go."""
        self.folder.write_record()
        if self.layout is Layout.FOLDER:
            (self.out / IMAGES).mkdir(exist_ok=True)
            (self.out / ROUNDS).mkdir(exist_ok=True)
        self.folder.reopen()

    def compute(self, todo: list[Round], on_round: Callable[[int], None]) -> None:
        """Send the rounds and wait for all of them; the first that fails stops the run."""
        from distributed import as_completed

        token = uuid.uuid4().hex[:8]
        futures = {
            self.client.submit(
                round_task,
                self.config,
                self.layout,
                str(self.out),
                work.number,
                work.indices,
                key=f"kplate-round-{work.number:06d}-{token}",
                retries=RETRIES,
                pure=False,
            ): work
            for work in todo
        }
        finished = False
        try:
            for future in as_completed(futures, loop=self.client.loop):
                work = futures[future]
                try:
                    counts = future.result()
                except Exception as error:
                    raise _round_failed(work, error) from None
                if self.layout is not Layout.FOLDER:
                    self.per_type.update(counts)
                on_round(len(work.indices))
            finished = True
        finally:
            self.client.cancel(list(futures))
            if not finished:
                self._wait_for_stragglers("kplate-round-", token)

    def _wait_for_stragglers(self, prefix: str, token: str) -> None:
        """Cancelling a round does not stop a worker already running it: wait (a while)
        until none does, so no task writes into the folder once its lock is released."""
        deadline = time.monotonic() + STRAGGLER_SECONDS

        def running(dask_worker: Any) -> int:
            try:
                return sum(
                    1
                    for task in dask_worker.state.executing
                    if str(task.key).startswith(prefix) and str(task.key).endswith(token)
                )
            except AttributeError:  # another distributed version: nothing to wait on
                return 0

        with contextlib.suppress(Exception):  # a cluster that went away runs nothing
            while any(self.client.run(running).values()) and time.monotonic() < deadline:
                time.sleep(0.2)

    def assemble(self) -> None:
        """A folder run's metadata.jsonl: the prefix it holds, then each round's part,
        every line checked to be the plate its place says."""
        if self.layout is not Layout.FOLDER:
            return
        manifest = self.out / METADATA
        try:
            with open(manifest, "rb") as handle:
                have = sum(1 for _ in handle)
            with open(manifest, "a", encoding="utf-8") as handle:
                for work in rounds(self.indices, self.size):
                    start = work.number * self.size
                    if start + len(work.indices) > have:
                        handle.writelines(self._part(work, skip=max(0, have - start)))
        except OSError as error:
            raise KplateError(
                f"{self.out}: write failed ({error.strerror or error}); re-run to resume"
            ) from None

    def _part(self, work: Round, skip: int) -> list[str]:
        """A round's manifest lines after the first `skip` (those metadata.jsonl holds
        already), refused unless the part is the round's plates in order."""
        part = self.out / ROUNDS / round_file(work.number)
        lines = part.read_text(encoding="utf-8").splitlines(keepends=True)
        try:
            entries = [json.loads(line) for line in lines]
            ok = [entry["index"] for entry in entries] == list(work.indices)
        except (ValueError, TypeError, KeyError):
            ok = False
        if not ok or not all(line.endswith("\n") for line in lines):
            raise KplateError(
                f"{part}: is not round {work.number}'s {len(work.indices)} plates in order; "
                "delete it and re-run to redo the round"
            )
        self.per_type.update(entry["type"] for entry in entries[skip:])
        return lines[skip:]


def _round_failed(work: Round, error: Exception) -> KplateError:
    name = type(error).__name__
    if name == "KilledWorker":
        return KplateError(
            f"round {work.number}: the workers running it died too often (Dask's "
            "distributed.scheduler.allowed-failures); re-run the same command to resume"
        )
    if isinstance(error, KplateError):
        return KplateError(f"round {work.number}: {error}")
    reason = str(error).splitlines()[0] if str(error) else ""
    return KplateError(
        f"round {work.number} failed on the cluster ({name}: {reason}); re-run the same "
        "command to resume"
    )
