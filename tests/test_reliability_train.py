"""Issue #9 for `kplate train`: kill -9 at chosen points, then the re-run a user would type,
gives exactly the weights, optimiser state and log of an uninterrupted run; hostile
dataroots, corrupt checkpoints and a full disk are one line with exit code 2.

The killed runs are real subprocesses (`python -m kplate train`, one thread) killed with
SIGKILL as a process group. Some kill points are polled from outside (a number of logged
steps); the exact ones (right before the first checkpoint is written, inside the write of
a checkpoint) come from a wrapper that runs the CLI and SIGKILLs its own process at the
Nth call of a function. The re-run is what a user would do: `--resume` when
`checkpoint.pt` exists, else the same command again.
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

from helpers import TINY_TRAIN as TRAIN
from helpers import TRAIN_STARTUP as STARTUP
from helpers import one_error_line
from killpoint import KILLPOINT
from kplate.cli import main

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(REPO / "src"), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
ENV["PYTHONWARNINGS"] = "ignore"

STEPS = 4


def make_tiny_dataroot(root: Path) -> Path:
    sys.path.insert(0, str(Path(__file__).parent))
    from test_gan_train import make_dataroot

    return make_dataroot(root, count=6)


def command(dataroot: Path, checkpoints: Path, *extra: str) -> list[str]:
    return ["train", "--dataroot", str(dataroot), "--name", "run",
            "--checkpoints-dir", str(checkpoints), *TRAIN, *extra]  # fmt: skip


def run_cli(args: list[str], kill_at: dict | None = None, **popen) -> subprocess.Popen:
    if kill_at is None:
        argv = [sys.executable, "-m", "kplate", *args]
    else:
        argv = [sys.executable, "-c", KILLPOINT, json.dumps(kill_at), *args]
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(argv, env=ENV, start_new_session=True, **popen)


def kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def logged_steps(run: Path) -> int:
    try:
        return (run / "train.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def state_of(run: Path) -> dict:
    """What must equal an uninterrupted run: weights, optimisers, schedulers, RNG, position."""
    data = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    return {k: data[k] for k in ("step", "total_steps", "sampler", "model", "rng", "world_size")}


def assert_same(a, b, where: str = "") -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype, where
        assert torch.equal(a, b), f"{where} differs"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_log_complete(run: Path, reference: Path) -> None:
    text = (run / "train.jsonl").read_text(encoding="utf-8")
    steps = [json.loads(line)["step"] for line in text.splitlines()]
    assert steps == list(range(1, STEPS + 1)), "one line per step, none missing or doubled"
    assert text == (reference / "train.jsonl").read_text(encoding="utf-8"), "losses differ"


def assert_no_temporaries(run: Path) -> None:
    stray = [p.name for p in run.rglob("*.tmp")]
    assert not stray, f"temporaries left in the run folder: {stray}"


@pytest.fixture(scope="module")
def dataroot(tmp_path_factory) -> Path:
    return make_tiny_dataroot(tmp_path_factory.mktemp("train-data") / "d")


@pytest.fixture(scope="module")
def reference(dataroot: Path, tmp_path_factory) -> Path:
    """An uninterrupted run in a subprocess, exactly as the killed runs are started."""
    checkpoints = tmp_path_factory.mktemp("train-reference")
    done = run_cli(command(dataroot, checkpoints))
    _, err = done.communicate(timeout=300)
    assert done.returncode == 0, err.decode()[-2000:]
    return checkpoints / "run"


def rerun_as_a_user_would(dataroot: Path, checkpoints: Path, in_process: bool = False) -> None:
    """`--resume` when checkpoint.pt exists, else the same command; in this process (one
    thread, as the subprocesses) where the import time matters, else as a subprocess."""
    resume = ["--resume"] if (checkpoints / "run" / "checkpoint.pt").exists() else []
    if in_process:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            assert main(command(dataroot, checkpoints, *resume)) == 0
        finally:
            torch.set_num_threads(threads)
        return
    done = run_cli(command(dataroot, checkpoints, *resume))
    _, err = done.communicate(timeout=300)
    assert done.returncode == 0, err.decode()[-2000:]


# Exact kill points: (target, call number, after the real call?) and whether a checkpoint
# must exist when the process dies.
EXACT = {
    # torch.save is only used for checkpoint.pt and generator.pt: call 1 is the first save
    # (step 2), so the run dies with the run folder and two logged steps but no checkpoint.
    "before-first-checkpoint": ({"target": "torch.save", "at": 1, "after": False}, False),
    # Call 3 is checkpoint.pt of step 4: its bytes are in `.checkpoint.pt.XXXX.tmp`, not renamed.
    "inside-a-checkpoint-write": ({"target": "torch.save", "at": 3, "after": True}, True),
}


@pytest.mark.parametrize("point", sorted(EXACT))
def test_train_killed_at_an_exact_point_then_rerun_equals_uninterrupted(
    tmp_path: Path, dataroot: Path, reference: Path, point: str
) -> None:
    kill_at, has_checkpoint = EXACT[point]
    checkpoints = tmp_path / "ck"
    process = run_cli(command(dataroot, checkpoints), kill_at=kill_at)
    process.communicate(timeout=300)
    assert process.returncode == -signal.SIGKILL, "the run was not killed where intended"
    run = checkpoints / "run"
    assert (run / "checkpoint.pt").exists() == has_checkpoint
    if not has_checkpoint:
        assert (run / "options.json").is_file() and logged_steps(run) == 2
        assert not (run / "generator.pt").exists()
    else:
        assert any(run.glob(".checkpoint.pt.*.tmp")), "the kill should leave a temporary"
        assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] == 2
    rerun_as_a_user_would(dataroot, checkpoints, in_process=True)
    assert_same(state_of(run), state_of(reference), "checkpoint")
    assert_log_complete(run, reference)
    assert_no_temporaries(run)


def _kill_after_logged_steps(dataroot: Path, checkpoints: Path, target: int) -> None:
    process = run_cli(command(dataroot, checkpoints))
    run = checkpoints / "run"
    deadline = time.monotonic() + 300
    try:
        while logged_steps(run) < target:
            assert process.poll() is None, "the run ended before the kill point"
            assert time.monotonic() < deadline, "the run never reached the kill point"
            time.sleep(0.002)
    finally:
        kill_group(process)


@pytest.mark.slow
def test_train_killed_after_a_checkpoint_then_resume_equals_uninterrupted(
    tmp_path: Path, dataroot: Path, reference: Path
) -> None:
    """Step 3 is logged after the checkpoint of step 2 is saved: --resume continues from 2."""
    checkpoints = tmp_path / "ck"
    _kill_after_logged_steps(dataroot, checkpoints, 3)
    run = checkpoints / "run"
    assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] >= 2
    rerun_as_a_user_would(dataroot, checkpoints)
    assert_same(state_of(run), state_of(reference), "checkpoint")
    assert_log_complete(run, reference)
    assert (run / "generator.pt").read_bytes() != b""
    g = torch.load(run / "generator.pt", weights_only=True)
    assert_same(g["G"], state_of(reference)["model"]["G"], "generator.pt")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_train_killed_repeatedly_at_seeded_points_then_resume(
    tmp_path: Path, dataroot: Path, reference: Path, seed: int
) -> None:
    """Two kills in a row at seeded numbers of logged steps, each from the state the last
    one left, then the re-run a user would type."""
    checkpoints = tmp_path / "ck"
    rng = random.Random(seed)
    for target in sorted(rng.sample(range(1, STEPS + 1), 2)):
        _kill_after_logged_steps(dataroot, checkpoints, target)
        if target == STEPS:
            break
    rerun_as_a_user_would(dataroot, checkpoints)
    run = checkpoints / "run"
    assert_same(state_of(run), state_of(reference), "checkpoint")
    assert_log_complete(run, reference)
    assert_no_temporaries(run)


def test_resume_before_the_first_checkpoint_says_what_to_do(
    tmp_path: Path, dataroot: Path, capsys
) -> None:
    """A run folder with no checkpoint yet (killed before its first save): `--resume` says
    to run the same command without it; that command starts the run again."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "options.json").write_text("{}\n")
    (run / "train.jsonl").write_text('{"step": 1}\n{"step": 2')
    code = main(["train", "--name", "run", "--checkpoints-dir", str(tmp_path), "--resume"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert f"no checkpoint in {run}" in err and "without --resume" in err, err


# -- hostile input -------------------------------------------------------------------------


def _bomb(path: Path, size: int) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from test_reliability_hostile import png_header

    path.write_bytes(png_header(size, size))


HOSTILE = {
    "zero-byte": (lambda p: p.write_bytes(b""), "cannot read image"),
    "truncated": (lambda p: p.write_bytes((p.parents[1] / "trainA" / "000.png").read_bytes()[:60]), "cannot read image"),
    "garbage": (lambda p: p.write_bytes(os.urandom(300)), "cannot read image"),
    "bomb-100000": (lambda p: _bomb(p, 100_000), "cannot read image"),
    "bomb-8000": (lambda p: _bomb(p, 8_000), "cannot read image"),
    "self-link": (lambda p: p.symlink_to(p.name), "cannot read image"),
    "dangling-link": (lambda p: p.symlink_to("missing.png"), "cannot read image"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_image_in_a_domain_is_one_line_naming_it(tmp_path: Path, capsys, case) -> None:
    """An unusable file with an image name in trainA/ or trainB/ stops the run before
    anything is written, naming the file: training on silently fewer images is worse."""
    root = make_tiny_dataroot(tmp_path / "d")
    make, message = HOSTILE[case]
    victim = root / "trainB" / "hostile.png"
    make(victim)
    code = main(["train", "--dataroot", str(root), "--name", "x",
                 "--checkpoints-dir", str(tmp_path / "ck"), *TRAIN])  # fmt: skip
    line = one_error_line(capsys, "train", ignore=STARTUP)
    assert code == 2 and f"{victim}: {message}" in line, line
    assert not (tmp_path / "ck").exists(), "nothing may be written"


def test_a_folder_symlink_loop_in_a_domain_is_not_followed(tmp_path: Path, capsys) -> None:
    """`trainA/loop -> .` is a folder, not an image: training runs on the real images."""
    root = make_tiny_dataroot(tmp_path / "d")
    (root / "trainA" / "loop").symlink_to(".")
    (root / "trainA" / "loop.png").mkdir()  # a folder with an image name is not an image
    code = main(["train", "--dataroot", str(root), "--name", "x",
                 "--checkpoints-dir", str(tmp_path / "ck"), *TRAIN, "--steps", "1"])  # fmt: skip
    assert code == 0, capsys.readouterr().err


CORRUPT = {
    "truncated": lambda data: data[: len(data) // 2],
    "random-bytes": lambda data: random.Random(0).randbytes(len(data)),
    "zero-byte": lambda data: b"",
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_resume_from_a_corrupt_checkpoint_is_one_line(
    tmp_path: Path, reference: Path, capsys, case: str
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    data = (reference / "checkpoint.pt").read_bytes()
    (run / "checkpoint.pt").write_bytes(CORRUPT[case](data))
    code = main(["train", "--name", "run", "--checkpoints-dir", str(tmp_path), "--resume"])
    line = one_error_line(capsys, "train", ignore=STARTUP)
    assert code == 2 and f"{run / 'checkpoint.pt'}: cannot read checkpoint" in line, line


def test_disk_full_while_saving_a_checkpoint_then_resume_is_exact(
    tmp_path: Path, dataroot: Path, reference: Path, monkeypatch, capsys
) -> None:
    """ENOSPC inside the checkpoint write of step 4: one line, exit 2, no temporary; the
    checkpoint of step 2 still loads, and --resume after freeing the disk is exact."""
    real_save = torch.save
    calls = [0]

    def save(obj, handle, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 3:  # checkpoint.pt of step 4
            handle.write(b"partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(obj, handle, *args, **kwargs)

    checkpoints = tmp_path / "ck"
    run = checkpoints / "run"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        monkeypatch.setattr(torch, "save", save)
        code = main(command(dataroot, checkpoints))
        line = one_error_line(capsys, "train", ignore=STARTUP)
        assert code == 2, line
        assert line == (
            f"kplate train: error: {run}: write failed (No space left on device); "
            f"free space, then resume with: kplate train --name run --checkpoints-dir "
            f"{checkpoints} --resume"
        )
        assert_no_temporaries(run)
        assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] == 2
        monkeypatch.undo()
        assert main(command(dataroot, checkpoints, "--resume")) == 0
    finally:
        torch.set_num_threads(threads)
    assert_same(state_of(run), state_of(reference), "checkpoint")
    assert_log_complete(run, reference)


def test_disk_full_before_the_first_checkpoint_says_to_run_again(
    tmp_path: Path, dataroot: Path, monkeypatch, capsys
) -> None:
    def save(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    checkpoints = tmp_path / "ck"
    monkeypatch.setattr(torch, "save", save)
    code = main(command(dataroot, checkpoints, "--steps", "1"))
    line = one_error_line(capsys, "train", ignore=STARTUP)
    assert code == 2 and line.endswith(
        "write failed (No space left on device); free space, then run the same command again"
    ), line
    assert not (checkpoints / "run" / "checkpoint.pt").exists()
    assert_no_temporaries(checkpoints / "run")
