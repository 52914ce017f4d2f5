"""Build a GAN dataroot (trainA, trainB, testA, testB, dataset.json) from two domains.

The dataroot is built in a hidden temporary folder next to the target and renamed into
place only when complete, so an interrupted or failed run never leaves a half-built one.
See the package docstring for the re-run rules.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from kplate import __version__
from kplate.dataset.check import CorruptImage, Decoded, decode
from kplate.dataset.scan import Candidate, Domain, fingerprint_lines, scan_domain
from kplate.dataset.split import (
    Phase,
    group_key,
    phase_of,
    require_training_images,
    selection_order,
)
from kplate.errors import KplateError, OptionError
from kplate.io.files import atomic_write_text, folder_mode
from kplate.io.lock import BUSY, PathLock, is_locked
from kplate.io.manifest import dumps_strict
from kplate.io.paths import refuse_overlap
from kplate.io.run_folder import output_folder, refuse_unfinished
from kplate.limits import MAX_IMAGE_BYTES, read_limited

DATASET_JSON = "dataset.json"
SKIPPED_TXT = "skipped.txt"
SPLITS = ("trainA", "trainB", "testA", "testB")
FORMAT = 1
LOCK_SUFFIX = ".kplate.lock"


class Mode(StrEnum):
    COPY = "copy"
    LINK = "link"


@dataclass(frozen=True)
class DatasetOptions:
    """Everything that decides a dataroot's contents (plus `overwrite`, which does not)."""

    synthetic: Path
    real: Path
    out: Path
    test_fraction: float = 0.1
    max_images: int | None = None
    mode: Mode = Mode.COPY
    seed: int = 0
    phase: Phase | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.test_fraction < 1.0:
            raise OptionError(
                "test_fraction",
                f"{{option}} must be at least 0 and below 1, got {self.test_fraction}",
            )
        if self.max_images is not None and self.max_images < 1:
            raise OptionError("max_images", f"{{option}} must be 1 or more, got {self.max_images}")

    @property
    def phases(self) -> tuple[Phase, ...]:
        return (self.phase,) if self.phase else (Phase.TRAIN, Phase.TEST)

    def recorded(self) -> dict[str, Any]:
        return {
            "synthetic": str(self.synthetic.resolve()),
            "real": str(self.real.resolve()),
            "test_fraction": self.test_fraction,
            "max_images": self.max_images,
            "mode": self.mode.value,
            "seed": self.seed,
            "type": self.phase.value if self.phase else None,
        }


@dataclass
class BuildResult:
    out: Path
    counts: dict[str, int]
    skipped: list[dict[str, str]] = field(default_factory=list)
    up_to_date: bool = False
    stored: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        if self.up_to_date:
            return [f"{self.out}: up to date"]
        splits = ", ".join(f"{s} {self.counts[s]}" for s in SPLITS)
        stored = ", ".join(f"{k} {v}" for k, v in sorted(self.stored.items()) if v)
        head = f"dataroot {self.out}: {splits}" + (f" ({stored})" if stored else "")
        where = f" (listed in {self.out / SKIPPED_TXT})" if self.skipped else ""
        dups = self.counts.get("duplicates", 0)
        return [head, f"skipped {len(self.skipped)} unreadable files{where}, {dups} duplicates"]


def one_field(text: str) -> str:
    """A skipped.txt field on one line: tabs, newlines and other control characters in a
    file name are escaped (`\\n`), so each skipped file stays one line of three fields."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _read_existing(out: Path) -> dict[str, Any] | None:
    """The dataset.json of an existing dataroot, None for a free target; refuses other folders."""
    if not out.exists() and not out.is_symlink():
        return None
    if not out.is_dir():
        raise OptionError("out", f"{{option}} {out}: exists and is not a folder")
    if (out / DATASET_JSON).is_file():
        try:
            data = json.loads((out / DATASET_JSON).read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("splits"), dict):
                raise ValueError("no splits")
        except (OSError, ValueError):
            raise OptionError(
                "out",
                f"{{option}} {out}: {DATASET_JSON} is damaged; remove the folder or choose "
                "another {option}",
            ) from None
        _refuse_foreign(out, data)
        return data
    if any(out.iterdir()):
        raise OptionError(
            "out", f"{{option}} {out}: exists and is not a kplate dataroot (no {DATASET_JSON})"
        )
    return None


def _listed_files(document: dict[str, Any]) -> set[str]:
    """The image files a dataroot's dataset.json lists, as relative paths."""
    return {
        os.path.normpath(str(entry.get("file", "")))
        for split in SPLITS
        for entry in document["splits"].get(split, []) or []
        if isinstance(entry, dict)
    }


