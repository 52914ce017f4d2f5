"""Issue #9 for `kplate translate` and `kplate export`: kill -9 at chosen points, then the
same command, gives the uninterrupted output byte for byte; a second process is refused by
the lock; a full disk, manifest entries outside the input, a bomb in the input, a corrupt
checkpoint and an unwritable export target are one line with exit code 2.

Killed runs are real subprocesses (one thread). The exact kill points come from a wrapper
that runs the CLI and SIGKILLs (or SIGSTOPs) its own process at the Nth call of a function;
one seeded point is polled from outside and the process group killed, as in the generate
tests.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

import kplate.gan.translate as translate_module
from helpers import one_error_line, tree_bytes
from killpoint import KILLPOINT
from kplate.cli import main
from kplate.io.manifest import read_metadata

sys.path.insert(0, str(Path(__file__).parent))
from test_reliability_hostile import png_header
from test_translate import make_model

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(REPO / "src"), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
ENV["PYTHONWARNINGS"] = "ignore"
COUNT = 14


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("translate")
    synthetic = root / "synthetic"
    assert main(["generate", "--count", str(COUNT), "--seed", "8", "--height", "24",
                 "--out", str(synthetic), "--progress", "False",
                 "--types", "private_2digit,commercial_two_row"]) == 0  # fmt: skip
    checkpoint = make_model(root / "ckpt")
    return {"root": root, "input": synthetic, "checkpoint": checkpoint}


def args(setup: dict[str, Path], out: Path, batch: int = 3) -> list[str]:
    return ["translate", "--checkpoint", str(setup["checkpoint"]), "--input", str(setup["input"]),
            "--out", str(out), "--device", "cpu", "--batch-size", str(batch)]  # fmt: skip


def run_cli(argv: list[str], spec: dict | None = None, **popen) -> subprocess.Popen:
    command = (
        [sys.executable, "-m", "kplate", *argv]
        if spec is None
        else [sys.executable, "-c", KILLPOINT, json.dumps(spec), *argv]
    )
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(command, env=ENV, start_new_session=True, **popen)


def rerun(argv: list[str], in_process: bool = False) -> None:
    """The same command again: in this process (one thread, as the subprocesses) where
    the import time matters, else as a subprocess."""
    if in_process:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            assert main(argv) == 0
        finally:
            torch.set_num_threads(threads)
        return
    done = run_cli(argv)
    _, err = done.communicate(timeout=300)
    assert done.returncode == 0, err.decode()[-2000:]


@pytest.fixture(scope="module")
def reference(setup) -> dict[str, bytes]:
    out = setup["root"] / "reference"
    rerun(args(setup, out))
    assert_complete(out)
    return tree_bytes(out)


def manifest_lines(out: Path) -> int:
    try:
        return (out / "metadata.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def assert_consistent_after_kill(out: Path) -> None:
    """Every complete manifest line, in index order, has an image that decodes."""
    assert not (out / "summary.json").exists(), "an interrupted run must not look complete"
    if not (out / "metadata.jsonl").exists():
        return
    raw = (out / "metadata.jsonl").read_bytes()
    complete = raw[: raw.rfind(b"\n") + 1].decode()
    entries = [json.loads(line) for line in complete.splitlines()]
    assert [e["index"] for e in entries] == list(range(len(entries)))
    for entry in entries:
        with Image.open(out / entry["file_name"]) as image:
            image.load()


def assert_complete(out: Path) -> None:
    entries = read_metadata(out / "metadata.jsonl")
    assert [e["index"] for e in entries] == list(range(COUNT))
    names = [e["file_name"] for e in entries]
    assert len(set(names)) == COUNT
    on_disk = sorted(p.relative_to(out).as_posix() for p in (out / "images").rglob("*"))
    assert on_disk == sorted(names), "stray or missing files in images/"
    for name in names:
        with Image.open(out / name) as image:
            image.load()
    rows = (out / "labels.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == names
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["complete"] is True and summary["count"] == COUNT


# (target, call, after the real call?, what must be there when the process dies)
EXACT = {
    # run.json is written and the lock is held, but no image yet.
    "before-first-image": ("kplate.gan.translate.write_file", 1, False, 0),
    # Image 7 (index 6) is on disk but its batch's manifest lines are not: a stray image.
    "between-image-and-manifest": ("kplate.gan.translate.write_file", 7, True, 6),
    # Every image and manifest line, but no labels.csv / gt.txt / summary.json.
    "after-last-image": ("kplate.io.run_folder.write_derived_manifests", 1, False, COUNT),
    # labels.csv and gt.txt written; summary.json (the 2nd atomic_write_text) not.
    "before-summary": ("kplate.io.run_folder.atomic_write_text", 2, False, COUNT),
}


@pytest.mark.parametrize("point", list(EXACT))
def test_translate_killed_at_an_exact_point_then_rerun_is_identical(
    setup, reference, tmp_path: Path, point: str
) -> None:
    target, at, after, lines = EXACT[point]
    out = tmp_path / "out"
    killed = run_cli(args(setup, out), {"target": target, "at": at, "after": after})
    killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL, "the run was not killed where intended"
    assert manifest_lines(out) == lines
    assert_consistent_after_kill(out)
    if point == "between-image-and-manifest":
        assert len(list((out / "images").rglob("*.*"))) == 7
    if point == "before-summary":
        assert (out / "labels.csv").is_file() and (out / "gt.txt").is_file()
    rerun(args(setup, out), in_process=True)
    assert_complete(out)
    assert tree_bytes(out) == reference


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_translate_killed_from_outside_at_seeded_points_then_rerun(
    setup, tmp_path: Path, seed: int
) -> None:
    """A larger input with batch 1, killed as a process group after a seeded number of
    manifest lines, twice in a row, then the same command."""
    big = tmp_path / "big"
    assert main(["generate", "--count", "300", "--seed", str(seed), "--height", "24",
                 "--out", str(big), "--progress", "False"]) == 0  # fmt: skip
    argv = ["translate", "--checkpoint", str(setup["checkpoint"]), "--input", str(big),
            "--device", "cpu", "--batch-size", "1"]  # fmt: skip
    reference = tmp_path / "reference"
    rerun([*argv, "--out", str(reference)])
    out = tmp_path / "out"
    for target in sorted(random.Random(seed).sample(range(1, 280), 2)):
        process = run_cli([*argv, "--out", str(out)])
        deadline = time.monotonic() + 300
        try:
            while manifest_lines(out) < target:
                assert process.poll() is None, "the run ended before the kill point"
                assert time.monotonic() < deadline
                time.sleep(0.002)
        finally:
            _kill_group(process)
        assert_consistent_after_kill(out)
    rerun([*argv, "--out", str(out)])
    assert tree_bytes(out) == tree_bytes(reference)
    assert len(read_metadata(out / "metadata.jsonl")) == 300


def test_second_translate_on_the_same_out_is_refused_by_the_lock(
    setup, reference, tmp_path: Path
) -> None:
    """The first process stops itself (SIGSTOP) right after its 4th image, so the overlap is
    certain; the second is refused and writes nothing; the first then finishes correctly."""
    out = tmp_path / "out"
    spec = {"target": "kplate.gan.translate.write_file", "at": 4, "after": True,
            "signal": "SIGSTOP"}  # fmt: skip
    first = run_cli(args(setup, out), spec)
    try:
        _, status = os.waitpid(first.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status), "the first run did not stop where intended"
        before = tree_bytes(out)
        second = subprocess.run([sys.executable, "-m", "kplate", *args(setup, out)], env=ENV,
                                capture_output=True, text=True, timeout=300)  # fmt: skip
        assert second.returncode == 2
        assert second.stderr == (
            f"kplate translate: error: {out}: another kplate process is writing here; "
            "wait for it or choose another --out\n"
        )
        assert tree_bytes(out) == before, "the refused process must not write"
        os.kill(first.pid, signal.SIGCONT)
        _, err = first.communicate(timeout=300)
        assert first.returncode == 0, err.decode()[-2000:]
    finally:
        if first.poll() is None:
            _kill_group(first)
    assert_complete(out)
    assert tree_bytes(out) == reference


# -- hostile input, in-process -------------------------------------------------------------


@pytest.mark.parametrize(("error", "message"), [(errno.ENOSPC, "No space left on device"),
                                                (errno.EACCES, "Permission denied")])  # fmt: skip
def test_translate_disk_full_mid_run_is_one_line_then_rerun_is_identical(
    setup, reference, tmp_path: Path, monkeypatch, capsys, one_thread, error, message
) -> None:
    real = translate_module.write_file
    calls = [0]

    def write_file(path: Path, data: bytes) -> None:
        calls[0] += 1
        if calls[0] > 5:
            raise OSError(error, os.strerror(error))
        real(path, data)

    out = tmp_path / "out"
    monkeypatch.setattr(translate_module, "write_file", write_file)
    assert main(args(setup, out)) == 2
    line = one_error_line(capsys, "translate")
    assert line == f"kplate translate: error: {out}: write failed ({message}); re-run to resume"
    assert_consistent_after_kill(out)
    assert manifest_lines(out) == 3  # the first batch of 3; the second batch failed
    monkeypatch.undo()
    assert main(args(setup, out)) == 0
    assert tree_bytes(out) == reference


OUTSIDE = {
    "labels-dotdot": ("labels.csv", "file,text\n../secret.png,12가3456\n"),
    "labels-absolute": ("labels.csv", "file,text\n{secret},12가3456\n"),
    "labels-inner-dotdot": ("labels.csv", "file,text\nsub/../../secret.png,12가3456\n"),
    "labels-nul": ("labels.csv", "file,text\nsecret.png\x00x,12가3456\n"),
    "metadata-dotdot": ("metadata.jsonl", '{{"file_name": "../secret.png", "text": "x"}}\n'),
    "metadata-absolute": ("metadata.jsonl", '{{"file_name": "{secret}", "text": "x"}}\n'),
}


@pytest.mark.parametrize("case", sorted(OUTSIDE))
def test_translate_manifest_entries_outside_the_input_are_refused(
    setup, tmp_path: Path, capsys, case: str
) -> None:
    secret = tmp_path / "secret.png"
    Image.new("RGB", (96, 24), "white").save(secret)
    folder = tmp_path / "input"
    folder.mkdir()
    name, text = OUTSIDE[case]
    (folder / name).write_text(text.format(secret=secret), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["translate", "--checkpoint", str(setup["checkpoint"]), "--input", str(folder),
                 "--out", str(out), "--device", "cpu"]) == 2  # fmt: skip
    line = one_error_line(capsys, "translate")
    assert f"{folder / name}:" in line and "points outside" in line, line
    assert not out.exists(), "nothing may be written"


@pytest.mark.parametrize("size", [100_000, 8_000])
def test_translate_decompression_bomb_in_the_input_is_one_line(
    setup, tmp_path: Path, capsys, one_thread, size: int
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    Image.new("RGB", (96, 24), "white").save(folder / "a.png")
    (folder / "bomb.png").write_bytes(png_header(size, size))
    out = tmp_path / "out"
    assert main(["translate", "--checkpoint", str(setup["checkpoint"]), "--input", str(folder),
                 "--out", str(out), "--device", "cpu"]) == 2  # fmt: skip
    line = one_error_line(capsys, "translate")
    assert f"{folder / 'bomb.png'}: cannot read image (" in line and "pixels" in line, line
    assert not (out / "summary.json").exists() and not list((out / "images").rglob("*.png"))


# -- export ----------------------------------------------------------------------------------


def test_export_from_a_corrupt_checkpoint_is_one_line(tmp_path: Path, capsys) -> None:
    checkpoint = make_model(tmp_path / "ckpt")
    checkpoint.write_bytes(checkpoint.read_bytes()[:500])
    out = tmp_path / "g.pt"
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(out)]) == 2
    line = one_error_line(capsys, "export")
    assert f"{checkpoint}: cannot read checkpoint" in line, line
    assert not out.exists()


class _FailingTrace:
    """What torch.jit.trace returns, but its save writes half a file and hits a full disk."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def save(self, path: str) -> None:
        Path(path).write_bytes(b"half a file")
        raise self.error


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), "No space left on device"),
        (RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed"),
         "PytorchStreamWriter failed writing file data/0: file write failed"),
    ],
    ids=["enospc", "torch-writer"],
)  # fmt: skip
def test_export_to_a_full_disk_is_one_line_and_leaves_no_partial_file(
    tmp_path: Path, capsys, monkeypatch, error, message
) -> None:
    import kplate.gan.export as export_module

    checkpoint = make_model(tmp_path / "ckpt")
    monkeypatch.setattr(export_module.torch.jit, "trace", lambda *a, **k: _FailingTrace(error))
    out = tmp_path / "models" / "g.torchscript.pt"
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(out)]) == 2
    line = one_error_line(capsys, "export")
    assert line == f"kplate export: error: {out}: write failed ({message})"
    assert sorted(p.name for p in out.parent.iterdir()) == [], "no partial file may be left"


def test_export_onnx_to_a_full_disk_leaves_no_partial_file(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    import kplate.gan.export as export_module

    def failing(generator, example, path: Path) -> None:
        path.write_bytes(b"half a file")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    checkpoint = make_model(tmp_path / "ckpt")
    monkeypatch.setattr(export_module, "_export_onnx", failing)
    out = tmp_path / "g.onnx"
    assert main(["export", "--checkpoint", str(checkpoint), "--format", "onnx",
                 "--out", str(out)]) == 2  # fmt: skip
    assert "write failed (No space left on device)" in one_error_line(capsys, "export")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_export_to_a_target_under_a_file_is_one_line(tmp_path: Path, capsys) -> None:
    checkpoint = make_model(tmp_path / "ckpt")
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "g.pt"
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(out)]) == 2
    line = one_error_line(capsys, "export")
    assert line.startswith(f"kplate export: error: {out}: write failed ("), line
