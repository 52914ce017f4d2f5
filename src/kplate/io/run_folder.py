"""Output folders that survive interruption: shared by `generate` and `translate`.

A run folder holds `run.json` (the options that decide its content), `images/`, an
append-only `metadata.jsonl` in index order, and derived manifests written at the end.
Re-running the same command keeps the longest intact prefix and makes the rest; a
different run is refused unless the user asks to overwrite, and a folder holding
anything else is never written into.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kplate.errors import KplateError
from kplate.io.lock import LOCK_FILE
from kplate.io.manifest import GT_TXT, LABELS_CSV, LMDB_DIR, METADATA

RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"
IMAGES = "images"
OWNED = (IMAGES, METADATA, LABELS_CSV, GT_TXT, LMDB_DIR, RUN_FILE, SUMMARY_FILE)


def write_file(path: Path, data: bytes) -> None:
    """Write then rename: a kill leaves at most a stray `.tmp`, never a torn image.

    The temporary name is fixed (not random) because the folder lock already rules out
    a second writer, and a fixed name is cheaper on the hot path.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _leftovers(out: Path) -> list[Path]:
    """What a killed run leaves beside its files: `atomic_write_bytes` temporaries of the
    files it owns (`.run.json.<random>.tmp`, ...) and a half-built `.lmdb.building`."""
    if not out.is_dir():
        return []
    prefixes = tuple(f".{name}." for name in OWNED)
    return [
        p
        for p in out.iterdir()
        if (p.name.startswith(prefixes) and p.name.endswith(".tmp"))
        or p.name == f".{LMDB_DIR}.building"
    ]


def prepare_out(out: Path, fingerprint: dict[str, Any], overwrite: bool) -> bool:
    """Check the folder can take this run; returns True when it holds an earlier part of it.

    Call it holding the folder lock: it deletes the temporaries an interrupted run left.
    """
    if out.exists() and not out.is_dir():
        raise KplateError(f"{out}: exists and is not a folder")
    leftovers = _leftovers(out)
    run_file = out / RUN_FILE
    if run_file.is_file():
        try:
            previous = json.loads(run_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            previous = None
        if previous == fingerprint and not overwrite:
            _remove(leftovers)
            return True
        if not overwrite:
            raise KplateError(
                f"{out}: holds a different kplate run; pass --overwrite to replace it, "
                "or choose another --out"
            )
    elif (
        out.is_dir()
        and any(p.name != LOCK_FILE and p not in leftovers for p in out.iterdir())
        and not overwrite
    ):
        if any((out / name).exists() for name in OWNED):
            raise KplateError(f"{out}: holds a kplate output without {RUN_FILE}; pass --overwrite")
        raise KplateError(f"{out}: folder is not empty; choose another --out or pass --overwrite")
    if overwrite:
        for name in OWNED:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    _remove(leftovers)
    return False


def _remove(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


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


def remove_stray_temporaries(images: Path) -> None:
    """Delete `.NAME.tmp` files a killed run left behind."""
    for stray in images.rglob(".*.tmp"):
        stray.unlink(missing_ok=True)