def _foreign_files(root: Path, document: dict[str, Any]) -> list[str]:
    """What in a dataroot its dataset.json does not account for: kplate writes only
    dataset.json, skipped.txt, the four split folders and the files listed in them."""
    listed = _listed_files(document) | {DATASET_JSON, SKIPPED_TXT}
    foreign = []
    for rel in sorted(os.listdir(root)):
        path = root / rel
        if rel in SPLITS and path.is_dir() and not path.is_symlink():
            foreign += [f"{rel}/{name}" for name in sorted(os.listdir(path))
                        if f"{rel}/{name}" not in listed]  # fmt: skip
        elif rel not in listed or rel in SPLITS:
            foreign.append(rel)
    return foreign


def _refuse_foreign(out: Path, document: dict[str, Any]) -> None:
    foreign = _foreign_files(out, document)
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise OptionError(
            "out",
            f"{{option}} {out}: holds {', '.join(foreign[:3])}{more}, which kplate did not "
            f"write (not in its {DATASET_JSON}); move it away or choose another {{option}}",
        )


def _remove_dataroot(root: Path) -> None:
    """Delete a dataroot that kplate built, file by file as its dataset.json lists them,
    then its folders when that leaves them empty: whatever else is there stays. A link
    in its place is removed as a link: nothing is deleted through it."""
    if root.is_symlink():
        root.unlink()
        return
    try:
        document = json.loads((root / DATASET_JSON).read_text(encoding="utf-8"))
        listed = _listed_files(document)
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        listed = set()
    for rel in sorted(listed):
        if "/" in rel and rel.split("/", 1)[0] in SPLITS and ".." not in Path(rel).parts:
            with contextlib.suppress(OSError):
                (root / rel).unlink()
    for name in (SKIPPED_TXT, DATASET_JSON):
        with contextlib.suppress(OSError):
            (root / name).unlink()
    for name in SPLITS:
        with contextlib.suppress(OSError):
            (root / name).rmdir()
    with contextlib.suppress(OSError):
        root.rmdir()


def _digest(options: DatasetOptions, domains: tuple[Domain, Domain]) -> str:
    lines = [json.dumps(options.recorded(), sort_keys=True), f"format {FORMAT}"]
    for domain in domains:
        lines += fingerprint_lines(domain)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _is_up_to_date(
    existing: dict[str, Any], out: Path, digest: str, phases: tuple[Phase, ...]
) -> bool:
    builds = existing.get("builds", {})
    if any(builds.get(p.value) != digest for p in phases):
        return False
    return all(
        os.path.lexists(out / entry["file"])
        for split in SPLITS
        if split.startswith(tuple(p.value for p in phases))
        for entry in existing["splits"].get(split, [])
    )


