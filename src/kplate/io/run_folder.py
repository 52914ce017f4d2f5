"""Output folders that survive interruption: shared by `generate` and `translate`.

A run folder holds `run.json` (the options that decide its content, and the command that
wrote it), `images/`, an append-only `metadata.jsonl` in index order, and derived
manifests written at the end. Re-running the same command keeps the longest intact prefix
and makes the rest; a different run of the same command is replaced only with
`--overwrite`.

What kplate may remove is decided by what it wrote, never by what a folder happens to
hold: a run's own files are its fixed manifests, the image names its `run.json` implies
(or its `metadata.jsonl` lists) and the temporaries a kill leaves. A folder holding
anything else, or an output of another command, is refused with or without
`--overwrite`, and kplate never removes the folder itself.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from kplate.errors import KplateError, OptionError, option_error
from kplate.io.files import atomic_write_text
from kplate.io.images import is_image_name
from kplate.io.layout import SHARD_FILE, SHARD_TEMPORARY
from kplate.io.lock import LOCK_FILE, claimed_folder, refuse_if_busy
from kplate.io.manifest import (
    GT_TXT,
    LABELS_CSV,
    LMDB_DIR,
    METADATA,
    bounded_lines,
    dumps_strict,
    write_derived_manifests,
)
from kplate.io.naming import IMAGES

RUN_FILE = "run.json"
#: Where the tasks of a run on a Dask cluster put their parts of metadata.jsonl until the
#: run assembles it (pipeline/dask_run.py); gone once the run is complete.
ROUNDS = ".rounds"
_ROUND_FILE = re.compile(rf"{re.escape(ROUNDS)}/(?:\d{{6,}}\.jsonl|\.\d{{6,}}\.jsonl\.[^/]+\.tmp)")
SUMMARY_FILE = "summary.json"
OWNED = (IMAGES, METADATA, LABELS_CSV, GT_TXT, LMDB_DIR, RUN_FILE, SUMMARY_FILE)
#: The files a run writes at the top of its folder (besides `images/` and `lmdb/`).
TOP_FILES = frozenset({METADATA, LABELS_CSV, GT_TXT, RUN_FILE, SUMMARY_FILE, LOCK_FILE})
LMDB_FILES = frozenset({"data.mdb", "lock.mdb"})
#: The commands that write run folders, known by `run.json`'s "command" key, or, in
#: folders written before that key existed, by the keys only that command records.
COMMAND_KEYS = {"generate": ("config", "naming"), "translate": ("input", "model")}
SHOWN_FOREIGN = 3


def write_file(path: Path, data: bytes) -> None:
    """Write then rename: a kill leaves at most a stray `.tmp`, never a torn image.

    The temporary name is fixed (not random) because the folder lock already rules out
    a second writer, and a fixed name is cheaper on the hot path.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def output_folder(value: str | os.PathLike[str], flag: str = "out") -> Path:
    """`value` as an output folder, refused in one line when it cannot be one: empty
    (which would mean the working directory), a file, or a link to nowhere or to itself.
    Checked before anything is created, so the refusal leaves no trace."""
    text = os.fspath(value)
    if not text.strip():
        raise option_error("{out}: empty; name the output folder", out=flag)
    path = Path(text)
    if path.is_symlink() and not path.exists():
        try:
            target = os.readlink(path)
            os.stat(path)
        except OSError as error:
            if error.errno == errno.ELOOP:
                why = "a symbolic link that loops"
            else:
                why = f"a symbolic link to {target}, which does not exist"
        else:  # pragma: no cover - the link was mended in between
            return path
        raise KplateError(f"{path}: cannot create output folder: {why}")
    if path.exists() and not path.is_dir():
        raise KplateError(f"{path}: cannot create output folder: it exists and is not a folder")
    return path


def command_of(record: Any) -> str | None:
    """The command that wrote a run.json record; None when it is no kplate record."""
    if not isinstance(record, dict):
        return None
    named = record.get("command")
    if named is not None:
        return named if isinstance(named, str) and named.isidentifier() else None
    for command, keys in COMMAND_KEYS.items():
        if all(key in record for key in keys):
            return command
    return None


