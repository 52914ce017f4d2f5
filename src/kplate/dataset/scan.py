"""Find a domain's images and their labels.

A folder with `metadata.jsonl` (a `kplate generate` output) or `labels.csv` (`file,text`)
is read through its manifest, keeping the labels; any other folder is walked recursively
for jpg/jpeg/png/bmp/webp files in any letter case. Hidden files and folders (names starting
with '.', such as macOS `._x.jpg` companions) are not images and are left out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kplate.dataset.split import normalise_text
from kplate.errors import KplateError
from kplate.io.images import IMAGE_SUFFIXES, is_image_name, iter_labels, label_manifest
from kplate.io.manifest import METADATA


@dataclass(frozen=True)
class Candidate:
    """One file that may become a training image; `name` is its path relative to the root."""

    path: Path
    name: str
    text: str | None


@dataclass(frozen=True)
class Domain:
    root: Path
    kind: str  # "kplate", "labels.csv" or "folder"
    candidates: tuple[Candidate, ...]
    manifest: Path | None


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _walk(root: Path, exclude: set[Path]) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):  # does not follow folder links: no loops
        here = Path(folder)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and (here / d).resolve() not in exclude
        )
        found.extend(here / f for f in sorted(files) if not f.startswith(".") and is_image_name(f))
    return found


def scan_domain(root: Path, flag: str, *, exclude: tuple[Path, ...] = ()) -> Domain:
    """The candidates of one domain; `flag` names the option in error messages."""
    if not root.exists():
        raise KplateError(f"{flag} {root}: no such folder")
    if not root.is_dir():
        raise KplateError(f"{flag} {root}: not a folder")
    root = root.resolve()
    manifest = label_manifest(root)
    if manifest is not None:
        kind = "kplate" if manifest.name == METADATA else "labels.csv"
        try:
            rows = [
                Candidate(row.path, _relative(row.path, root), normalise_text(row.text))
                for row in iter_labels(root)
            ]
        except (KeyError, TypeError) as error:
            raise KplateError(f"{manifest}: missing column or field {error}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise KplateError(f"{manifest}: cannot read ({error})") from None
    else:
        kind = "folder"
        excluded = {p.resolve() for p in exclude}
        rows = [Candidate(p, _relative(p, root), None) for p in _walk(root, excluded)]
    if not rows:
        suffixes = ", ".join(sorted(s.lstrip(".") for s in IMAGE_SUFFIXES))
        raise KplateError(f"{flag} {root}: no images ({suffixes}) found")
    return Domain(root, kind, tuple(rows), manifest)


def fingerprint_lines(domain: Domain) -> list[str]:
    """Cheap evidence that the inputs are unchanged: name, size and mtime of every file."""
    lines = [f"{domain.kind} {domain.root}"]
    files = [domain.manifest] if domain.manifest else []
    files += [c.path for c in domain.candidates]
    for path in files:
        try:
            stat = path.stat()
            lines.append(f"{path}\t{stat.st_size}\t{stat.st_mtime_ns}")
        except OSError:
            lines.append(f"{path}\tmissing")
    return lines