@contextmanager
def building(out: Path, remove_previous: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """A temporary folder next to `out`, renamed onto it on success, removed on any failure.

    A folder already at `out` is moved aside first and then deleted by `remove_previous`
    (default: a dataroot, as its dataset.json lists it), which removes only what kplate
    wrote there. Call it holding `build_lock(out)`."""
    remove_previous = remove_previous or _remove_dataroot
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    except OSError as error:
        raise OptionError(
            "out", f"{{option}} {out}: cannot create it here ({error.strerror})"
        ) from None
    try:
        yield tmp
        os.chmod(tmp, folder_mode())  # mkdtemp's folder is 0700; the user's umask decides
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "dataroot")
        os.replace(tmp, out)
        if old is not None:
            remove_previous(old / "dataroot")
            with contextlib.suppress(OSError):
                old.rmdir()
    except OSError as error:  # disk full, permissions: one line, nothing left behind
        shutil.rmtree(tmp, ignore_errors=True)
        where = error.filename or out
        raise OptionError(
            "out", f"{{option}} {out}: cannot write {where} ({error.strerror})"
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def store_image(target: Path, source: Path, data: bytes, decoded: Decoded, mode: Mode) -> str:
    """Store one accepted image at `target`: converted pixels as PNG, else by a link to
    `source` (mode link, where links are allowed) or a copy of its bytes. Returns how:
    "converted", "link" or "copy"."""
    if decoded.converted is not None:
        decoded.converted.save(target, format="PNG", compress_level=1)
        return "converted"
    if mode is Mode.LINK:
        try:
            os.symlink(source.resolve(), target)
            return "link"
        except OSError:
            pass  # links not allowed here (some file systems, Windows): copy instead
    target.write_bytes(data)
    return "copy"


def unique_images(
    domain: Domain,
    seed: int,
    skipped: list[dict[str, str]],
    duplicates: list[dict[str, str]],
    tag: dict[str, str] | None = None,
) -> Iterator[tuple[Candidate, bytes, Decoded]]:
    """The domain's usable images in a seeded order, each decoded in full and yielded once:
    unreadable files go to `skipped`, repeats of an earlier image to `duplicates` (each
    record carrying `tag`). The caller stops when it has enough."""
    tag = tag or {}
    seen: dict[str, str] = {}
    for candidate in selection_order(domain.candidates, lambda c: c.name, seed):
        source = str(candidate.path)
        try:
            # Bounded: a FIFO, a device or a link to one is never opened, and a file over
            # MAX_IMAGE_BYTES never read (an OSError, reported as a skipped file).
            data = read_limited(candidate.path, MAX_IMAGE_BYTES)
            decoded = decode(data)
        except OSError as error:
            skipped.append({**tag, "source": source, "reason": f"cannot read ({error.strerror})"})
            continue
        except CorruptImage as error:
            skipped.append({**tag, "source": source, "reason": str(error)})
            continue
        if decoded.sha256 in seen:
            duplicates.append({**tag, "source": source, "same_as": seen[decoded.sha256]})
            continue
        seen[decoded.sha256] = source
        yield candidate, data, decoded


def refuse_unreadable(domain: Domain, flag: str) -> None:
    raise KplateError(
        f"{flag} {domain.root}: none of its {len(domain.candidates)} images could be read"
    )


class _Writer:
    """Stores one accepted image under a safe numbered name, by link, copy or conversion."""

    def __init__(self, tmp: Path, mode: Mode) -> None:
        self.tmp, self.mode = tmp, mode
        self.next_index = dict.fromkeys(SPLITS, 0)
        self.stored = {"copied": 0, "linked": 0, "converted": 0}

    def write(self, split: str, source: Path, data: bytes, decoded: Decoded) -> tuple[str, str]:
        index = self.next_index[split]
        self.next_index[split] += 1
        name = f"{split}/{index:06d}{decoded.suffix}"
        stored = store_image(self.tmp / name, source, data, decoded, self.mode)
        self.stored[{"converted": "converted", "link": "linked", "copy": "copied"}[stored]] += 1
        return name, stored


def _fill_domain(
    domain: Domain,
    letter: str,
    options: DatasetOptions,
    writer: _Writer,
    splits: dict[str, list[dict[str, Any]]],
    skipped: list[dict[str, str]],
    duplicates: list[dict[str, str]],
    flag: str,
) -> None:
    accepted = 0
    readable = False
    for candidate, data, decoded in unique_images(
        domain, options.seed, skipped, duplicates, {"domain": letter}
    ):
        readable = True
        phase = phase_of(
            group_key(candidate.text, decoded.sha256), options.seed, options.test_fraction
        )
        if phase not in options.phases:
            continue
        split = f"{phase.value}{letter}"
        name, stored = writer.write(split, candidate.path, data, decoded)
        splits[split].append(
            {
                "file": name,
                "source": str(candidate.path),
                "text": candidate.text,
                "sha256": decoded.sha256,
                "stored": stored,
            }
        )
        accepted += 1
        if options.max_images is not None and accepted >= options.max_images:
            break
    if not readable:
        refuse_unreadable(domain, flag)


def _carry_over(
    existing: dict[str, Any], old_out: Path, tmp: Path, keep: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """The other phase of an existing dataroot, moved into the new build (links stay links)."""
    kept: dict[str, list[dict[str, Any]]] = {}
    for split in keep:
        kept[split] = list(existing["splits"].get(split, []))
        for entry in kept[split]:
            source, target = old_out / entry["file"], tmp / entry["file"]
            if not os.path.lexists(source):
                raise OptionError(
                    "out",
                    f"{{option}} {old_out}: {entry['file']} is missing; "
                    "rebuild with {overwrite} and no {phase}",
                    also=("overwrite", "phase"),
                )
            if source.is_symlink():
                os.symlink(os.readlink(source), target)
            else:
                try:
                    os.link(source, target)
                except OSError:
                    shutil.copyfile(source, target)
    return kept


def _check_merge(existing: dict[str, Any], options: DatasetOptions) -> None:
    previous = existing.get("options", {})
    for key in ("seed", "test_fraction"):
        if previous.get(key) != options.recorded()[key]:
            raise OptionError(
                "out",
                f"{{option}} {options.out}: was built with {{{key}}} {previous.get(key)}; use "
                f"the same value so {{phase}} {options.phase} cannot put a plate on both sides, "
                "or rebuild all of it with {overwrite} and no {phase}",
                also=(key, "phase", "overwrite"),
            )


def build_dataset(options: DatasetOptions) -> BuildResult:
    """Build (or confirm up to date) the dataroot that `options` describes.

    Every check is made before anything is written. The build holds a lock beside the
    target (`.NAME.kplate.lock` in its parent, removed at the end), which stays valid
    while the finished build is renamed onto the target."""
    out = options.out
    output_folder(out)
    refuse_overlap(out, [("synthetic", options.synthetic), ("real", options.real)])
    refuse_unfinished(options.synthetic, "synthetic")
    refuse_unfinished(options.real, "real")
    if is_locked(build_lock_path(out)):
        raise OptionError("out", f"{out}: {BUSY}")
    existing = _read_existing(out)
    domains = (
        scan_domain(options.synthetic, "--synthetic", exclude=(out,)),
        scan_domain(options.real, "--real", exclude=(out,)),
    )
    digest = _digest(options, domains)
    if _up_to_date_or_refuse(options, existing, digest):
        return BuildResult(out, existing.get("counts", {}), up_to_date=True)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OptionError(
            "out", f"{{option}} {out}: cannot create it here ({error.strerror})"
        ) from None
    with PathLock(build_lock_path(out), out):
        remove_build_leftovers(out)
        existing = _read_existing(out)  # again, now that no other build can change it
        if _up_to_date_or_refuse(options, existing, digest):
            return BuildResult(out, existing.get("counts", {}), up_to_date=True)
        return _build(options, existing, domains, digest)


def build_lock_path(out: Path) -> Path:
    """The build lock: beside the target, so that it outlives the rename onto it."""
    return out.parent / f".{out.name}{LOCK_SUFFIX}"


def remove_build_leftovers(
    out: Path, record: str = DATASET_JSON, remove_previous: Callable[[Path], None] | None = None
) -> None:
    """What a killed build of this target left beside it: its `.NAME.building-*` copy
    and a `.NAME.old-*` folder it was replacing (recognised by its `record` file, removed
    by `remove_previous`). Only called holding the lock, so no live build owns them."""
    remove_previous = remove_previous or _remove_dataroot
    for path in out.parent.glob(f".{glob.escape(out.name)}.building-*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
    for path in out.parent.glob(f".{glob.escape(out.name)}.old-*"):
        if path.is_dir() and not path.is_symlink():
            previous = path / "dataroot"
            if not os.path.lexists(out) and (previous / record).is_file():
                os.replace(previous, out)  # killed between the two renames: put it back
            remove_previous(previous)
            with contextlib.suppress(OSError):
                path.rmdir()


def _up_to_date_or_refuse(
    options: DatasetOptions, existing: dict[str, Any] | None, digest: str
) -> bool:
    """True when the dataroot already is what `options` asks for; raises when it holds
    something else that this run may not replace; False when it is to be built."""
    if existing is None:
        return False
    if _is_up_to_date(existing, options.out, digest, options.phases):
        return True
    built = set(existing.get("builds", {}))
    adding = options.phase is not None and options.phase.value not in built
    if not (options.overwrite or adding):
        raise OptionError(
            "out",
            f"{{option}} {options.out}: holds a kplate dataroot built from other inputs or "
            "options; pass {overwrite} to rebuild it",
            also=("overwrite",),
        )
    return False


def _build(
    options: DatasetOptions,
    existing: dict[str, Any] | None,
    domains: tuple[Domain, Domain],
    digest: str,
) -> BuildResult:
    out = options.out
    phases = options.phases
    keep = [s for s in SPLITS if not s.startswith(tuple(p.value for p in phases))]
    carry = existing is not None and options.phase is not None
    if carry:
        _check_merge(existing, options)
    splits: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    skipped: list[dict[str, str]] = []
    duplicates: list[dict[str, str]] = []
    builds = {p.value: digest for p in phases}
    with building(out) as tmp:
        for split in SPLITS:
            (tmp / split).mkdir()
        if carry:
            splits.update(_carry_over(existing, out, tmp, keep))
            builds = {
                **{k: v for k, v in existing.get("builds", {}).items() if k not in builds},
                **builds,
            }
        writer = _Writer(tmp, options.mode)
        for domain, letter, flag in zip(domains, "AB", ("--synthetic", "--real"), strict=True):
            _fill_domain(domain, letter, options, writer, splits, skipped, duplicates, flag)
        counts = {s: len(splits[s]) for s in SPLITS}
        if Phase.TRAIN in options.phases:
            require_training_images(counts, options.test_fraction)
        counts["skipped"] = len(skipped)
        counts["duplicates"] = len(duplicates)
        document = {
            "kplate": __version__,
            "format": FORMAT,
            "splits": splits,
            "counts": counts,
            "skipped": skipped,
            "duplicates": duplicates,
            "options": options.recorded(),
            "builds": builds,
        }
        if skipped:
            atomic_write_text(
                tmp / SKIPPED_TXT,
                "".join(
                    f"{s['domain']}\t{one_field(s['source'])}\t{one_field(s['reason'])}\n"
                    for s in skipped
                ),
            )
        atomic_write_text(
            tmp / DATASET_JSON,
            dumps_strict(document, str(out / DATASET_JSON), ensure_ascii=False, indent=1) + "\n",
        )
    return BuildResult(out, counts, skipped, stored=writer.stored)
