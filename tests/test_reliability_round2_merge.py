"""Issue #13, failure 2: `kplate merge` trusts nothing in its shards.

Every shard is checked in full first (a finished shard of the same run, each shard I of
N once, every entry re-validated), and nothing is written at `--out` (no folder, no lock,
no temporary) unless all pass. The merged output of good shards equals a one-machine
run file for file; a failure midway leaves no manifest temporary and no summary.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tracemalloc
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

import kplate.io.merge as merge_module
from helpers import one_error_line, tree_bytes
from kplate.cli import main
from kplate.io.merge import merge_shards
from kplate.numbers import sample
from kplate.spec import PlateType

RUN = ["--count", "10", "--seed", "7", "--height", "32", "--progress", "False"]


def generate(out: Path, *extra: str) -> None:
    assert main(["generate", *RUN, *extra, "--out", str(out)]) == 0


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    """One-machine runs and their 3 shards, by index and by label names."""
    root = tmp_path_factory.mktemp("made")
    folders = {}
    for naming in ("index", "label"):
        folders[f"{naming}-single"] = root / f"{naming}-single"
        generate(folders[f"{naming}-single"], "--filenames", naming)
        for number in range(3):
            folders[f"{naming}-{number}"] = root / f"{naming}-{number}"
            generate(folders[f"{naming}-{number}"], "--filenames", naming, "--shard", f"{number}/3")
    return folders


def copy_shards(made: dict[str, Path], tmp_path: Path, naming: str = "index") -> list[Path]:
    shards = []
    for number in range(3):
        shard = tmp_path / f"shard{number}"
        shutil.copytree(made[f"{naming}-{number}"], shard, symlinks=True)
        shards.append(shard)
    return shards


def entries(shard: Path) -> list[dict]:
    return [json.loads(line) for line in (shard / "metadata.jsonl").read_text().splitlines()]


def rewrite_entry(shard: Path, line: int, change: Callable[[dict], None]) -> None:
    """Change entry number `line` (1-based) of the shard's manifest."""
    rows = entries(shard)
    change(rows[line - 1])
    text = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows)
    (shard / "metadata.jsonl").write_text(text, encoding="utf-8")


def merge(shards: list[Path], out: Path, *extra: str) -> int:
    return main(["merge", *map(str, shards), "--out", str(out), *extra])


# -- good shards ------------------------------------------------------------------------------


@pytest.mark.parametrize("naming", ["index", "label"])
def test_merged_shards_equal_the_one_machine_run_file_for_file(
    made: dict[str, Path], tmp_path: Path, naming: str
) -> None:
    out = tmp_path / "merged"
    shards = [made[f"{naming}-{n}"] for n in (2, 0, 1)]  # any order
    assert merge(shards, out) == 0
    single = made[f"{naming}-single"]
    assert tree_bytes(out) == tree_bytes(single)  # run.json too: it is the single run's
    merged, reference = (json.loads((f / "summary.json").read_text()) for f in (out, single))
    assert merged["complete"] is True
    assert (merged["count"], merged["per_type"]) == (reference["count"], reference["per_type"])


def test_merged_csv_shards_with_repeated_plates_equal_the_one_machine_run(
    tmp_path: Path,
) -> None:
    """A CSV run by label names: a shard names its own repeats `..._1`, the merge renames
    them for the whole run."""
    plates = tmp_path / "plates.csv"
    rows = ["102가3456", "12가3456", "102가3456", "서울12가3456", "102가3456", "12가3456"] * 2
    plates.write_text("plate\n" + "\n".join(rows) + "\n", encoding="utf-8")
    csv_run = ["--csv", str(plates), "--filenames", "label", "--height", "32"]
    csv_run += ["--progress", "False"]
    assert main(["generate", *csv_run, "--out", str(tmp_path / "single")]) == 0
    shards = [tmp_path / f"shard{n}" for n in range(4)]
    for number, shard in enumerate(shards):
        assert main(["generate", *csv_run, "--shard", f"{number}/4", "--out", str(shard)]) == 0
    assert any("_1." in e["file_name"] for e in entries(shards[0]))
    assert merge(shards, tmp_path / "merged") == 0
    assert tree_bytes(tmp_path / "merged") == tree_bytes(tmp_path / "single")