def read_record(folder: Path) -> tuple[bool, dict[str, Any] | None]:
    """(whether `folder/run.json` exists, its record when it is a readable kplate one)."""
    path = folder / RUN_FILE
    if not os.path.lexists(path):
        return False, None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True, None
    return True, record if command_of(record) is not None else None


def refuse_unfinished(folder: Path, flag: str) -> None:
    """Refuse an input folder that is a kplate output stopped before its end (run.json but
    no summary.json): it holds only part of its plates, and its manifests may be missing."""
    present, record = read_record(Path(folder))
    if present and record is not None and not (Path(folder) / SUMMARY_FILE).is_file():
        command = command_of(record)
        raise option_error(
            f"{{input}} {folder}: an unfinished kplate {command} output (no {SUMMARY_FILE}); "
            f"finish it first by re-running the same kplate {command} command",
            input=flag,
        )


def _same_run(previous: dict[str, Any], fingerprint: dict[str, Any]) -> bool:
    """Equal records, "command" aside (folders written before it was recorded)."""

    def strip(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if k != "command"}

    return strip(previous) == strip(fingerprint)


def _short(value: Any) -> str | None:
    """A recorded value as the user may read it in one line, or None when too long."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else None


def _differences(previous: dict[str, Any], fingerprint: dict[str, Any]) -> str:
    """Where two run records differ, one level into "config": ' (run.json differs in
    config.seed: 1 there, 2 now)', or '' when nothing can be named."""
    found: list[tuple[str, Any, Any]] = []
    for key in sorted((previous.keys() | fingerprint.keys()) - {"command"}):
        mine, theirs = previous.get(key), fingerprint.get(key)
        if mine == theirs:
            continue
        if key == "config" and isinstance(mine, dict) and isinstance(theirs, dict):
            found += [
                (f"config.{k}", mine.get(k), theirs.get(k))
                for k in sorted(mine.keys() | theirs.keys())
                if mine.get(k) != theirs.get(k)
            ]
        else:
            found.append((key, mine, theirs))
    if not found:
        return ""
    if len(found) == 1:
        name, there, now = found[0]
        shown_there, shown_now = _short(there), _short(now)
        if shown_there is not None and shown_now is not None:
            return f" (its {RUN_FILE} differs in {name}: {shown_there} there, {shown_now} now)"
    names = ", ".join(name for name, _, _ in found[:SHOWN_FOREIGN])
    more = f" and {len(found) - SHOWN_FOREIGN} more" if len(found) > SHOWN_FOREIGN else ""
    return f" (its {RUN_FILE} differs in {names}{more})"


def _image_names(record: dict[str, Any] | None) -> Callable[[str], bool]:
    """Whether a path under images/ is a name the recorded run writes (or its temporary)."""
    if record is None:
        return lambda rel: False
    temporary = re.compile(r"(?:.*/)?\.[^/]+\.tmp")
    if command_of(record) == "generate":
        fmt = str((record.get("config") or {}).get("image_format") or "")
        ext = re.escape(fmt) if fmt in ("jpg", "png") else "(?:jpg|png)"
        pattern = re.compile(rf"{IMAGES}/(?:\d+\.{ext}|([A-Za-z0-9_]+)/[^/]+__\1(?:_\d+)?\.{ext})")

        def generated(rel: str) -> bool:
            return bool(pattern.fullmatch(rel)) or bool(
                rel.startswith(f"{IMAGES}/") and temporary.fullmatch(rel)
            )

        return generated
    return lambda rel: (
        rel.startswith(f"{IMAGES}/") and (is_image_name(rel) or bool(temporary.fullmatch(rel)))
    )


def _is_top_temporary(name: str) -> bool:
    """A temporary an interrupted write of one of the run's own files leaves."""
    return (
        (name.startswith(tuple(f".{n}." for n in OWNED)) and name.endswith(".tmp"))
        or name == f".{LMDB_DIR}.building"
        or bool(SHARD_TEMPORARY.fullmatch(name))
    )


