"""Issue #9, interruption: `kplate generate` killed with SIGKILL at random points, then re-run,
gives exactly the folder an uninterrupted run gives; and a second process is refused.

The killed runs are real subprocesses (`python -m kplate generate`) in their own session,
killed as a process group (as a scheduler or a closed terminal would, workers included).
Kill points: before the output folder exists, as soon as the folder lock is taken (before
the first image), after a seeded random number of images, late (80 %), and several kills
in a row. After each kill the folder must already be consistent (every manifest line has
its image), and after the re-run every byte except summary.json must equal the reference.

TODO(train/translate): the same kill-and-resume tests for `kplate train` (checkpoint
resume) and `kplate translate` (run folder resume) once those commands settle.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from helpers import tree_bytes
from kplate.cli import main
from kplate.io.files import encode_image
from kplate.io.manifest import read_metadata
from kplate.pipeline import GenerateConfig, PlateFactory

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(REPO / "src"))


def start(args: list[str], out: Path, **popen) -> subprocess.Popen:
    command = [sys.executable, "-m", "kplate", "generate", *args, "--out", str(out)]
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen(command, env=ENV, start_new_session=True, **popen)


def manifest_lines(out: Path) -> int:
    try:
        return (out / "metadata.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def kill_when(process: subprocess.Popen, ready, timeout: float = 120.0) -> bool:
    """SIGKILL the group as soon as `ready()`; False if the run ended first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the run never reached the kill point"
        time.sleep(0.002)
    kill_group(process)
    return True


def assert_consistent_after_kill(out: Path) -> None:
    """What a kill may leave: a torn last manifest line and stray temporaries, nothing else
    wrong: every complete manifest line is in index order and its image decodes."""
    if not (out / "metadata.jsonl").exists():
        return
    entries = read_metadata(out / "metadata.jsonl")
    assert [e["index"] for e in entries] == list(range(len(entries)))
    for entry in entries:
        with Image.open(out / entry["file_name"]) as image:
            image.load()
    assert not (out / "summary.json").exists(), "an interrupted run must not look complete"


def assert_complete(out: Path, count: int) -> None:
    """Manifests agree row for row, no missing, extra or duplicate rows; images decode."""
    raw = (out / "metadata.jsonl").read_bytes()
    assert raw == b"" or raw.endswith(b"\n"), "the manifest must not end in a torn line"
    entries = read_metadata(out / "metadata.jsonl")
    assert [e["index"] for e in entries] == list(range(count))
    names = [e["file_name"] for e in entries]
    assert len(set(names)) == count
    on_disk = sorted(p.relative_to(out).as_posix() for p in (out / "images").rglob("*"))
    assert on_disk == sorted(names), "stray or missing files in images/"
    with open(out / "labels.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["file"], r["text"], r["type"]) for r in rows] == [
        (e["file_name"], e["text"], e["type"]) for e in entries
    ]
    gt = (out / "gt.txt").read_text(encoding="utf-8").splitlines()
    assert gt == [f"{e['file_name']}\t{e['text']}" for e in entries]
    for name in names:
        with Image.open(out / name) as image:
            image.load()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["complete"] is True and summary["count"] == count


