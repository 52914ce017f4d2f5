"""`kplate merge`: the shard folders of one generate run, combined into the folder a single
run would have written, byte for byte.

Shards come from elsewhere (another machine, a copied disk), so nothing in them is
trusted. Every shard is checked in full before anything is written: it is a finished
shard of the same run as the others, the shards hold each shard I of N exactly once, and
every manifest entry is re-validated (its index belongs to the shard, in order; its text
and type are canonical for the plate grammar; its image is a regular file inside the
shard's `images/`). The merged file names are computed here, never taken from a shard,
so nothing can land outside `--out`. Checking streams, so memory stays flat in the
number of plates; the writing pass checks every entry again as it copies it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from kplate.errors import KplateError, OptionError
from kplate.extras import require
from kplate.io.lock import LOCK_FILE
from kplate.io.manifest import METADATA, dumps_line
from kplate.io.naming import FileNaming, ImageFormat, file_name_for, index_digits
from kplate.io.paths import real_path, refuse_overlap
from kplate.io.run_folder import (
    IMAGES,
    RUN_FILE,
    SUMMARY_FILE,
    RunFolder,
)
from kplate.limits import MAX_MANIFEST_LINE_BYTES
from kplate.numbers import validate

NOT_A_SHARD = "not a kplate generate shard"


def merge_shards(shards: list[Path], out: Path, *, lmdb: bool = False) -> int:
    """Combine shard folders of one run into the folder a single run would have written.

    Refuses (one line, nothing written) unless every shard passes every check; returns
    the number of plates merged.
    """
    if not shards:
        raise KplateError("no shard folders given")
    if lmdb:
        require("lmdb", needed_for="--lmdb")
    refuse_overlap(out, [("shard", shard) for shard in shards])
    run, ordered = _check_shards(shards)
    _check_out(out, run.fingerprint)
    for shard in ordered:
        for _ in _entries(shard, run):
            pass
    return _write(ordered, run, out, lmdb)


# -- the shards as a whole ----------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """What every shard of the run shares, read from the first shard's run.json."""

    fingerprint: dict[str, Any]  # the merged folder's run.json: the shards' with shard None
    shard_count: int  # N
    total: int
    naming: FileNaming
    image_format: ImageFormat
    plates: list[list[str]] | None  # a CSV run's (text, type) rows, else None
    types: frozenset[str]

    @property
    def digits(self) -> int:
        return index_digits(self.total)


@dataclass(frozen=True)
class _Shard:
    path: Path
    number: int  # I of I/N


def _check_shards(paths: list[Path]) -> tuple[_Run, list[_Shard]]:
    """Every shard finished and of one run, each shard I of N given exactly once.

    Only the first shard's run.json is kept: the others are compared with it and dropped
    (a CSV run's run.json holds every plate)."""
    first: tuple[Path, dict[str, Any], _Run] | None = None
    by_number: dict[int, Path] = {}
    for path in paths:
        fingerprint, number, shard_count = _read_run(path)
        _check_finished(path)
        if first is None:
            first = (path, fingerprint, _run_of(fingerprint, shard_count))
        else:
            _check_same_run(path, fingerprint, shard_count, first)
        if number in by_number:
            same = real_path(path) == real_path(by_number[number])
            also = "given twice" if same else f"{by_number[number]} is that shard too"
            raise KplateError(
                f"{path}: is shard {number}/{shard_count} again ({also}); give each shard once"
            )
        by_number[number] = path
    assert first is not None
    run = first[2]
    if len(by_number) < run.shard_count:
        missing = next(i for i in range(run.shard_count) if i not in by_number)
        given = ", ".join(f"{i}/{run.shard_count}" for i in sorted(by_number))
        raise KplateError(
            f"shard {missing}/{run.shard_count} is missing ({len(by_number)} of "
            f"{run.shard_count} given: {given}); merge needs every shard of the run"
        )
    return run, [_Shard(by_number[i], i) for i in range(run.shard_count)]