def _walk(out: Path) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """(relative posix path, entry) of everything below `out`; links are not followed,
    and the insides of a half-built LMDB are not listed (the folder is the run's)."""
    stack = [("", out)]
    while stack:
        prefix, folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = f"{prefix}{entry.name}"
                yield rel, entry
                if entry.is_dir(follow_symlinks=False) and rel != f".{LMDB_DIR}.building":
                    stack.append((f"{rel}/", Path(entry.path)))


def _owned_by_name(
    rel: str, entry: os.DirEntry[str], images: Callable[[str], bool], recorded: bool
) -> bool:
    """Whether the file is one a run writes, by its place and name: the fixed manifests
    (only where a run.json says a run was here), images, LMDB files and temporaries."""
    if entry.is_dir(follow_symlinks=False):
        return rel not in TOP_FILES  # other folders are judged by what they hold
    if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
        return False  # kplate writes plain files only
    if "/" not in rel:
        return (
            rel == LOCK_FILE
            or _is_top_temporary(rel)
            or (recorded and (rel in TOP_FILES or bool(SHARD_FILE.fullmatch(rel))))
        )
    if rel.startswith(f"{LMDB_DIR}/"):
        return rel.count("/") == 1 and rel.split("/")[1] in LMDB_FILES
    if rel.startswith(f"{ROUNDS}/"):
        return recorded and bool(_ROUND_FILE.fullmatch(rel))
    return images(rel)


def _listed(out: Path, record: dict[str, Any] | None, candidates: set[str]) -> set[str]:
    """Those of `candidates` that a translate output's metadata.jsonl names as its images
    (it keeps its input's names, which need not be under images/); a torn or damaged line
    ends the reading. Only image files count, and generate's names all follow its naming,
    so a manifest can never make a user's other files the run's own."""
    found: set[str] = set()
    path = out / METADATA
    candidates = {c for c in candidates if is_image_name(c)}
    if command_of(record) != "translate" or not candidates or not path.is_file():
        return found
    with open(path, "rb") as handle:
        for line in bounded_lines(handle):
            try:
                name = json.loads(line).get("file_name")
            except (ValueError, AttributeError):
                break
            if isinstance(name, str) and os.path.normpath(name) in candidates:
                found.add(os.path.normpath(name))
    return found


def _foreign(out: Path, record: dict[str, Any] | None) -> list[str]:
    """What in `out` the recorded run did not write (sorted relative paths)."""
    images = _image_names(record)
    recorded = record is not None
    unexplained = {
        rel for rel, entry in _walk(out) if not _owned_by_name(rel, entry, images, recorded)
    }
    if recorded:
        unexplained -= _listed(out, record, unexplained)
    return sorted(unexplained)


def _refuse_foreign(out: Path, foreign: list[str]) -> None:
    shown = ", ".join(foreign[:SHOWN_FOREIGN])
    more = f" and {len(foreign) - SHOWN_FOREIGN} more" if len(foreign) > SHOWN_FOREIGN else ""
    raise OptionError(
        "out",
        f"{out}: folder is not empty: it holds {shown}{more}, which kplate did not write; "
        "kplate writes only into an empty folder or its own earlier output: choose another "
        "{option}",
    )


def prepare_out(
    out: Path, fingerprint: dict[str, Any], overwrite: bool, *, check_only: bool = False
) -> bool:
    """Check the folder can take this run; returns True when it holds an earlier part of it.

    With `check_only` nothing is changed (the check made before the folder is claimed);
    otherwise call it holding the folder lock: it deletes the temporaries an interrupted
    run left and, with `overwrite`, the earlier run's own files.
    """
    output_folder(out)
    if not out.exists():
        return False
    command = command_of(fingerprint) or "generate"
    present, previous = read_record(out)
    if present and previous is None:
        raise OptionError(
            "out", f"{out}: its {RUN_FILE} is not a kplate run record; choose another {{option}}"
        )
    if previous is not None and command_of(previous) != command:
        raise OptionError(
            "out",
            f"{out}: holds a kplate {command_of(previous)} output, which kplate {command} "
            "does not replace; choose another {option}",
        )
    try:
        foreign = _foreign(out, previous)
    except OSError as error:
        raise KplateError(f"{out}: cannot read it ({error.strerror})") from None
    if foreign:
        _refuse_foreign(out, foreign)
    resuming = previous is not None and _same_run(previous, fingerprint) and not overwrite
    if previous is not None and not resuming and not overwrite:
        raise OptionError(
            "overwrite",
            f"{out}: holds a different kplate run{_differences(previous, fingerprint)}; "
            "pass {option} to replace it, "
            "or choose another {out}",
            also=("out",),
        )
    if not check_only:
        _remove_owned(out, previous if previous is not None and not resuming else None)
    return resuming


