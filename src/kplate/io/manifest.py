"""Label manifests: `metadata.jsonl` (the Hugging Face imagefolder convention), `labels.csv`,
`gt.txt` (PaddleOCR, EasyOCR, deep-text-recognition-benchmark) and an optional LMDB.

`metadata.jsonl` is the source of truth while a run is in progress: it is appended one
line per finished image. The other manifests are derived from it when the run completes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from kplate.errors import KplateError
from kplate.io.files import atomic_write_text

METADATA = "metadata.jsonl"
LABELS_CSV = "labels.csv"
GT_TXT = "gt.txt"
LMDB_DIR = "lmdb"


def dumps_line(entry: dict[str, Any]) -> str:
    """One manifest line: compact JSON, Hangul kept readable, newline-terminated."""
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"


def read_metadata(path: str | Path, *, tolerate_torn_tail: bool = True) -> list[dict[str, Any]]:
    """Read metadata.jsonl. A last line cut short by a kill is dropped, not an error."""
    path = Path(path)
    entries: list[dict[str, Any]] = []
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    complete, tail = lines[:-1], lines[-1]
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise KplateError(f"{path}:{number}: not a JSON line: {line[:60]!r}") from None
    if tail.strip() and not tolerate_torn_tail:
        raise KplateError(f"{path}:{len(lines)}: last line is incomplete")
    return entries


def labels_csv_text(entries: Iterable[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "text", "type"])
    for entry in entries:
        writer.writerow([entry["file_name"], entry.get("text") or "", entry.get("type") or ""])
    return buffer.getvalue()


def gt_text(entries: Iterable[dict[str, Any]]) -> str:
    return "".join(
        f"{entry['file_name']}\t{entry['text']}\n" for entry in entries if entry.get("text")
    )


def write_derived_manifests(out: Path, entries: list[dict[str, Any]], *, lmdb: bool) -> None:
    """Rewrite labels.csv and gt.txt (and the LMDB when asked) from the metadata entries."""
    atomic_write_text(out / LABELS_CSV, labels_csv_text(entries))
    atomic_write_text(out / GT_TXT, gt_text(entries))
    if lmdb:
        write_lmdb(out, entries)


def write_lmdb(out: Path, entries: list[dict[str, Any]]) -> None:
    """The deep-text-recognition-benchmark LMDB: image-%09d, label-%09d (1-based), num-samples.

    Built in a temporary folder and renamed, so a reader never opens a half-written one.
    """
    import shutil

    import lmdb

    final = out / LMDB_DIR
    building = out / f".{LMDB_DIR}.building"
    shutil.rmtree(building, ignore_errors=True)
    total = sum((out / e["file_name"]).stat().st_size for e in entries)
    env = lmdb.open(str(building), map_size=max(1 << 24, total * 2 + (1 << 20)))
    with env.begin(write=True) as txn:
        for number, entry in enumerate(entries, start=1):
            txn.put(f"image-{number:09d}".encode(), (out / entry["file_name"]).read_bytes())
            txn.put(f"label-{number:09d}".encode(), entry["text"].encode("utf-8"))
        txn.put(b"num-samples", str(len(entries)).encode())
    env.close()
    shutil.rmtree(final, ignore_errors=True)
    building.rename(final)


def iter_labelled_images(root: str | Path) -> Iterator[tuple[Path, str, dict[str, Any] | None]]:
    """(image path, text, metadata entry or None) for a kplate dataset or a labels.csv folder."""
    root = Path(root)
    if (root / METADATA).is_file():
        for entry in read_metadata(root / METADATA):
            yield root / entry["file_name"], entry["text"], entry
        return
    if (root / LABELS_CSV).is_file():
        with open(root / LABELS_CSV, encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                yield root / row["file"], row["text"], None
        return
    raise KplateError(f"{root}: no {METADATA} or {LABELS_CSV} found")