def test_merging_again_into_the_same_folder_finishes_it_identically(
    made: dict[str, Path], tmp_path: Path
) -> None:
    """A repeated merge (or one that finishes an interrupted merge) gives the same bytes;
    the images are hard links to the shards' own, which must not trip the copy."""
    out = tmp_path / "merged"
    shards = [made[f"label-{n}"] for n in range(3)]
    assert merge(shards, out) == 0
    (out / "summary.json").unlink()
    (out / "images" / ".stray.jpg.tmp").write_bytes(b"x")
    assert merge(shards, out) == 0
    assert tree_bytes(out) == tree_bytes(made["label-single"])


# -- hostile shards: exit 2, one line naming shard and line, nothing at --out ------------------


def _type_with_dotdot(shards: list[Path], tmp_path: Path) -> str:
    def change(entry: dict) -> None:
        entry["type"] = "../../../../escape"

    rewrite_entry(shards[1], 2, change)
    return f"{shards[1]}/metadata.jsonl:2: "


def _file_name_outside(shards: list[Path], tmp_path: Path) -> str:
    secret = tmp_path / "etc" / "hostname"
    secret.parent.mkdir()
    secret.write_bytes(b"secret-host\n")

    def change(entry: dict) -> None:
        entry["file_name"] = os.path.relpath(secret, shards[0])  # ../etc/hostname

    rewrite_entry(shards[0], 3, change)
    return f"{shards[0]}/metadata.jsonl:3: "


def _absolute_file_name(shards: list[Path], tmp_path: Path) -> str:
    def change(entry: dict) -> None:
        entry["file_name"] = str(shards[0] / entry["file_name"])

    rewrite_entry(shards[2], 1, change)
    return f"{shards[2]}/metadata.jsonl:1: "


def _missing_image(shards: list[Path], tmp_path: Path) -> str:
    name = entries(shards[2])[1]["file_name"]
    (shards[2] / name).unlink()
    return f"{shards[2]}/metadata.jsonl:2: image '{name}'"


def _symlinked_image_outside(shards: list[Path], tmp_path: Path) -> str:
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"not yours")
    name = entries(shards[1])[0]["file_name"]
    (shards[1] / name).unlink()
    (shards[1] / name).symlink_to(outside)
    return f"{shards[1]}/metadata.jsonl:1: image '{name}' is a link leading outside"


def _images_folder_links_outside(shards: list[Path], tmp_path: Path) -> str:
    elsewhere = tmp_path / "elsewhere"
    (shards[0] / "images").rename(elsewhere)
    (shards[0] / "images").symlink_to(elsewhere)
    return f"{shards[0]}/metadata.jsonl:1: image 'images/"


def _non_canonical_text(shards: list[Path], tmp_path: Path) -> str:
    def change(entry: dict) -> None:
        entry["text"] = unicodedata.normalize("NFD", entry["text"])

    rewrite_entry(shards[0], 2, change)
    return f"{shards[0]}/metadata.jsonl:2: text "


def _text_of_another_type(shards: list[Path], tmp_path: Path) -> str:
    def change(entry: dict) -> None:
        entry["text"] = "ABC"

    rewrite_entry(shards[1], 1, change)
    return f"{shards[1]}/metadata.jsonl:1: "


def _index_from_another_shard(shards: list[Path], tmp_path: Path) -> str:
    def change(entry: dict) -> None:
        entry["index"] = 1  # shard 1's first image, in shard 0

    rewrite_entry(shards[0], 2, change)
    return f"{shards[0]}/metadata.jsonl:2: index 1 does not belong to shard 0/3"


def _index_not_an_integer(shards: list[Path], tmp_path: Path) -> str:
    def change(entry: dict) -> None:
        entry["index"] = True

    rewrite_entry(shards[1], 1, change)
    return f"{shards[1]}/metadata.jsonl:1: 'index' must be an integer"


def _entry_twice(shards: list[Path], tmp_path: Path) -> str:
    lines = (shards[0] / "metadata.jsonl").read_text().splitlines(keepends=True)
    (shards[0] / "metadata.jsonl").write_text(lines[0] + lines[0] + "".join(lines[1:-1]))
    return f"{shards[0]}/metadata.jsonl:2: index 0 repeats"