def _remove_owned(out: Path, replaced: dict[str, Any] | None) -> None:
    """Delete the temporaries an interrupted run left and, for a `replaced` run, every file
    it wrote (each judged again by name as it is met, so nothing that appeared since is
    touched), then the run's folders this leaves empty. The lock and `out` itself stay.
    Streams the folder, so memory does not grow with the number of images."""
    images = _image_names(replaced)
    unexplained: set[str] = set()
    folders: list[str] = []
    for rel, entry in _walk(out):
        if rel == f".{LMDB_DIR}.building":
            shutil.rmtree(out / rel, ignore_errors=True)
        elif entry.is_dir(follow_symlinks=False):
            folders.append(rel)
        elif rel == LOCK_FILE:
            continue
        elif _owned_by_name(rel, entry, images, replaced is not None):
            if replaced is not None or _is_temporary(rel):
                (out / rel).unlink(missing_ok=True)
        elif replaced is not None:
            unexplained.add(rel)
    if replaced is None:
        return
    removed = _listed(out, replaced, unexplained)
    for rel in removed:
        if (out / rel).is_file() and not (out / rel).is_symlink():
            (out / rel).unlink()
    emptied = {IMAGES, LMDB_DIR, ROUNDS} | {str(Path(rel).parent) for rel in removed}
    for rel in sorted(folders, key=lambda r: r.count("/"), reverse=True):
        if rel.split("/")[0] in emptied or any(r.startswith(f"{rel}/") for r in removed):
            with contextlib.suppress(OSError):
                (out / rel).rmdir()  # only when empty


