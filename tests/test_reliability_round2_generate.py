"""Issue #13, `kplate generate`, `samples` and `preview`: every option is built and tried
before the disk is touched, workers never hang, memory is flat in --count, every size in
the accepted range renders, and signals and closed pipes end a run in one line.

Failures 3, 4, 8 and 9 and the generate weak spots of the issue; each test here failed on
main (8430444): a hang, a traceback, a folder left behind, or 555 MiB against 96 MiB.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import ImageFont

import kplate.pipeline.pool as pool_module
from helpers import one_error_line, tree_bytes
from kplate.cli import main
from kplate.numbers import sample
from kplate.pipeline import PlateFactory
from kplate.render import Renderer
from kplate.render.plate import MAX_SIDE, MIN_SIDE
from kplate.spec.alphabet import grammar_alphabet
from kplate.spec.types import EXAMPLES, PlateType, plate_characters

REPO = Path(__file__).resolve().parents[1]
GEN = ["--seed", "3", "--height", "32", "--progress", "False"]


def kplate(*args: str, timeout: float = 60, **popen) -> subprocess.CompletedProcess:
    """`python -m kplate ARGS` in a fresh process (a hang fails the test, not the suite)."""
    return subprocess.run(
        [sys.executable, "-m", "kplate", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **popen,
    )


def one_line(result: subprocess.CompletedProcess, command: str = "generate") -> str:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-2000:]
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(f"kplate {command}: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def fonts(tmp_path_factory) -> dict[str, Path]:
    """Fonts that are not fonts, or cannot draw a plate: Pillow's bundled Latin font (no
    Hangul), it cut in half, random bytes, an empty file, a folder, /dev/null."""
    folder = tmp_path_factory.mktemp("fonts")
    latin = ImageFont.load_default(size=14).font_bytes
    made = {
        "latin.ttf": latin,
        "half.ttf": latin[: len(latin) // 2],
        "head.ttf": latin[:300],
        "random.ttf": np.random.default_rng(0).bytes(4000),
        "empty.ttf": b"",
    }
    for name, data in made.items():
        (folder / name).write_bytes(data)
    (folder / "folder.ttf").mkdir()
    paths = {name: folder / name for name in [*made, "folder.ttf"]}
    paths["devnull"] = Path("/dev/null")
    return paths


# -- failure 3: a bad option with --workers 2 fails at once --------------------------------


@pytest.mark.parametrize("types", ["all", "private_2digit"])  # lanes, and one shared pool
@pytest.mark.parametrize(
    "option",
    [
        ["--font", "nope.ttf"],
        ["--augment", "nosuchpreset"],
        ["--glyph-dir", "nodir"],
        ["--augment-config", "bad.yaml"],
    ],
)
def test_bad_option_with_workers_is_one_line_at_once(
    tmp_path: Path, option: list[str], types: str
) -> None:
    (tmp_path / "bad.yaml").write_text("a: [\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["generate", "--count", "40", *GEN, "--workers", "2", "--types", types]
    result = kplate(*args, *option, "--out", str(out), cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    single = kplate(*args[:-4], *option, "--out", str(out), cwd=tmp_path)
    assert one_line(result) == one_line(single)
    assert not out.exists()


class _TwoArgumentError(Exception):
    """An exception pickle cannot rebuild: Pool's result thread died on it and waited."""

    def __init__(self, index: int, why: str) -> None:
        super().__init__(f"plate {index}: {why}")