def _entry_missing(shards: list[Path], tmp_path: Path) -> str:
    lines = (shards[2] / "metadata.jsonl").read_text().splitlines(keepends=True)
    (shards[2] / "metadata.jsonl").write_text("".join(lines[:-1]))
    return f"{shards[2]}/metadata.jsonl:{len(lines)}: the manifest ends after"


def _extra_entry(shards: list[Path], tmp_path: Path) -> str:
    lines = (shards[1] / "metadata.jsonl").read_text().splitlines(keepends=True)
    (shards[1] / "metadata.jsonl").write_text("".join(lines) + lines[-1])
    return f"{shards[1]}/metadata.jsonl:{len(lines) + 1}: more entries than"


def _nan_in_an_entry(shards: list[Path], tmp_path: Path) -> str:
    path = shards[1] / "metadata.jsonl"
    path.write_text(path.read_text().replace('"augment":null', '"augment":NaN', 1))
    return f"{path}:1: not a JSON line"


def _torn_last_line(shards: list[Path], tmp_path: Path) -> str:
    path = shards[0] / "metadata.jsonl"
    path.write_bytes(path.read_bytes()[:-1])
    return f"{path}:4: the last line is cut short"


def _broken_run_json(shards: list[Path], tmp_path: Path) -> str:
    path = shards[1] / "run.json"
    path.write_bytes(path.read_bytes()[:40])
    return f"{path}: not valid JSON"


def _run_json_with_wrong_types(shards: list[Path], tmp_path: Path) -> str:
    path = shards[2] / "run.json"
    run = json.loads(path.read_text())
    run["config"]["count"] = "10"
    path.write_text(json.dumps(run))
    return f"{path}: 'config.count' must be 0 or more"


def _missing_summary(shards: list[Path], tmp_path: Path) -> str:
    (shards[1] / "summary.json").unlink()
    return f"{shards[1]}/summary.json: missing; {shards[1]} is unfinished"


def _summary_not_complete(shards: list[Path], tmp_path: Path) -> str:
    (shards[0] / "summary.json").write_text('{"complete": false}')
    return f"{shards[0]}/summary.json: does not say complete"


def _manifest_is_a_folder(shards: list[Path], tmp_path: Path) -> str:
    (shards[2] / "metadata.jsonl").unlink()
    (shards[2] / "metadata.jsonl").mkdir()
    return f"{shards[2]}/metadata.jsonl: not a regular file"


def _manifest_is_a_fifo(shards: list[Path], tmp_path: Path) -> str:
    (shards[0] / "metadata.jsonl").unlink()
    os.mkfifo(shards[0] / "metadata.jsonl")
    return f"{shards[0]}/metadata.jsonl: not a regular file"


def _shard_of_another_run(shards: list[Path], tmp_path: Path) -> str:
    path = shards[2] / "run.json"
    run = json.loads(path.read_text())
    run["config"]["seed"] = 8
    path.write_text(json.dumps(run))
    return f"{shards[2]}: belongs to a different run than {shards[0]} (run.json differs in 'config.seed')"


def _shard_split_differently(shards: list[Path], tmp_path: Path) -> str:
    path = shards[1] / "run.json"
    run = json.loads(path.read_text())
    run["shard"] = [1, 4]
    path.write_text(json.dumps(run))
    return f"{shards[1]}: is a shard of 4, {shards[0]} a shard of 3"


def _type_outside_the_runs_types(shards: list[Path], tmp_path: Path) -> str:
    drawn = entries(shards[0])[0]["type"]
    for shard in shards:  # still one run: every shard's --types lose that type
        run = json.loads((shard / "run.json").read_text())
        run["config"]["types"].remove(drawn)
        (shard / "run.json").write_text(json.dumps(run))
    return f"{shards[0]}/metadata.jsonl:1: type {drawn} is not one of the run's --types"


def _overlong_line(shards: list[Path], tmp_path: Path) -> str:
    def change(entry: dict) -> None:
        entry["augment"] = "x" * (1 << 20)

    rewrite_entry(shards[2], 2, change)
    return f"{shards[2]}/metadata.jsonl:2: line longer than 1048576 bytes"