def _is_temporary(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name.startswith(".") and name.endswith(".tmp")


@contextlib.contextmanager
def run_folder(out: Path, fingerprint: dict[str, Any], overwrite: bool) -> Iterator[bool]:
    """Claim `out` for a run: check it first (nothing is created in a folder that is
    refused), then create it, take its lock and prepare it. Yields whether the folder
    holds an earlier part of this very run (to be resumed)."""
    output_folder(out)
    if out.is_dir():
        refuse_if_busy(out)
    prepare_out(out, fingerprint, overwrite, check_only=True)
    with claimed_folder(out):
        yield prepare_out(out, fingerprint, overwrite)


def run_lines(
    total: int, made: int, resumed_from: int, seconds: float, out: str, rate_digits: int = 0
) -> list[str]:
    """The first two lines a run prints: how many plates where (and how many an earlier
    part of the run had made), then the time and rate."""
    head = f"{total} plates in {out or '(not saved)'}"
    if resumed_from:
        head += f" ({resumed_from} already there, {made} made now)"
    rate = made / seconds if seconds > 0 else 0.0
    return [head, f"{seconds:.1f} s, {rate:.{rate_digits}f} plates/s"]


class RunFolder:
    """The one folder mechanism of generate, translate and merge.

    `with RunFolder(out, fingerprint, overwrite) as folder:` checks the folder (nothing is
    created in one that is refused), creates it, takes its lock and prepares it;
    `folder.resuming` says whether it holds an earlier part of this very run. Then
    `begin` writes run.json and keeps the finished prefix of metadata.jsonl, the run
    appends entries, and `finish` writes the derived manifests and summary.json, the
    mark of a complete run.
    """

    def __init__(self, out: Path, fingerprint: dict[str, Any], overwrite: bool = False) -> None:
        self.out, self.fingerprint, self.overwrite = out, fingerprint, overwrite
        self.resuming = False
        self._claim: contextlib.AbstractContextManager[bool] | None = None

    def __enter__(self) -> RunFolder:
        self._claim = run_folder(self.out, self.fingerprint, self.overwrite)
        self.resuming = self._claim.__enter__()
        return self

    def __exit__(self, *exc: Any) -> bool | None:
        assert self._claim is not None
        return self._claim.__exit__(*exc)

    def begin(
        self, expected: Sequence[int], on_entry: Callable[[dict[str, Any]], None] | None = None
    ) -> int:
        """Write run.json and keep what an earlier part of the run finished: the longest
        intact prefix of metadata.jsonl. Returns how many entries that is."""
        self.write_record()
        if not self.resuming:
            (self.out / METADATA).unlink(missing_ok=True)
        return resume_prefix(self.out, expected, on_entry)

    def write_record(self) -> None:
        """run.json first: from here on a killed run leaves a folder its re-run knows."""
        atomic_write_text(
            self.out / RUN_FILE,
            dumps_strict(self.fingerprint, str(self.out / RUN_FILE), ensure_ascii=False, indent=1),
        )

    def finished_summary(self) -> dict[str, Any] | None:
        """summary.json of a complete run, or None (missing or unreadable: redo the end)."""
        try:
            summary = json.loads((self.out / SUMMARY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return summary if isinstance(summary, dict) and summary.get("complete") else None

    def reopen(self) -> None:
        """Make room for new images: drop what a kill left and the old summary."""
        if (self.out / IMAGES).is_dir():
            remove_stray_temporaries(self.out / IMAGES)
        (self.out / SUMMARY_FILE).unlink(missing_ok=True)

    def finish(self, fields: dict[str, Any], *, lmdb: bool = False) -> int:
        """Derive labels.csv and gt.txt (and the LMDB) from metadata.jsonl, then write
        summary.json: `{"complete": true, "count": N, **fields}`. Returns N."""
        count = write_derived_manifests(self.out, lmdb=lmdb)
        remove_rounds(self.out)
        self.finish_summary(count, fields)
        return count

    def finish_summary(self, count: int, fields: dict[str, Any]) -> None:
        """summary.json alone: the mark of a complete run whose files are all written
        (a streaming run's shards have no derived manifests)."""
        summary = {"complete": True, "count": count, **fields}
        where = str(self.out / SUMMARY_FILE)
        atomic_write_text(
            self.out / SUMMARY_FILE, dumps_strict(summary, where, ensure_ascii=False, indent=1)
        )


def resume_prefix(
    out: Path, expected: Sequence[int], on_entry: Callable[[dict[str, Any]], None] | None = None
) -> int:
    """Keep what an interrupted run finished: the longest prefix of metadata.jsonl, in
    order, whose images are on disk. The file is cut after that prefix (a torn last line
    or anything after the first gap goes), `on_entry` sees each kept entry, and the count
    is returned. Streams, so resuming a run of millions of images stays in flat memory;
    `expected` is a range for generate, never a list of every index.
    """
    path = out / METADATA
    if not path.exists():
        path.touch()
        return 0
    kept, end = 0, 0
    with open(path, "rb") as handle:
        for line in handle:
            if kept >= len(expected) or not line.endswith(b"\n"):
                break
            try:
                entry = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                break
            if entry.get("index") != expected[kept] or not (out / entry["file_name"]).is_file():
                break
            if on_entry is not None:
                on_entry(entry)
            kept += 1
            end += len(line)
    os.truncate(path, end)
    return kept


def remove_rounds(out: Path) -> None:
    """Drop a cluster run's manifest parts once metadata.jsonl holds them all (a local
    re-run that finished a cluster run drops them too)."""
    rounds = out / ROUNDS
    if not rounds.is_dir() or rounds.is_symlink():
        return
    for part in rounds.iterdir():
        if _ROUND_FILE.fullmatch(f"{ROUNDS}/{part.name}") and part.is_file():
            part.unlink()
    with contextlib.suppress(OSError):
        rounds.rmdir()


def remove_stray_temporaries(images: Path) -> None:
    """Delete `.NAME.tmp` files a killed run left behind."""
    for stray in images.rglob(".*.tmp"):
        stray.unlink(missing_ok=True)