@pytest.mark.parametrize("types", ["all", "private_2digit"])
@pytest.mark.parametrize("failure", ["user", "bug", "killed"])
def test_a_worker_failing_mid_run_stops_the_run(
    tmp_path: Path, capsys, monkeypatch, failure: str, types: str
) -> None:
    """A user error, a bug or a killed worker, at the 30th plate: the run stops, never hangs."""
    from kplate.errors import InvalidPlateError

    make = PlateFactory.make

    def failing(self, index: int, **kwargs):
        if index == 30 and os.getpid() != parent:
            if failure == "user":
                raise InvalidPlateError("12가3456", "made up for the test")
            if failure == "bug":
                raise _TwoArgumentError(index, "made up for the test")
            os.kill(os.getpid(), signal.SIGKILL)
        return make(self, index, **kwargs)

    parent = os.getpid()
    monkeypatch.setattr(pool_module, "WORKER_CHECK_SECONDS", 0.2)
    monkeypatch.setattr(PlateFactory, "make", failing)
    args = ["generate", "--count", "200", *GEN, "--workers", "2", "--types", types]
    out = tmp_path / "out"
    if failure == "bug":
        with pytest.raises(pool_module.WorkerError, match="_TwoArgumentError"):
            main([*args, "--out", str(out)])
        return
    assert main([*args, "--out", str(out)]) == 2
    line = one_error_line(capsys, "generate")
    expected = "made up for the test" if failure == "user" else "a worker process died"
    assert expected in line
    assert not (out / "summary.json").exists()
    monkeypatch.undo()  # the cause is gone: the same command finishes the run
    assert main([*args, "--out", str(out)]) == 0


class _StuckPool:
    """A stand-in multiprocessing pool whose terminate() waits forever, as CPython's does
    when its task handler waits for a lock a killed worker held (python/cpython#96995),
    with two real worker processes that sleep."""

    def __init__(self, stuck: bool) -> None:
        context = multiprocessing.get_context("fork")
        self._pool = [context.Process(target=time.sleep, args=(60,)) for _ in range(2)]
        for process in self._pool:
            process.start()
        self.stuck = stuck
        self.terminated = threading.Event()

    def terminate(self) -> None:
        self.terminated.set()
        if self.stuck:
            threading.Event().wait()


@pytest.mark.parametrize("stuck", [True, False], ids=["terminate hangs", "terminate returns"])
def test_stopping_a_pool_never_waits_on_a_hung_terminate(monkeypatch, stuck: bool) -> None:
    """A pool whose terminate() hangs is given TERMINATE_SECONDS, then its live workers
    are killed and the run goes on stopping; a pool whose terminate() returns is left to it."""
    monkeypatch.setattr(pool_module, "TERMINATE_SECONDS", 0.3)
    pool = _StuckPool(stuck)
    try:
        stopping = threading.Thread(target=pool_module._terminate, args=(pool,), daemon=True)
        stopping.start()
        stopping.join(20)
        assert not stopping.is_alive(), "_terminate waited on the pool's terminate()"
        assert pool.terminated.is_set()
        for process in pool._pool:
            process.join(5 if stuck else 0.5)
        expected = -signal.SIGKILL if stuck else None
        assert [process.exitcode for process in pool._pool] == [expected, expected]
    finally:
        for process in pool._pool:
            process.kill()
            process.join()


# -- failure 4: every option is checked before the folder or its lock exists ----------------

BAD_OPTIONS = [
    ["--height", "-5"],
    ["--height", "0"],
    ["--height", "1"],
    ["--height", "2"],
    ["--height", "3000"],
    ["--height", "100000"],
    ["--height", "500"],  # a 520 mm plate would be 2364 pixels wide
    ["--width", "0"],
    ["--width", "-10"],
    ["--width", "1"],
    ["--width", "10000000"],
    ["--height", "16", "--width", "4096"],
    ["--weights", "nan,1", "--types", "private_2digit,electric"],
    ["--weights", "inf,1", "--types", "private_2digit,electric"],
    ["--weights", "1e308,1e308", "--types", "private_2digit,electric"],
    ["--weights", "-1,2", "--types", "private_2digit,electric"],
    ["--weights", "0,0", "--types", "private_2digit,electric"],
    ["--weights", "1", "--types", "private_2digit,electric"],
    ["--seed", "-1"],
    ["--seed", "18446744073709551615"],
    ["--seed", str(2**63)],
    ["--types", "private_2digit,private_2digit"],
    ["--types", "basic_europe,private_2digit"],
    ["--workers", "0"],
    ["--workers", "100000"],
    ["--glyph-dir", "nodir"],
    ["--glyph-dir", "empty_dir"],
    ["--augment", "nosuchpreset"],
    ["--augment-config", "bad.yaml"],
    ["--augment-config", "missing.yaml"],
    ["--font", "nope.ttf"],
    *(["--font", f"FONT:{name}"] for name in ["latin.ttf", "half.ttf", "head.ttf"]),
    *(["--font", f"FONT:{name}"] for name in ["random.ttf", "empty.ttf", "folder.ttf"]),
    ["--font", "FONT:devnull"],
    ["--translate", "FONT:random.ttf"],  # random bytes as a checkpoint
]