def _run_json_links_to_dev_zero(shards: list[Path], tmp_path: Path) -> str:
    (shards[1] / "run.json").unlink()
    (shards[1] / "run.json").symlink_to("/dev/zero")
    return f"{shards[1]}/run.json: not a regular file"


def _shard_folder_missing(shards: list[Path], tmp_path: Path) -> str:
    shutil.rmtree(shards[2])
    return f"{shards[2]}: no such folder; not a kplate generate shard"


def _image_is_a_fifo(shards: list[Path], tmp_path: Path) -> str:
    name = entries(shards[0])[2]["file_name"]
    (shards[0] / name).unlink()
    os.mkfifo(shards[0] / name)
    return f"{shards[0]}/metadata.jsonl:3: image '{name}' is not a regular file"


HOSTILE = {
    f.__name__.lstrip("_"): f
    for f in (
        _type_with_dotdot,
        _file_name_outside,
        _absolute_file_name,
        _missing_image,
        _symlinked_image_outside,
        _images_folder_links_outside,
        _non_canonical_text,
        _text_of_another_type,
        _index_from_another_shard,
        _index_not_an_integer,
        _entry_twice,
        _entry_missing,
        _extra_entry,
        _nan_in_an_entry,
        _torn_last_line,
        _broken_run_json,
        _run_json_with_wrong_types,
        _missing_summary,
        _summary_not_complete,
        _manifest_is_a_folder,
        _manifest_is_a_fifo,
        _shard_of_another_run,
        _shard_split_differently,
        _type_outside_the_runs_types,
        _overlong_line,
        _run_json_links_to_dev_zero,
        _shard_folder_missing,
        _image_is_a_fifo,
    )
}


@pytest.mark.parametrize("naming", ["index", "label"])
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_shard_is_one_line_and_nothing_is_written(
    made: dict[str, Path], tmp_path: Path, capsys, case: str, naming: str
) -> None:
    shards = copy_shards(made, tmp_path, naming)
    expected = HOSTILE[case](shards, tmp_path)
    before = {shard: tree_bytes(shard, frozenset()) for shard in shards}
    out = tmp_path / "out" / "merged"
    capsys.readouterr()
    assert merge(shards, out) == 2
    line = one_error_line(capsys, "merge")
    assert expected in line, line
    assert not (tmp_path / "out").exists()
    assert {shard: tree_bytes(shard, frozenset()) for shard in shards} == before


def test_shards_0_and_2_of_3_are_refused_naming_the_missing_shard(
    made: dict[str, Path], tmp_path: Path, capsys
) -> None:
    out = tmp_path / "merged"
    assert merge([made["index-0"], made["index-2"]], out) == 2
    line = one_error_line(capsys, "merge")
    assert "shard 1/3 is missing (2 of 3 given: 0/3, 2/3)" in line
    assert not out.exists()


@pytest.mark.parametrize("copy", [False, True])
def test_a_duplicated_shard_is_refused_before_anything_is_written(
    made: dict[str, Path], tmp_path: Path, capsys, copy: bool
) -> None:
    """The same folder twice, or a copy of it: refused up front, no --overwrite advice."""
    again = made["label-1"]
    if copy:
        again = tmp_path / "copy-of-shard-1"
        shutil.copytree(made["label-1"], again)
    out = tmp_path / "merged"
    shards = [made["label-0"], made["label-1"], again, made["label-2"]]
    assert merge(shards, out) == 2
    line = one_error_line(capsys, "merge")
    also = f"{made['label-1']} is that shard too" if copy else "given twice"
    assert f"{again}: is shard 1/3 again ({also}); give each shard once" in line
    assert "--overwrite" not in line
    assert not out.exists()


def test_no_shards_given_is_a_usage_error(capsys) -> None:
    assert main(["merge", "--out", "x"]) == 2
    assert "required: shards" in capsys.readouterr().err
    with pytest.raises(Exception, match="no shard folders given"):
        merge_shards([], Path("x"))


# -- the output folder -----------------------------------------------------------------------


