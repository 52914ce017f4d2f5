"""Label manifests: `metadata.jsonl` (the Hugging Face imagefolder convention), `labels.csv`,
`gt.txt` (PaddleOCR, EasyOCR, deep-text-recognition-benchmark) and an optional LMDB.

`metadata.jsonl` is the source of truth while a run is in progress: it is appended one
line per finished image. The other manifests are derived from it when the run completes.
Labelled folders (metadata.jsonl or labels.csv) are read through `kplate.io.images.iter_labels`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from kplate.errors import KplateError
from kplate.io.files import atomic_writer
from kplate.limits import MAX_MANIFEST_LINE_BYTES, format_bytes

METADATA = "metadata.jsonl"
LABELS_CSV = "labels.csv"
GT_TXT = "gt.txt"
LMDB_DIR = "lmdb"


def dumps_strict(data: Any, what: str, **options: Any) -> str:
    """json.dumps that never writes NaN or Infinity (not JSON: other readers reject the
    file); such a value is a KplateError naming `what`, before anything is written."""
    try:
        return json.dumps(data, allow_nan=False, **options)
    except ValueError:
        raise KplateError(
            f"{what}: refusing to write a non-finite number (NaN or infinity) into JSON"
        ) from None


def dumps_line(entry: dict[str, Any]) -> str:
    """One manifest line: compact strict JSON, Hangul kept readable, newline-terminated."""
    what = f"{METADATA} entry {entry.get('file_name', '?')}"
    return dumps_strict(entry, what, ensure_ascii=False, separators=(",", ":")) + "\n"


def iter_metadata(path: str | Path) -> Iterator[dict[str, Any]]:
    """Stream metadata.jsonl one entry at a time (a run may hold millions of lines).

    A last line cut short by a kill (no newline) is dropped, not an error.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        for number, line in enumerate(bounded_lines(handle), start=1):
            if len(line) > MAX_MANIFEST_LINE_BYTES:
                raise KplateError(
                    f"{path}:{number}: line longer than {format_bytes(MAX_MANIFEST_LINE_BYTES)}; "
                    "not a kplate manifest"
                )
            if not line.endswith(b"\n") or not line.strip():
                continue
            try:
                yield json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise KplateError(f"{path}:{number}: not a JSON line: {line[:60]!r}") from None


def bounded_lines(handle: BinaryIO) -> Iterator[bytes]:
    """Lines of at most MAX_MANIFEST_LINE_BYTES + 1 bytes: a file with no newline is never
    read whole into memory (a longer line is cut there, and refused by the caller)."""
    while line := handle.readline(MAX_MANIFEST_LINE_BYTES + 1):
        yield line


def read_metadata(path: str | Path) -> list[dict[str, Any]]:
    """All entries of metadata.jsonl, for small datasets and tests; see `iter_metadata`."""
    return list(iter_metadata(path))


def write_derived_manifests(out: Path, *, lmdb: bool) -> int:
    """Rewrite labels.csv and gt.txt (and the LMDB when asked) from metadata.jsonl.

    Streams: memory stays flat however many images the run has. Returns the entry count.
    """
    count = 0
    with (
        atomic_writer(out / LABELS_CSV, "w") as labels,
        atomic_writer(out / GT_TXT, "w") as gt,
    ):
        rows = csv.writer(labels, lineterminator="\n")
        rows.writerow(["file", "text", "type"])
        for entry in iter_metadata(out / METADATA):
            count += 1
            text = entry.get("text") or ""
            rows.writerow([entry["file_name"], text, entry.get("type") or ""])
            if text:
                gt.write(f"{entry['file_name']}\t{text}\n")
    if lmdb:
        write_lmdb(out)
    return count


def write_lmdb(out: Path) -> None:
    """The deep-text-recognition-benchmark LMDB: image-%09d, label-%09d (1-based), num-samples.

    Built in a temporary folder and renamed, so a reader never opens a half-written one.
    """
    import shutil

    import lmdb

    final = out / LMDB_DIR
    building = out / f".{LMDB_DIR}.building"
    shutil.rmtree(building, ignore_errors=True)
    total = sum((out / e["file_name"]).stat().st_size for e in iter_metadata(out / METADATA))
    env = lmdb.open(str(building), map_size=max(1 << 24, total * 2 + (1 << 20)))
    count = 0
    txn = env.begin(write=True)
    for entry in iter_metadata(out / METADATA):
        if not entry.get("text"):
            continue
        count += 1
        txn.put(f"image-{count:09d}".encode(), (out / entry["file_name"]).read_bytes())
        txn.put(f"label-{count:09d}".encode(), entry["text"].encode("utf-8"))
        if count % 10_000 == 0:  # commit in chunks so one transaction never holds it all
            txn.commit()
            txn = env.begin(write=True)
    txn.put(b"num-samples", str(count).encode())
    txn.commit()
    env.close()
    shutil.rmtree(final, ignore_errors=True)
    building.rename(final)