@pytest.mark.parametrize("option", BAD_OPTIONS, ids=" ".join)
def test_bad_option_leaves_no_folder_and_the_corrected_command_runs(
    tmp_path: Path, capsys, monkeypatch, fonts: dict[str, Path], option: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text("a: [\n", encoding="utf-8")
    Path("empty_dir").mkdir()
    option = [str(fonts[v[5:]]) if v.startswith("FONT:") else v for v in option]
    args = ["generate", "--count", "6", "--progress", "False", "--out", "out"]
    assert main([*args, *option]) == 2
    one_error_line(capsys, "generate")
    assert not Path("out").exists()
    assert main(args) == 0
    assert len(list(Path("out/images").iterdir())) == 6


def test_bad_option_leaves_an_earlier_run_unchanged(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["generate", "--count", "5", *GEN, "--out", str(out)]) == 0
    before = tree_bytes(out)
    for option in (["--height", "1"], ["--font", str(tmp_path)], ["--augment", "nope"]):
        assert main(["generate", "--count", "5", *GEN, *option, "--out", str(out)]) == 2
        one_error_line(capsys, "generate")
        assert tree_bytes(out) == before


@pytest.mark.parametrize(
    ("command", "option"),
    [
        ("samples", ["--height", "1"]),
        ("samples", ["--height", "5000"]),
        ("samples", ["--font", "FONT:latin.ttf"]),
        ("samples", ["--font", "FONT:half.ttf"]),
        ("samples", ["--glyph-dir", "nodir"]),
        ("samples", ["--types", "electric,electric"]),
        ("preview", ["--height", "0"]),
        ("preview", ["--font", "FONT:random.ttf"]),
        ("preview", ["--augment-config", "bad.yaml"]),
        ("preview", ["--augment", "nosuchpreset"]),
        ("preview", ["--count", "1000000000"]),
        ("preview", ["--seed", "-1"]),
    ],
)
def test_samples_and_preview_check_every_option_before_writing(
    tmp_path: Path, capsys, monkeypatch, fonts: dict[str, Path], command: str, option: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text("a: [\n", encoding="utf-8")
    option = [str(fonts[v[5:]]) if v.startswith("FONT:") else v for v in option]
    out = ["--out", "dir/sheet.png"] if command == "preview" else ["--out", "dir"]
    assert main([command, *out, *option]) == 2
    one_error_line(capsys, command)
    assert not Path("dir").exists()
    corrected = ["--count", "2"] if command == "preview" else ["--types", "electric"]
    assert main([command, *out, "--height", "16", *corrected]) == 0


def test_samples_and_preview_out_that_cannot_be_used(tmp_path: Path, capsys) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("mine", encoding="utf-8")
    for args in (
        ["samples", "--out", str(a_file)],
        ["samples", "--out", str(a_file / "sub")],
        ["preview", "--out", str(a_file / "sheet.png")],
        ["preview", "--out", str(tmp_path)],
    ):
        assert main([*args, "--height", "16"]) == 2
        one_error_line(capsys, args[0])
    assert a_file.read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("damage", ["metadata_is_a_folder", "images_is_a_file"])
def test_resume_where_kplates_own_names_are_something_else(
    tmp_path: Path, capsys, damage: str
) -> None:
    out = tmp_path / "out"
    args = ["generate", "--count", "8", *GEN, "--out", str(out)]
    assert main(args) == 0
    (out / "summary.json").unlink()
    if damage == "metadata_is_a_folder":
        (out / "metadata.jsonl").unlink()
        (out / "metadata.jsonl").mkdir()
        name = "metadata.jsonl"
    else:
        for image in (out / "images").iterdir():
            image.unlink()
        (out / "images").rmdir()
        (out / "images").write_text("not a folder", encoding="utf-8")
        name = "images"
    assert main(args) == 2
    assert name in one_error_line(capsys, "generate")


# -- failure 8: memory does not grow with --count -----------------------------------------


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs /proc VmHWM")
def test_memory_of_a_ten_million_plate_run_stays_near_a_thousand_plate_run() -> None:
    """The run is measured while it runs (time-boxed), then killed: a list of its 10^7
    indices was built before the first plate (555 MiB against 96 MiB)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from memory_generate import measure

    small = measure(1000, workers=1, height=16)
    assert small["exit_code"] == 0, small["error"]
    large = measure(10_000_000, workers=1, height=16, time_box=4)
    assert large["time_boxed"] and large["exit_code"] == 0, large["error"]
    growth = large["peak_rss_mib"] - small["peak_rss_mib"]
    assert growth < 20, f"{small['peak_rss_mib']} MiB at 1,000, {large['peak_rss_mib']} at 10^7"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs /proc VmHWM")
@pytest.mark.parametrize("types", ["all", "private_2digit"])
def test_memory_with_workers_does_not_grow_with_count(types: str) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    import memory_generate

    small = memory_generate.measure(1000, workers=2, height=16)
    large = memory_generate.measure(100_000_000, workers=2, height=16, time_box=15)
    assert large["time_boxed"], large
    assert large["peak_rss_mib"] - small["peak_rss_mib"] < 20, (small, large)


# -- failure 9: every size in the accepted range renders ------------------------------------


def _sizes(seed: int, count: int, top: int) -> list[tuple[int, int | None]]:
    rng = np.random.default_rng(seed)
    heights = rng.integers(MIN_SIDE, top, count)
    widths = rng.integers(MIN_SIDE, top * 5, count)
    return [(int(h), int(w)) for h, w in zip(heights, widths, strict=True)]


EXTREMES = [
    (60, 315),  # the issue's case: ValueError from Pillow
    (MIN_SIDE, MIN_SIDE),
    (MIN_SIDE, MAX_SIDE),
    (MAX_SIDE, MIN_SIDE),
    (MIN_SIDE, None),
    (9, 10),
    (10, 9),
]


@pytest.mark.parametrize("plate_type", list(PlateType), ids=str)
def test_every_size_renders(plate_type: PlateType) -> None:
    """A seeded sweep of forced sizes (Pillow failed on 892 of 4,956 per type set before),
    every small height alone, and the extremes of the accepted range."""
    renderer = Renderer()
    sizes = [*EXTREMES, *_sizes(list(PlateType).index(plate_type), 150, 90)]
    sizes += [(h, None) for h in range(MIN_SIDE, 40)]
    for height, width in sizes:
        plate = renderer.render(EXAMPLES[plate_type], plate_type, height=height, width=width)
        assert plate.image.shape[0] == height
        if width is not None:
            assert plate.image.shape[1] == width
        renderer._backgrounds.clear()  # a sweep this long would keep every size's background


@pytest.mark.slow
@pytest.mark.parametrize("plate_type", list(PlateType), ids=str)
def test_every_size_renders_wide_sweep(plate_type: PlateType) -> None:
    renderer = Renderer()
    # Every height to 79, widths 13 apart (odd, so both parities): pressed characters made
    # each new size's sprites dearer (issue #15), and 7 apart took 3.2 of the suite's minutes.
    for height in range(MIN_SIDE, 80):
        for width in range(MIN_SIDE, 400, 13):
            renderer.render(EXAMPLES[plate_type], plate_type, height=height, width=width)
        renderer._backgrounds.clear()
    for height, width in _sizes(7, 20, MAX_SIDE // 5):
        renderer.render(EXAMPLES[plate_type], plate_type, height=height, width=width)
        renderer._backgrounds.clear()


def test_the_issues_forced_size_writes_a_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--height", "60", "--width", "315", "--types", "private_2digit", "--count", "3"]
    assert main(["generate", *args, "--progress", "False", "--out", str(out)]) == 0
    assert len(list((out / "images").iterdir())) == 3


def test_plate_characters_cover_what_the_sampler_draws() -> None:
    """The glyph check before a run asks the glyph source for these characters."""
    import random

    rng = random.Random(0)
    for plate_type in PlateType:
        allowed = plate_characters(plate_type)
        assert allowed <= grammar_alphabet()
        drawn = {c for _ in range(3000) for c in sample(plate_type, rng)}
        assert drawn <= allowed, (plate_type, drawn - allowed)
        assert set(EXAMPLES[plate_type]) <= allowed


# -- weak spots -----------------------------------------------------------------------------


def test_negative_weights_parse_and_are_refused_clearly(tmp_path: Path, capsys) -> None:
    args = ["generate", "--types", "private_2digit,electric", "--out", str(tmp_path / "o")]
    assert main([*args, "--weights", "-1,2"]) == 2
    line = one_error_line(capsys, "generate")
    assert "--weights -1,2: must be non-negative" in line
    assert main([*args, "--weights", "-inf,2"]) == 2
    assert "finite" in one_error_line(capsys, "generate")


def test_height_zero_is_refused_not_read_as_the_default(tmp_path: Path, capsys) -> None:
    assert main(["generate", "--height", "0", "--out", str(tmp_path / "o")]) == 2
    assert "--height 0" in one_error_line(capsys, "generate")


def test_duplicate_types_name_the_duplicate(tmp_path: Path, capsys) -> None:
    args = ["generate", "--types", "electric,private_2digit,electric"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    assert "electric more than once" in one_error_line(capsys, "generate")


def _as_a_terminal_job() -> None:
    """Ctrl-C as a terminal's job gets it: a shell that ran pytest in the background left
    SIGINT ignored, which a child inherits (and Python then sets no Ctrl-C handler)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(tmp_path: Path, workers: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "kplate", "generate", "--count", "1000000", *GEN]
    command += ["--workers", workers, "--out", str(tmp_path / "out")]
    child = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        preexec_fn=_as_a_terminal_job,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    manifest = tmp_path / "out" / "metadata.jsonl"
    while not (manifest.is_file() and manifest.stat().st_size > 0):
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    return child


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize(
    ("how", "code", "word"),
    [("ctrl-c", 130, "interrupted"), ("sigterm", 143, "terminated")],
)
def test_ctrl_c_and_sigterm_end_in_one_line(
    tmp_path: Path, workers: str, how: str, code: int, word: str
) -> None:
    """Ctrl-C reaches the whole process group; `docker stop` sends SIGTERM to the main
    process alone. Either way: one line, 130 or 143, workers gone, and the re-run resumes."""
    child = _start(tmp_path, workers)
    if how == "ctrl-c":
        os.killpg(child.pid, signal.SIGINT)
    else:
        os.kill(child.pid, signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == code
    assert err.decode().splitlines() == [f"kplate generate: {word}"]
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):
        os.killpg(child.pid, 0)  # no worker is left in the group


def test_a_closed_stdout_does_not_stop_the_run(tmp_path: Path) -> None:
    """`kplate generate ... | head -1`: the reader goes, the run finishes, nothing blamed."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "kplate", "generate", "--count", "300", "--seed", "1"]
    command += ["--height", "16", "--out", str(out)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline().endswith(b"plates\n")
    child.stdout.close()
    assert child.wait(timeout=120) == 0
    assert child.stderr is not None and child.stderr.read() == b""
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["count"] == 300