@pytest.mark.parametrize("where", ["equals", "inside", "contains"])
def test_out_overlapping_a_shard_is_refused_and_the_shard_untouched(
    made: dict[str, Path], tmp_path: Path, capsys, where: str
) -> None:
    root = tmp_path / "root"
    shards = copy_shards(made, root)
    out = {"equals": shards[1], "inside": shards[1] / "merged", "contains": root}[where]
    before = tree_bytes(root, frozenset())
    assert merge(shards, out) == 2
    line = one_error_line(capsys, "merge")
    relation = {"equals": "is", "inside": "lies inside", "contains": "contains"}[where]
    assert f"--out {out}: {relation} the input shard" in line
    assert tree_bytes(root, frozenset()) == before  # no lock file, no merged folder


@pytest.mark.parametrize("content", ["a user's file", "another run"])
def test_out_holding_something_else_is_refused_without_overwrite_advice(
    made: dict[str, Path], tmp_path: Path, capsys, content: str
) -> None:
    out = tmp_path / "out"
    if content == "another run":
        shutil.copytree(made["index-0"], out)
    else:
        out.mkdir()
        (out / "photo.jpg").write_bytes(b"mine")
    before = tree_bytes(out, frozenset())
    assert merge([made[f"index-{n}"] for n in range(3)], out) == 2
    line = one_error_line(capsys, "merge")
    assert f"--out {out}: " in line and "choose another --out" in line
    assert "--overwrite" not in line
    assert tree_bytes(out, frozenset()) == before


def test_a_disk_error_midway_is_one_line_leaves_no_temporary_then_rerun_is_identical(
    made: dict[str, Path], tmp_path: Path, capsys, monkeypatch
) -> None:
    shards = [made[f"index-{n}"] for n in range(3)]
    out = tmp_path / "merged"
    real_link, calls = os.link, []

    def full_disk(source, target, *args, **kwargs):
        calls.append(target)
        if len(calls) > 4:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_link(source, target, *args, **kwargs)

    monkeypatch.setattr(merge_module.os, "link", full_disk)
    monkeypatch.setattr(merge_module.shutil, "copyfile", full_disk)
    assert merge(shards, out) == 2
    line = one_error_line(capsys, "merge")
    assert f"--out {out}: write failed (No space left on device); re-run the same merge" in line
    assert not (out / ".metadata.jsonl.tmp").exists()
    assert not (out / "summary.json").exists() and not (out / "metadata.jsonl").exists()
    assert not list(out.rglob("*.tmp"))
    monkeypatch.undo()
    assert merge(shards, out) == 0
    assert tree_bytes(out) == tree_bytes(made["index-single"])


# -- memory -------------------------------------------------------------------------------


def fabricate_shard(folder: Path, count: int) -> Path:
    """A valid unsharded run of `count` plates whose images are hard links to one file:
    a large shard made in a second."""
    (folder / "images").mkdir(parents=True)
    image = folder / "image.bin"
    image.write_bytes(b"\xff\xd8 plate")
    config = {"count": count, "types": ["private_2digit"], "plates": None, "image_format": "jpg"}
    run = {"config": config, "shard": None, "naming": "index", "kplate": "0"}
    (folder / "run.json").write_text(json.dumps(run))
    (folder / "summary.json").write_text('{"complete": true}')
    rng = __import__("random").Random(count)
    with open(folder / "metadata.jsonl", "w", encoding="utf-8") as manifest:
        for index in range(count):
            name = f"images/{index:06d}.jpg"
            os.link(image, folder / name)
            text = sample(PlateType.PRIVATE_2DIGIT, rng)
            entry = {"file_name": name, "text": text, "type": "private_2digit", "index": index}
            manifest.write(json.dumps(entry, ensure_ascii=False) + "\n")
    image.unlink()
    return folder


def test_merge_memory_is_flat_in_the_number_of_entries(tmp_path: Path) -> None:
    """Both passes stream: 20x the entries, the same peak (within 3 MiB, the size of a
    one-off resize of the interpreter's own tables; holding the entries would take 20 MB,
    holding one path each 4 MB)."""
    peaks = []
    for count in (1000, 20000):
        shard = fabricate_shard(tmp_path / f"shard{count}", count)
        tracemalloc.start()
        try:
            assert merge_shards([shard], tmp_path / f"merged{count}") == count
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert peaks[1] < peaks[0] + 3 * 2**20, peaks