def _read_run(shard: Path) -> tuple[dict[str, Any], int, int]:
    """run.json of a shard, checked for what merge relies on: (fingerprint, I, N)."""
    if not shard.is_dir():
        what = "no such folder" if not shard.exists() else "not a folder"
        raise KplateError(f"{shard}: {what}; {NOT_A_SHARD}")
    path = shard / RUN_FILE
    run = _load_json(path, f"{shard} is {NOT_A_SHARD}")

    def need(ok: bool, what: str) -> None:
        if not ok:
            raise KplateError(f"{path}: {what}; {shard} is {NOT_A_SHARD}")

    need(isinstance(run, dict), "not a JSON object")
    if run.get("format") is not None:
        raise KplateError(
            f"{shard}: a --format {_show(run['format'], 20)} run needs no merge: its shard-* "
            "files are complete as they are; give the loader every job's files (docs/scale.md)"
        )
    config = run.get("config")
    need(isinstance(config, dict), "'config' must be an object")
    need(isinstance(run.get("kplate"), str), "'kplate' must be a version string")
    naming = run.get("naming")
    need(_one_of(naming, FileNaming), f"'naming' must be index or label, got {_show(naming)}")
    fmt = config.get("image_format")
    need(_one_of(fmt, ImageFormat), f"'config.image_format' must be jpg or png, got {_show(fmt)}")
    count = config.get("count")
    need(_is_int(count) and count >= 0, f"'config.count' must be 0 or more, got {_show(count)}")
    types = config.get("types")
    need(
        isinstance(types, list) and bool(types) and all(isinstance(t, str) for t in types),
        "'config.types' must be a list of type ids",
    )
    plates = config.get("plates")
    need(
        plates is None or (isinstance(plates, list) and all(_is_plate_row(row) for row in plates)),
        "'config.plates' must be null or a list of [text, type] rows",
    )
    shard_field = run.get("shard")
    if shard_field is None:
        return run, 0, 1
    need(
        isinstance(shard_field, list)
        and len(shard_field) == 2
        and all(_is_int(v) for v in shard_field)
        and 0 <= shard_field[0] < shard_field[1],
        f"'shard' must be [I, N] with 0 <= I < N, got {_show(shard_field)}",
    )
    return run, shard_field[0], shard_field[1]


def _run_of(fingerprint: dict[str, Any], shard_count: int) -> _Run:
    config = fingerprint["config"]
    plates = config["plates"]
    return _Run(
        fingerprint={**fingerprint, "shard": None},
        shard_count=shard_count,
        total=len(plates) if plates is not None else config["count"],
        naming=FileNaming(fingerprint["naming"]),
        image_format=ImageFormat(config["image_format"]),
        plates=plates,
        types=frozenset(config["types"]),
    )


def _check_finished(shard: Path) -> None:
    path = shard / SUMMARY_FILE
    hint = f"{shard} is unfinished; re-run its kplate generate command to finish it"
    summary = _load_json(path, hint)
    if not isinstance(summary, dict) or summary.get("complete") is not True:
        raise KplateError(f"{path}: does not say complete; {hint}")


def _check_same_run(
    path: Path,
    fingerprint: dict[str, Any],
    shard_count: int,
    first: tuple[Path, dict[str, Any], _Run],
) -> None:
    """The same fingerprint as the first shard's but for the shard field: config, naming
    and kplate version, and the same N."""
    first_path, first_fingerprint, run = first
    if shard_count != run.shard_count:
        raise KplateError(
            f"{path}: is a shard of {shard_count}, {first_path} a shard of {run.shard_count}: "
            "the shards were split with different --shard N"
        )
    keys = (fingerprint.keys() | first_fingerprint.keys()) - {"shard"}
    differ = sorted(k for k in keys if fingerprint.get(k) != first_fingerprint.get(k))
    if differ:
        if differ == ["config"]:
            mine, theirs = fingerprint["config"], first_fingerprint["config"]
            differ = sorted(
                f"config.{k}" for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k)
            )
        raise KplateError(
            f"{path}: belongs to a different run than {first_path} (run.json differs in "
            f"{', '.join(_show(k, 40) for k in differ[:5])})"
        )


# -- the output folder ----------------------------------------------------------------------


