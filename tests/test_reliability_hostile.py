"""Issue #9, hostile files and a hostile file system: corrupt, truncated, zero-byte and
bomb images, symlink loops, odd file names, manifests that point outside their folder,
read-only and full disks. Each gives a clear one-line error (exit 2) or a skip with a
report, and never a partial output; after a full disk is freed the re-run is correct.

Root ignores chmod, so "read-only" and "disk full" are simulated by making the write
functions raise PermissionError(EACCES) / OSError(ENOSPC), as the kernel would.
"""

from __future__ import annotations

import errno
import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image

import kplate.dataset.build as build_module
import kplate.io.files as files_module
import kplate.pipeline.pool as pool_module
from helpers import one_error_line, png_header, tree_bytes
from kplate.cli import main
from kplate.io.manifest import read_metadata

GEN = ["--seed", "4", "--height", "32", "--progress", "False"]


def jpeg(seed: int) -> bytes:
    rng = __import__("random").Random(seed)
    image = Image.new("RGB", (64, 24), tuple(rng.randrange(256) for _ in range(3)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("syn") / "out"
    assert main(["generate", "--count", "12", *GEN, "--out", str(out)]) == 0
    return out


def hostile_real(root: Path) -> tuple[set[str], dict[str, str]]:
    """A messy folder: good crops with odd names, and every kind of bad file.
    Returns (names of the good files, {bad file name: expected reason fragment})."""
    (root / "sub").mkdir(parents=True)
    good = {
        "plain.jpg": jpeg(1),
        "with space.jpg": jpeg(2),
        "서울 12가3456.jpg": jpeg(3),
        "new\nline.jpg": jpeg(4),
        "sub/tab\tname.JPG": jpeg(5),
    }
    for name, data in good.items():
        (root / name).write_bytes(data)
    truncated = jpeg(6)
    bad = {
        "empty.jpg": (b"", "empty file"),
        "truncated.jpg": (truncated[: len(truncated) // 2], "cannot decode"),
        "garbage.png": (b"\x89PNG\r\n\x1a\nnot really", "cannot decode"),
        "bomb.png": (png_header(100_000, 100_000), "decompression bomb"),
        "big.png": (png_header(8_000, 8_000), "too large (8000x8000 pixels"),
        "bad\nname.jpg": (b"\xff\xd8\xff\x00", "cannot decode"),
    }
    for name, (data, _) in bad.items():
        (root / name).write_bytes(data)
    os.symlink("loop.jpg", root / "loop.jpg")  # a file link to itself
    os.symlink("..", root / "sub" / "up")  # a folder loop: never followed
    os.symlink("missing.png", root / "dangling.png")
    reasons = {name: reason for name, (_, reason) in bad.items()}
    reasons["loop.jpg"] = "Too many levels of symbolic links"
    reasons["dangling.png"] = "No such file"
    return set(good), reasons


def test_dataset_skips_and_reports_every_hostile_file_and_keeps_the_good_ones(
    tmp_path: Path, synthetic: Path, capsys
) -> None:
    real = tmp_path / "real"
    good, reasons = hostile_real(real)
    out = tmp_path / "root"
    assert (
        main(["dataset", "--synthetic", str(synthetic), "--real", str(real), "--out", str(out)])
        == 0
    )
    captured = capsys.readouterr()
    assert f"skipped {len(reasons)} unreadable files" in captured.out
    document = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    kept = sorted(
        Path(e["source"]).relative_to(real.resolve()).as_posix()
        for split in ("trainB", "testB")
        for e in document["splits"][split]
    )
    assert kept == sorted(good)
    skipped = {Path(s["source"]).name: s["reason"] for s in document["skipped"]}
    assert set(skipped) == set(reasons)
    for name, fragment in reasons.items():
        assert fragment in skipped[name], (name, skipped[name])
    # skipped.txt: one line of three tab-separated fields per file, whatever the names hold
    lines = (out / "skipped.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(reasons) and all(len(line.split("\t")) == 3 for line in lines)
    assert any("bad\\nname.jpg" in line for line in lines)
    for split in ("trainB", "testB"):
        for entry in document["splits"][split]:
            with Image.open(out / entry["file"]) as image:
                image.load()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real", "root"]


def test_dataset_with_only_hostile_files_is_refused_and_writes_nothing(
    tmp_path: Path, synthetic: Path, capsys
) -> None:
    real = tmp_path / "real"
    good, reasons = hostile_real(real)
    for name in good:
        (real / name).unlink()
    out = tmp_path / "root"
    assert (
        main(["dataset", "--synthetic", str(synthetic), "--real", str(real), "--out", str(out)])
        == 2
    )
    line = one_error_line(capsys, "dataset")
    assert f"none of its {len(reasons)} images could be read" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real"]


def test_decompression_bomb_is_refused_before_decoding() -> None:
    """The size check runs on the header: the 40 GB of pixels are never allocated."""
    import tracemalloc

    from kplate.dataset import CorruptImage, decode

    tracemalloc.start()
    try:
        with pytest.raises(CorruptImage, match="decompression bomb"):
            decode(png_header(100_000, 100_000))
        with pytest.raises(CorruptImage, match="too large"):
            decode(png_header(8_000, 8_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024


@pytest.mark.parametrize(
    ("manifest", "entry"),
    [
        ("labels.csv", "../secret.jpg"),
        ("labels.csv", "../../secret.jpg"),
        ("labels.csv", "{abs}"),
        ("labels.csv", "sub/../../secret.jpg"),
        ("labels.csv", "ok\x00.jpg"),
        ("metadata.jsonl", "../secret.jpg"),
    ],
)
def test_dataset_manifest_entries_outside_the_folder_are_refused(
    tmp_path: Path, synthetic: Path, capsys, monkeypatch, manifest: str, entry: str
) -> None:
    """Regression: labels.csv `file` values were joined to the folder unchecked, so
    `../secret.jpg` or an absolute path was read and copied into the dataroot (and a NUL
    crashed with a traceback)."""
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(jpeg(7))
    real = tmp_path / "inner" / "real"
    (real / "sub").mkdir(parents=True)
    (real / "sub" / "a.jpg").write_bytes(jpeg(8))
    entry = entry.format(abs=secret)
    if manifest == "labels.csv":
        import csv

        buffer = io.StringIO()
        csv.writer(buffer).writerows(
            [["file", "text"], ["sub/a.jpg", "12가3456"], [entry, "12가3457"]]
        )
        (real / "labels.csv").write_text(buffer.getvalue(), encoding="utf-8")
    else:
        lines = [
            {"file_name": "sub/a.jpg", "text": "12가3456"},
            {"file_name": entry, "text": "12가3457"},
        ]
        (real / "metadata.jsonl").write_text(
            "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8"
        )
    opened: list[str] = []
    real_read_bytes = Path.read_bytes

    def spy(self: Path) -> bytes:
        opened.append(os.path.abspath(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    out = tmp_path / "root"
    assert (
        main(["dataset", "--synthetic", str(synthetic), "--real", str(real), "--out", str(out)])
        == 2
    )
    line = one_error_line(capsys, "dataset")
    assert "is outside" in line and manifest in line
    assert str(secret) not in opened
    assert not out.exists()


def test_dataset_disk_full_then_freed(tmp_path: Path, synthetic: Path, capsys, monkeypatch) -> None:
    real = tmp_path / "real"
    real.mkdir()
    for index in range(6):
        (real / f"{index}.jpg").write_bytes(jpeg(100 + index))
    out = tmp_path / "root"
    argv = ["dataset", "--synthetic", str(synthetic), "--real", str(real), "--out", str(out)]
    real_atomic = files_module.atomic_write_bytes

    def full(path, data):
        if Path(path).name == "dataset.json":
            raise files_module.KplateError(f"{path}: write failed (No space left on device)")
        return real_atomic(path, data)

    monkeypatch.setattr(files_module, "atomic_write_bytes", full)
    assert main(argv) == 2
    assert "No space left on device" in one_error_line(capsys, "dataset")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real"]  # no root, no .building
    monkeypatch.undo()
    assert main(argv) == 0
    document = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    assert document["counts"]["trainB"] + document["counts"]["testB"] == 6


def test_dataset_read_only_parent_is_one_line(
    tmp_path: Path, synthetic: Path, capsys, monkeypatch
) -> None:
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(build_module.tempfile, "mkdtemp", denied)
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.jpg").write_bytes(jpeg(1))
    out = tmp_path / "ro" / "root"
    assert (
        main(["dataset", "--synthetic", str(synthetic), "--real", str(real), "--out", str(out)])
        == 2
    )
    assert "Permission denied" in one_error_line(capsys, "dataset")
    assert not out.exists()


# -- generate: odd --csv paths -------------------------------------------------------------


def test_generate_csv_symlink_loop_folder_and_missing(tmp_path: Path, capsys) -> None:
    loop = tmp_path / "loop.csv"
    os.symlink("loop.csv", loop)
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    cases = {
        loop: "cannot read (Too many levels of symbolic links)",
        folder: "is a folder, not a CSV file",
        tmp_path / "missing.csv": "file not found",
    }
    for path, fragment in cases.items():
        out = tmp_path / f"out-{path.stem}"
        assert main(["generate", "--csv", str(path), "--out", str(out)]) == 2
        line = one_error_line(capsys, "generate")
        assert str(path) in line and fragment in line
        assert not out.exists()


def test_generate_csv_with_a_newline_and_hangul_in_its_name(tmp_path: Path, capsys) -> None:
    path = tmp_path / "번호 판\n목록.csv"
    path.write_text("plate\n12가3456\n서울52바3108\n", encoding="utf-8")
    out = tmp_path / "출력 폴더"
    assert main(["generate", "--csv", str(path), *GEN, "--out", str(out)]) == 0
    assert [e["text"] for e in read_metadata(out / "metadata.jsonl")] == [
        "12가3456",
        "서울52바3108",
    ]
    path.write_text("plate\n12가3456\nXX\n", encoding="utf-8")
    assert main(["generate", "--csv", str(path), *GEN, "--out", str(tmp_path / "o2")]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "1 invalid row(s)" in captured.err
    report = [line for line in captured.out.splitlines() if "'XX'" in line]
    shown = str(path).replace("\n", "\\n")
    assert report == [
        f"kplate generate: {shown}:3: 'XX': character 'X' (U+0058) "
        "is not allowed on Korean plates (Latin letters never appear on them)"
    ]
    assert not (tmp_path / "o2").exists()


# -- generate: read-only and full disks ----------------------------------------------------


@pytest.fixture(scope="module")
def gen_reference(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("gen-ref") / "out"
    assert main(["generate", "--count", "60", *GEN, "--out", str(out)]) == 0
    return tree_bytes(out)


def failing_after(limit: int, error: OSError):
    real = pool_module.write_file
    calls = {"n": 0}

    def write_file(path, data):
        calls["n"] += 1
        if calls["n"] > limit:
            raise error
        real(path, data)

    return write_file


def assert_interrupted_state(out: Path) -> None:
    """After a failed run: every manifest line has its image; nothing claims completeness."""
    entries = read_metadata(out / "metadata.jsonl")
    assert [e["index"] for e in entries] == list(range(len(entries)))
    assert all((out / e["file_name"]).is_file() for e in entries)
    assert not (out / "summary.json").exists() and not (out / "labels.csv").exists()
    assert not (out / "gt.txt").exists()


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize(
    ("error", "text"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "No space left on device"),
        (PermissionError(errno.EACCES, "Permission denied"), "Permission denied"),
    ],
    ids=["disk-full", "read-only"],
)
def test_generate_write_failure_is_one_line_then_rerun_is_correct(
    tmp_path: Path, gen_reference, capsys, monkeypatch, error: OSError, text: str, workers: str
) -> None:
    out = tmp_path / "out"
    argv = ["generate", "--count", "60", *GEN, "--out", str(out)]
    monkeypatch.setattr(pool_module, "write_file", failing_after(25, error))
    assert main([*argv, "--workers", workers]) == 2
    line = one_error_line(capsys, "generate")
    assert line == f"kplate generate: error: {out}: write failed ({text}); re-run to resume"
    assert_interrupted_state(out)
    monkeypatch.undo()  # the disk is freed
    assert main([*argv, "--workers", workers]) == 0
    assert tree_bytes(out) == gen_reference


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name the fd")
@pytest.mark.parametrize("victim", ["run.json", "labels.csv", "summary.json"])
def test_generate_disk_full_inside_an_atomic_write(
    tmp_path: Path, gen_reference, capsys, monkeypatch, victim: str
) -> None:
    """ENOSPC raised by the real write inside atomic_write_bytes: one line, the temporary
    is removed, the target is never half-written, and the re-run completes."""
    real_fdopen = os.fdopen

    class Full(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    def fdopen(fd, *args, **kwargs):
        if os.readlink(f"/proc/self/fd/{fd}").rsplit("/", 1)[-1].startswith(f".{victim}."):
            handle = real_fdopen(fd, *args, **kwargs)
            handle.close()
            return io.BufferedWriter(Full())
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(files_module.os, "fdopen", fdopen)
    out = tmp_path / "out"
    argv = ["generate", "--count", "60", *GEN, "--out", str(out)]
    assert main(argv) == 2
    line = one_error_line(capsys, "generate")
    assert victim in line and "No space left on device" in line
    assert not (out / victim).exists()
    # (a folder this run created and left empty, as when run.json fails, is removed)
    left = list(out.iterdir()) if out.exists() else []
    assert not [p.name for p in left if p.name.endswith(".tmp")]
    assert not (out / "summary.json").exists()
    monkeypatch.undo()
    assert main(argv) == 0
    assert tree_bytes(out) == gen_reference


def test_generate_out_is_a_symlink_loop(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    os.symlink("out", out)
    assert main(["generate", "--count", "2", *GEN, "--out", str(out)]) == 2
    assert "cannot create output folder" in one_error_line(capsys, "generate")
    assert out.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
