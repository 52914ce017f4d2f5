"""The earlier project's `make_dataset.py`: copy each domain into the folder named for it.

Its documented command is

    make_dataset.py --in_im_paths SYNTHETIC --out_im_paths REAL --trainA DEST_A --trainB DEST_B --type train

`--in_im_paths` is the synthetic source, `--out_im_paths` the real source, and `--trainA` /
`--trainB` are the folders the two domains are copied into (for `--type test`, the user
names the test folders there). The old script copied every image; the train/test split
came from the user's choice of source folders, not from a hash. `copy_domains` keeps that
meaning and adds what `kplate dataset` guarantees: every image decoded before it is
kept, identical files kept once, `--num_imgs` obeyed by a seeded sample, safe numbered
names, and each destination built in a temporary folder and renamed into place.

Each destination gets `NNNNNN.<ext>` images, `labels.csv` (`file,text`) when the source
had labels, `skipped.txt` for unusable files, and `domain.json`, the record that says
kplate wrote the folder: a re-run with the same inputs is "up to date", and `--overwrite`
only ever replaces a folder whose `domain.json` lists every file in it.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kplate import __version__
from kplate.dataset.build import (
    SKIPPED_TXT,
    Mode,
    build_lock_path,
    building,
    one_field,
    refuse_unreadable,
    remove_build_leftovers,
    store_image,
    unique_images,
)
from kplate.dataset.scan import Domain, fingerprint_lines, scan_domain
from kplate.dataset.split import Phase
from kplate.errors import KplateError, OptionError
from kplate.io.files import atomic_write_text
from kplate.io.lock import BUSY, PathLock, is_locked
from kplate.io.manifest import LABELS_CSV, dumps_strict
from kplate.io.paths import refuse_overlap
from kplate.io.run_folder import output_folder, refuse_unfinished

DOMAIN_JSON = "domain.json"


@dataclass(frozen=True)
class CopyTarget:
    """One domain: where it comes from, where it goes, and the flags that named them."""

    source: Path
    dest: Path
    source_flag: str
    dest_flag: str


@dataclass
class CopyResult:
    dest: Path
    flag: str
    counts: dict[str, int] = field(default_factory=dict)
    up_to_date: bool = False

    def line(self) -> str:
        if self.up_to_date:
            return f"{self.flag} {self.dest}: up to date"
        c = self.counts
        return (
            f"{self.flag} {self.dest}: {c['images']} images ({c['skipped']} unreadable skipped, "
            f"{c['duplicates']} duplicates)"
        )


def _digest(domain: Domain, options: dict[str, Any]) -> str:
    lines = [json.dumps(options, sort_keys=True), *fingerprint_lines(domain)]
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _existing_record(dest: Path, flag: str) -> dict[str, Any] | None:
    """The destination's domain.json, None for a free folder; refuses a folder that holds
    anything kplate did not write there."""
    if not dest.exists() and not dest.is_symlink():
        return None
    if not dest.is_dir():
        raise KplateError(f"{flag} {dest}: exists and is not a folder")
    present = {p.name for p in dest.iterdir()}
    if not present:
        return None
    try:
        record = json.loads((dest / DOMAIN_JSON).read_text(encoding="utf-8"))
        owned = set(record["files"]) | {DOMAIN_JSON, LABELS_CSV, SKIPPED_TXT}
    except (OSError, ValueError, KeyError, TypeError):
        raise KplateError(
            f"{flag} {dest}: folder is not empty and was not written by kplate; "
            "choose an empty or new folder"
        ) from None
    foreign = sorted(present - owned)
    if foreign:
        raise KplateError(
            f"{flag} {dest}: holds files kplate did not write ({foreign[0]}); "
            "choose an empty or new folder"
        )
    return record


def _remove_copy(root: Path) -> None:
    """Delete a destination kplate filled, file by file as its domain.json lists them, then
    the folder if that leaves it empty; a link in its place is removed as a link."""
    if root.is_symlink():
        root.unlink()
        return
    try:
        listed = json.loads((root / DOMAIN_JSON).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        listed = []
    for name in [*listed, LABELS_CSV, SKIPPED_TXT, DOMAIN_JSON]:
        if "/" not in str(name) and str(name) not in {"", ".", ".."}:
            with contextlib.suppress(OSError):
                (root / str(name)).unlink()
    with contextlib.suppress(OSError):
        root.rmdir()


def _copy_one(
    target: CopyTarget,
    domain: Domain,
    tmp: Path,
    options: dict[str, Any],
    mode: Mode,
    digest: str,
) -> dict[str, Any]:
    """Fill `tmp` with the chosen images of one domain; returns its domain.json record."""
    files: list[str] = []
    labels: list[tuple[str, str]] = []
    skipped: list[dict[str, str]] = []
    duplicates: list[dict[str, str]] = []
    for candidate, data, decoded in unique_images(domain, options["seed"], skipped, duplicates):
        name = f"{len(files):06d}{decoded.suffix}"
        store_image(tmp / name, candidate.path, data, decoded, mode)
        files.append(name)
        if candidate.text is not None:
            labels.append((name, candidate.text))
        if options["max_images"] is not None and len(files) >= options["max_images"]:
            break
    if not files:
        refuse_unreadable(domain, target.source_flag)
    if labels:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["file", "text"])
        writer.writerows(labels)
        atomic_write_text(tmp / LABELS_CSV, buffer.getvalue())
    if skipped:
        atomic_write_text(
            tmp / SKIPPED_TXT,
            "".join(f"{one_field(s['source'])}\t{one_field(s['reason'])}\n" for s in skipped),
        )
    return {
        "kplate": __version__,
        "source": str(target.source.resolve()),
        "options": options,
        "digest": digest,
        "files": files,
        "counts": {"images": len(files), "skipped": len(skipped), "duplicates": len(duplicates)},
        "skipped": skipped,
    }


def copy_domains(
    targets: list[CopyTarget],
    *,
    phase: Phase,
    max_images: int | None = None,
    seed: int = 0,
    mode: Mode = Mode.COPY,
    overwrite: bool = False,
) -> list[CopyResult]:
    """Copy each target's source into its destination; every check runs before any write."""
    options = {"type": phase.value, "max_images": max_images, "seed": seed, "mode": mode.value}
    if max_images is not None and max_images < 1:
        raise OptionError("max_images", f"{{option}} must be 1 or more, got {max_images}")
    sources = [(t.source_flag, t.source) for t in targets]
    dests = [(t.dest_flag, t.dest) for t in targets]
    for target in targets:
        output_folder(target.dest, target.dest_flag)
        refuse_overlap(target.dest, sources, out_flag=target.dest_flag)
        refuse_unfinished(target.source, target.source_flag)
        if is_locked(build_lock_path(target.dest)):
            raise KplateError(
                f"{target.dest_flag} {target.dest}: {BUSY}".replace("{option}", target.dest_flag)
            )
        others = [d for d in dests if d[0] != target.dest_flag]
        refuse_overlap(target.dest, others, out_flag=target.dest_flag)
    plans = []
    for target in targets:
        record = _existing_record(target.dest, target.dest_flag)
        domain = scan_domain(target.source, target.source_flag, exclude=(target.dest,))
        digest = _digest(domain, options)
        current = record is not None and record.get("digest") == digest
        if record is not None and not current and not overwrite:
            raise KplateError(
                f"{target.dest_flag} {target.dest}: holds a kplate copy of other inputs or "
                "options; pass --overwrite to replace it"
            )
        plans.append((target, domain, digest, current))
    results = []
    for target, domain, digest, current in plans:
        if current:
            results.append(CopyResult(target.dest, target.dest_flag, up_to_date=True))
            continue
        try:
            target.dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise KplateError(
                f"{target.dest_flag} {target.dest}: cannot create it here ({error.strerror})"
            ) from None
        with PathLock(build_lock_path(target.dest), target.dest, target.dest_flag):
            remove_build_leftovers(target.dest, DOMAIN_JSON, _remove_copy)
            with building(target.dest, _remove_copy) as tmp:
                record = _copy_one(target, domain, tmp, options, mode, digest)
                text = dumps_strict(record, str(DOMAIN_JSON), ensure_ascii=False, indent=1)
                atomic_write_text(tmp / DOMAIN_JSON, text + "\n")
        results.append(CopyResult(target.dest, target.dest_flag, record["counts"]))
    return results
