"""Peak memory of `kplate generate --count N`, one fresh subprocess per N.

Each run is `kplate generate --count N --format jpg --height 64` into a temporary folder,
in a fresh interpreter. Its peak RSS is the child's own `VmHWM` (/proc/self/status, read
as it exits: only the memory of the new program, not of the process that forked it), with
`os.wait4`'s ru_maxrss (what `/usr/bin/time -v` prints) where /proc is missing.
Bounded memory means the peak stays flat as N grows.

A run still going after `--time-box` seconds (10^7 plates take hours) is measured while it
runs: its VmHWM is read from /proc/PID/status every 0.2 s, the last reading is its peak so
far, and the run is then killed; its row says `"time_boxed": true`. A list of the run's
indices, say, is built before the first plate, so it shows within the box.

    python benchmarks/memory_generate.py [--counts 1000,100000,10000000] [--workers 1]
        [--height 64] [--time-box 60] [--json benchmarks/results/memory_generate.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "memory_generate.json"

# Runs the command, then reports its own high-water RSS in KiB on the last stderr line.
CHILD = """
import sys
from kplate.cli import main
code = main(sys.argv[1:])
try:
    with open("/proc/self/status") as status:
        hwm = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    print("VmHWM", hwm, file=sys.stderr)
except (OSError, StopIteration):
    pass
sys.exit(code)
"""


def _vm_hwm_kib(pid: int) -> int | None:
    """A running process's high-water RSS in KiB, or None when /proc cannot say."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        return None


def _wait(child: subprocess.Popen, time_box: float | None) -> tuple[int, object, int | None]:
    """Wait for the child, or read its peak while it runs and kill it after `time_box` s.

    Returns its wait status, resource usage and, when it was boxed, the last VmHWM read.
    """
    start = time.perf_counter()
    peak: int | None = None
    while time_box is not None:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            return status, usage, None
        peak = _vm_hwm_kib(child.pid) or peak
        if time.perf_counter() - start >= time_box:
            os.killpg(child.pid, signal.SIGKILL)
            break
        time.sleep(0.2)
    _, status, usage = os.wait4(child.pid, 0)
    return status, usage, peak


def measure(count: int, workers: int = 1, height: int = 64, time_box: float | None = None) -> dict:
    """Run one generate child and return its peak RSS (MiB), wall time and exit code;
    with `time_box`, a run still going after that many seconds is measured, then killed."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out"
        command = [
            sys.executable,
            "-c",
            CHILD,
            "generate",
            "--count",
            str(count),
            "--format",
            "jpg",
            "--height",
            str(height),
            "--workers",
            str(workers),
            "--progress",
            "False",
            "--out",
            str(out),
        ]
        start = time.perf_counter()
        # stderr goes to a file: a pipe nobody reads while the child is boxed could fill up.
        with tempfile.TemporaryFile() as errors:
            child = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True
            )
            status, usage, boxed_peak = _wait(child, time_box)
            seconds = time.perf_counter() - start
            errors.seek(0)
            lines = errors.read().decode("utf-8", "replace").strip().splitlines()
        boxed = boxed_peak is not None
        child.returncode = 0 if boxed else os.waitstatus_to_exitcode(status)
        hwm = [int(line.split()[1]) for line in lines if line.startswith("VmHWM ")]
        if boxed:
            hwm = [boxed_peak]
        error = next((line for line in reversed(lines) if not line.startswith("VmHWM ")), "")
        images = sum(1 for _ in (out / "images").glob("*.jpg")) if out.exists() else 0
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return {
        "count": count,
        "workers": workers,
        "height": height,
        "time_boxed": boxed,
        "exit_code": child.returncode,
        "images": images,
        "peak_rss_mib": round(hwm[-1] / 1024 if hwm else usage.ru_maxrss / scale, 1),
        "ru_maxrss_mib": round(usage.ru_maxrss / scale, 1),
        "seconds": round(seconds, 1),
        "error": error if child.returncode else "",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1000,100000,10000000")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument(
        "--time-box",
        type=float,
        default=60.0,
        help="seconds after which a run is measured while running, then killed (0: none)",
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",") if c.strip()]
    rows = []
    print(f"{'count':>10}  {'peak RSS (MiB)':>14}  {'seconds':>8}  {'images':>8}  exit")
    for count in counts:
        row = measure(count, args.workers, args.height, args.time_box or None)
        rows.append(row)
        boxed = " (time-boxed: peak while running, then killed)" if row["time_boxed"] else ""
        print(
            f"{row['count']:>10}  {row['peak_rss_mib']:>14.1f}  {row['seconds']:>8.1f}  "
            f"{row['images']:>8}  {row['exit_code']} {row['error']}{boxed}",
            flush=True,
        )
    base = rows[0]["peak_rss_mib"] if rows else 0.0
    result = {
        "benchmark": "memory_generate",
        "command": f"kplate generate --count N --format jpg --height {args.height}",
        "time_box_seconds": args.time_box,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "rows": rows,
        "growth_mib_first_to_last": round(rows[-1]["peak_rss_mib"] - base, 1) if rows else 0.0,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"written {args.json}")
    return 0 if all(r["exit_code"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