def _check_out(out: Path, fingerprint: dict[str, Any]) -> None:
    """Merge writes into a new or empty folder, or over an earlier merge of the same run
    (to finish or repeat it); it has no --overwrite, so it never replaces anything else."""
    if not out.exists():
        if out.is_symlink():
            raise OptionError(
                "out", f"{{option}} {out}: is a link to nothing; choose another {{option}}"
            )
        return
    if not out.is_dir():
        raise OptionError(
            "out", f"{{option}} {out}: exists and is not a folder; choose another {{option}}"
        )
    run_file = out / RUN_FILE
    if run_file.is_file():
        try:
            previous = json.loads(run_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = None
        if previous == fingerprint:
            return
        raise OptionError(
            "out",
            f"{{option}} {out}: holds a different kplate run; merge writes only into a new "
            "or empty folder, or over the same merge: choose another {option}",
        )
    try:
        content = [p for p in out.iterdir() if p.name != LOCK_FILE]
    except OSError as error:
        raise OptionError("out", f"{{option}} {out}: cannot read ({error.strerror})") from None
    if content:
        raise OptionError(
            "out", f"{{option}} {out}: folder is not empty; choose another {{option}}"
        )


# -- one shard's entries ------------------------------------------------------------------


def _entries(shard: _Shard, run: _Run) -> Iterator[tuple[dict[str, Any], str]]:
    """Each manifest entry of the shard, checked, with the real path of its image.

    The shard must hold exactly its indices I, I+N, ... below the run's total, in order."""
    manifest = shard.path / METADATA
    expected = range(shard.number, run.total, run.shard_count)
    images = _Images(shard.path, run)
    with _open_regular(manifest, f"{shard.path} is {NOT_A_SHARD}") as handle:
        for line_number, index in enumerate(expected, start=1):
            where = f"{manifest}:{line_number}"
            line = _read_line(handle, manifest)
            if not line:
                raise KplateError(
                    f"{where}: the manifest ends after {line_number - 1} entries; shard "
                    f"{shard.number}/{run.shard_count} of a run of {run.total} plates holds "
                    f"{len(expected)}"
                )
            entry = _parse_line(line, where)
            _check_index(entry, index, where, shard, run)
            _check_label(entry, index, where, run)
            yield entry, images.source(entry, where)
        if _read_line(handle, manifest):
            raise KplateError(
                f"{manifest}:{len(expected) + 1}: more entries than the {len(expected)} of "
                f"shard {shard.number}/{run.shard_count}"
            )


def _read_line(handle: BinaryIO, manifest: Path) -> bytes:
    try:
        return handle.readline(MAX_MANIFEST_LINE_BYTES + 1)
    except OSError as error:
        raise KplateError(f"{manifest}: cannot read ({error.strerror})") from None


def _parse_line(line: bytes, where: str) -> dict[str, Any]:
    if len(line) > MAX_MANIFEST_LINE_BYTES:
        raise KplateError(f"{where}: line longer than {MAX_MANIFEST_LINE_BYTES} bytes")
    if not line.endswith(b"\n"):
        raise KplateError(f"{where}: the last line is cut short (no newline)")
    try:
        entry = _strict_json(line)
    except (ValueError, RecursionError):
        raise KplateError(f"{where}: not a JSON line: {_show(line, 60)}") from None
    if not isinstance(entry, dict):
        raise KplateError(f"{where}: not a JSON object: {_show(line, 60)}")
    return entry


def _check_index(entry: dict[str, Any], index: int, where: str, shard: _Shard, run: _Run) -> None:
    value = entry.get("index")
    if value == index and _is_int(value):
        return
    if not _is_int(value):
        raise KplateError(f"{where}: 'index' must be an integer, got {_show(value)}")
    of_shard = f"shard {shard.number}/{run.shard_count}"
    if not 0 <= value < run.total or value % run.shard_count != shard.number:
        raise KplateError(
            f"{where}: index {_show(value)} does not belong to {of_shard} of a run of "
            f"{run.total} plates"
        )
    if value < index:
        raise KplateError(f"{where}: index {value} repeats or is out of order (expected {index})")
    raise KplateError(f"{where}: image {index} of {of_shard} is missing (this line is {value})")


def _check_label(entry: dict[str, Any], index: int, where: str, run: _Run) -> None:
    """Text and type exactly as kplate writes them: canonical for the grammar, and the
    run's (its CSV row, or one of its --types)."""
    text, type_id = entry.get("text"), entry.get("type")
    if not isinstance(text, str) or not isinstance(type_id, str):
        raise KplateError(
            f"{where}: 'text' and 'type' must be strings, got {_show(text)} and {_show(type_id)}"
        )
    try:
        number = validate(text, type_id)
    except KplateError as error:
        raise KplateError(f"{where}: {error}") from None
    if number.text != text or number.type.value != type_id:
        raise KplateError(
            f"{where}: text {_show(text)} of type {_show(type_id)} is not canonical (the "
            f"grammar reads {number.text!r} of type {number.type.value})"
        )
    if run.plates is not None:
        if run.plates[index] != [text, type_id]:
            raise KplateError(
                f"{where}: plate {text!r} of type {type_id} is not row {index} of the run's "
                f"plates ({_show(run.plates[index])})"
            )
    elif type_id not in run.types:
        raise KplateError(f"{where}: type {type_id} is not one of the run's --types")


class _Images:
    """Where a shard's entries find their images: a regular file inside `SHARD/images/`,
    under the name kplate gives it, with no link leading out.

    Paths are plain strings on this per-entry path: pathlib interns every part it parses,
    which is slower and grows the interpreter's table of interned strings."""

    def __init__(self, shard: Path, run: _Run) -> None:
        self.root = str(real_path(shard))
        self.inside = real_path(shard) / IMAGES
        self.run = run
        self.folders: set[str] = set()  # checked to resolve inside images/ (a handful)

    def source(self, entry: dict[str, Any], where: str) -> str:
        """The real path of the entry's image, checked."""
        name = entry.get("file_name")
        self._check_name(name, entry, where)
        path = os.path.join(self.root, name)
        folder = os.path.dirname(path)
        if folder not in self.folders:
            if not real_path(Path(folder)).is_relative_to(self.inside):
                raise KplateError(f"{where}: image {name!r} leads outside {self.inside}")
            self.folders.add(folder)
        try:
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                target = real_path(Path(path))
                if not target.is_relative_to(self.inside):
                    raise KplateError(
                        f"{where}: image {name!r} is a link leading outside {self.inside}"
                    )
                path, info = str(target), os.stat(target)
        except OSError as error:
            raise KplateError(f"{where}: image {name!r}: {error.strerror}") from None
        if not stat.S_ISREG(info.st_mode):
            raise KplateError(f"{where}: image {name!r} is not a regular file")
        return path

    def _check_name(self, name: Any, entry: dict[str, Any], where: str) -> None:
        """The name kplate gives this entry in a shard: `images/INDEX.EXT` by index; by
        label `images/TYPE/TEXT__TYPE.EXT`, or `..._K.EXT` for the K-th repeat."""
        if not isinstance(name, str):
            raise KplateError(f"{where}: 'file_name' must be a string, got {_show(name)}")
        if not name or "\x00" in name or name.startswith("/") or ".." in name.split("/"):
            raise KplateError(f"{where}: file name {_show(name)} points outside {self.inside}")
        run = self.run
        plain = file_name_for(entry, run.naming, run.image_format, run.digits, Counter())
        if name == plain:
            return
        stem, _, extension = plain.rpartition(".")
        repeat = name.removeprefix(f"{stem}_").removesuffix(f".{extension}")
        if (
            run.naming is FileNaming.LABEL
            and name == f"{stem}_{repeat}.{extension}"
            and repeat.isascii()
            and repeat.isdigit()
            and not repeat.startswith("0")
        ):
            return
        raise KplateError(
            f"{where}: file name {_show(name)} is not the name kplate gives this image ({plain})"
        )


# -- writing --------------------------------------------------------------------------------


def _write(shards: list[_Shard], run: _Run, out: Path, lmdb: bool) -> int:
    """The merged folder, in index order: image k comes from shard k mod N."""
    with RunFolder(out, run.fingerprint) as folder:
        # run.json first: a merge killed from here on leaves a folder its re-run recognises.
        folder.write_record()
        folder.reopen()
        per_type = _write_images_and_manifest(shards, run, out)
        return folder.finish({"per_type": dict(per_type)}, lmdb=lmdb)


def _write_images_and_manifest(shards: list[_Shard], run: _Run, out: Path) -> Counter[str]:
    """Link (or copy) each image under the name kplate gives it; metadata.jsonl is written
    to a temporary and renamed, so a failure midway leaves no manifest claiming more."""
    per_type: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    places = _Places(out)
    tmp = out / f".{METADATA}.tmp"
    streams = [_entries(shard, run) for shard in shards]
    try:
        with open(tmp, "w", encoding="utf-8") as manifest:
            for index in range(run.total):
                entry, source = next(streams[index % run.shard_count])
                name = file_name_for(entry, run.naming, run.image_format, run.digits, seen)
                entry["file_name"] = name
                places.put(source, name)
                manifest.write(dumps_line(entry))
                per_type[entry["type"]] += 1
        for stream in streams:  # runs each shard's check that nothing follows its entries
            for _ in stream:
                pass
        os.replace(tmp, out / METADATA)
    except OSError as error:
        raise OptionError(
            "out",
            f"{{option}} {out}: write failed ({error.strerror or error}); re-run the same merge",
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return per_type


class _Places:
    """Puts images into `OUT/images/...`; each folder is checked once to resolve inside it
    (an earlier merge's folder could hold a link), each file goes in whole or not at all.
    Plain string paths, as in `_Images`."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.inside = real_path(out) / IMAGES
        self.folders: set[str] = set()
        (out / IMAGES).mkdir(exist_ok=True)  # RunFolder.reopen already removed strays

    def put(self, source: str, name: str) -> None:
        target = os.path.join(self.out, name)
        folder, base = os.path.split(target)
        if folder not in self.folders:
            os.makedirs(folder, exist_ok=True)
            if not real_path(Path(folder)).is_relative_to(self.inside):
                raise OptionError(
                    "out", f"{{option}} {self.out}: {folder} leads outside {self.inside}"
                )
            self.folders.add(folder)
        try:
            os.link(source, target)
            return
        except FileExistsError:
            if _same_file(source, target):  # a repeated merge: already in place
                return
        except OSError:
            pass  # another file system, or no hard links there: copy instead
        tmp = os.path.join(folder, f".{base}.tmp")
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)


def _same_file(source: str, target: str) -> bool:
    here, there = os.stat(source), os.lstat(target)
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


# -- small helpers ------------------------------------------------------------------------


def _open_regular(path: Path, hint: str) -> BinaryIO:
    """Open a shard's file for reading only if it is a regular file (never a FIFO that
    would block, a device that never ends, or a folder)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise KplateError(f"{path}: missing; {hint}") from None
    except OSError as error:
        raise KplateError(f"{path}: cannot read ({error.strerror}); {hint}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise KplateError(f"{path}: not a regular file; {hint}")
    return os.fdopen(fd, "rb")


def _load_json(path: Path, hint: str) -> Any:
    with _open_regular(path, hint) as handle:
        try:
            data = handle.read()
        except OSError as error:
            raise KplateError(f"{path}: cannot read ({error.strerror}); {hint}") from None
    try:
        return _strict_json(data)
    except (ValueError, RecursionError):
        raise KplateError(f"{path}: not valid JSON; {hint}") from None


def _strict_json(data: bytes) -> Any:
    """JSON from UTF-8 bytes, refusing NaN and Infinity (not JSON; kplate never writes them)."""
    return json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _one_of(value: Any, choices: type[FileNaming] | type[ImageFormat]) -> bool:
    return isinstance(value, str) and value in {c.value for c in choices}


def _is_plate_row(row: Any) -> bool:
    return isinstance(row, list) and len(row) == 2 and all(isinstance(v, str) for v in row)


def _show(value: Any, limit: int = 80) -> str:
    """A value from a shard as it can appear inside a one-line error."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