COUNT = 240
ARGS = ["--count", str(COUNT), "--seed", "11", "--height", "40", "--progress", "False"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("reference") / "out"
    assert main(["generate", *ARGS, "--out", str(out)]) == 0
    assert_complete(out, COUNT)
    return tree_bytes(out)


def _kill_point(name: str, out: Path, seed: int):
    rng = random.Random(seed)
    if name == "before-folder":
        delay = rng.uniform(0.0, 0.05)
        until = time.monotonic() + delay
        return lambda: time.monotonic() >= until
    if name == "at-lock":  # the lock is taken before run.json and before any image
        return lambda: (out / ".kplate.lock").exists()
    if name == "random":
        target = rng.randint(1, COUNT - 40)
        return lambda: manifest_lines(out) >= target
    assert name == "late"
    return lambda: manifest_lines(out) >= COUNT * 8 // 10


@pytest.mark.parametrize(
    ("point", "seed"),
    [("before-folder", 0), ("at-lock", 0), ("random", 1), ("random", 2), ("late", 0)],
)
def test_kill_9_then_rerun_equals_uninterrupted(
    tmp_path: Path, reference: dict[str, bytes], point: str, seed: int
) -> None:
    out = tmp_path / "out"
    process = start(ARGS, out)
    assert kill_when(process, _kill_point(point, out, seed)), "the run ended before the kill"
    assert_consistent_after_kill(out)
    if point == "at-lock":
        assert manifest_lines(out) < COUNT // 2
    assert main(["generate", *ARGS, "--out", str(out)]) == 0
    assert_complete(out, COUNT)
    assert tree_bytes(out) == reference


def test_ctrl_c_while_writing_the_manifests_then_rerun_completes(
    tmp_path: Path, reference: dict[str, bytes], monkeypatch, capsys
) -> None:
    """Interrupted after the last image but before labels.csv/gt.txt/summary.json."""
    import kplate.io.run_folder as run_folder_module

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "out"
    monkeypatch.setattr(run_folder_module, "write_derived_manifests", interrupted)
    assert main(["generate", *ARGS, "--out", str(out)]) == 130
    assert capsys.readouterr().err == "kplate generate: interrupted\n"
    assert not (out / "summary.json").exists() and not (out / "labels.csv").exists()
    monkeypatch.undo()
    assert main(["generate", *ARGS, "--out", str(out)]) == 0
    assert tree_bytes(out) == reference


def test_second_process_on_the_same_folder_is_refused_by_the_lock(tmp_path: Path) -> None:
    """Two real processes: the first is frozen (SIGSTOP) mid-run so the overlap is certain."""
    out = tmp_path / "out"
    args = ["--count", "3000", "--seed", "5", "--height", "24", "--format", "png"]
    first = start([*args, "--progress", "False"], out)
    try:
        deadline = time.monotonic() + 120
        while not (out / "metadata.jsonl").exists():
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.002)
        os.killpg(first.pid, signal.SIGSTOP)
        before = manifest_lines(out)
        second = subprocess.run(
            [sys.executable, "-m", "kplate", "generate", *args, "--out", str(out)],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2
        assert second.stderr == (
            f"kplate generate: error: {out}: another kplate process is writing here; "
            "wait for it or choose another --out\n"
        )
        assert manifest_lines(out) == before, "the refused process must not write"
        os.killpg(first.pid, signal.SIGCONT)
        assert first.wait(timeout=300) == 0
    finally:
        if first.poll() is None:
            kill_group(first)
    assert_complete(out, 3000)
    # Correct, not only complete: a seeded sample of images re-made from scratch.
    config = GenerateConfig(count=3000, seed=5, height=24, image_format="png")
    factory = PlateFactory(config)
    entries = read_metadata(out / "metadata.jsonl")
    for index in random.Random(0).sample(range(3000), 12):
        image, entry = factory.make(index)
        assert (out / entries[index]["file_name"]).read_bytes() == encode_image(image, "png")
        assert entries[index]["text"] == entry["text"]


# -- the expensive variants: make test-slow -------------------------------------------------

SLOW_COUNT = 400


@pytest.mark.slow
@pytest.mark.parametrize(
    "extra",
    [["--workers", "2"], ["--augment", "heavy"], ["--workers", "2", "--augment", "heavy"]],
    ids=["workers2", "augment-heavy", "workers2-augment-heavy"],
)
@pytest.mark.parametrize("seed", [3, 4, 5])
def test_repeated_kills_then_rerun_equals_uninterrupted(
    tmp_path: Path, extra: list[str], seed: int
) -> None:
    args = ["--count", str(SLOW_COUNT), "--seed", str(seed), "--height", "48", *extra]
    args += ["--progress", "False"]
    reference = tmp_path / "reference"
    assert main(["generate", *args, "--out", str(reference)]) == 0
    assert_complete(reference, SLOW_COUNT)
    out = tmp_path / "out"
    rng = random.Random(seed)
    # Very early, then two seeded points further on, each from the state the last kill left.
    targets = [0, *sorted(rng.sample(range(20, SLOW_COUNT - 20), 2))]
    for target in targets:
        process = start(args, out)
        if target == 0:
            landed = kill_when(process, lambda: (out / ".kplate.lock").exists())
        else:
            landed = kill_when(process, lambda t=target: manifest_lines(out) >= t)
        assert landed, f"the run ended before the kill at {target}"
        assert_consistent_after_kill(out)
    assert main(["generate", *args, "--out", str(out)]) == 0
    assert_complete(out, SLOW_COUNT)
    assert tree_bytes(out) == tree_bytes(reference)


@pytest.mark.slow
def test_kill_only_the_main_process_with_workers_then_rerun(tmp_path: Path) -> None:
    """kill -9 of the parent alone: orphaned pool workers must not keep the folder locked
    or write into it forever; the re-run (retried while they wind down) completes."""
    args = ["--count", str(SLOW_COUNT), "--seed", "9", "--height", "48", "--workers", "2"]
    args += ["--progress", "False"]
    reference = tmp_path / "reference"
    assert main(["generate", *args, "--out", str(reference)]) == 0
    out = tmp_path / "out"
    process = start(args, out)
    deadline = time.monotonic() + 120
    while manifest_lines(out) < SLOW_COUNT // 3:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 60
    while True:
        rerun = subprocess.run(
            [sys.executable, "-m", "kplate", "generate", *args, "--out", str(out)],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if rerun.returncode == 0:
            break
        assert "another kplate process" in rerun.stderr, rerun.stderr
        assert time.monotonic() < deadline, "orphaned workers kept the folder locked"
        time.sleep(0.5)
    kill_group(process)  # nothing left in its group
    assert_complete(out, SLOW_COUNT)
    assert tree_bytes(out) == tree_bytes(reference)


@pytest.mark.parametrize(
    "leftovers",
    [
        [".run.json.k2x9a_1q.tmp"],  # killed while writing run.json: the folder looked foreign
        ["run.json", ".metadata.jsonl.p0q1r2s3.tmp", ".labels.csv.a1b2c3d4.tmp"],
    ],
)
def test_temporaries_a_kill_leaves_in_the_folder_are_cleaned_on_rerun(
    tmp_path: Path, reference: dict[str, bytes], leftovers: list[str]
) -> None:
    """Regression: a kill inside atomic_write_bytes left `.NAME.<random>.tmp` in DIR; the
    re-run refused the folder as 'not empty', or finished with the stray file in it."""
    out = tmp_path / "out"
    if "run.json" in leftovers:
        assert main(["generate", *ARGS, "--out", str(out)]) == 0
        (out / "summary.json").unlink()
        (out / "labels.csv").unlink()
    else:
        out.mkdir()
        (out / ".kplate.lock").write_text("12345\n")
    for name in leftovers:
        if name != "run.json":
            (out / name).write_bytes(b"torn")
    assert main(["generate", *ARGS, "--out", str(out)]) == 0
    assert tree_bytes(out) == reference
