"""Peak memory of `kplate generate --count N`, one fresh subprocess per N.

Each run is `kplate generate --count N --format jpg --height 64` into a temporary folder,
in a fresh interpreter. Its peak RSS is the child's own `VmHWM` (/proc/self/status, read
as it exits: only the memory of the new program, not of the process that forked it), with
`os.wait4`'s ru_maxrss (what `/usr/bin/time -v` prints) where /proc is missing.
Bounded memory means the peak stays flat as N grows.

    python benchmarks/memory_generate.py [--counts 1000,10000,100000] [--workers 1]
        [--json benchmarks/results/memory_generate.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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


def measure(count: int, workers: int = 1, height: int = 64) -> dict:
    """Run one generate child and return its peak RSS (MiB), wall time and exit code."""
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
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        assert child.stderr is not None
        lines = child.stderr.read().decode("utf-8", "replace").strip().splitlines()
        child.stderr.close()
        hwm = [int(line.split()[1]) for line in lines if line.startswith("VmHWM ")]
        error = next((line for line in reversed(lines) if not line.startswith("VmHWM ")), "")
        images = len(list((out / "images").glob("*.jpg"))) if out.exists() else 0
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return {
        "count": count,
        "workers": workers,
        "exit_code": child.returncode,
        "images": images,
        "peak_rss_mib": round(hwm[-1] / 1024 if hwm else usage.ru_maxrss / scale, 1),
        "ru_maxrss_mib": round(usage.ru_maxrss / scale, 1),
        "seconds": round(seconds, 1),
        "error": error if child.returncode else "",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1000,10000,100000")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",") if c.strip()]
    rows = []
    print(f"{'count':>8}  {'peak RSS (MiB)':>14}  {'seconds':>8}  exit")
    for count in counts:
        row = measure(count, args.workers)
        rows.append(row)
        print(
            f"{row['count']:>8}  {row['peak_rss_mib']:>14.1f}  {row['seconds']:>8.1f}  "
            f"{row['exit_code']} {row['error']}",
            flush=True,
        )
    base = rows[0]["peak_rss_mib"] if rows else 0.0
    result = {
        "benchmark": "memory_generate",
        "command": "kplate generate --count N --format jpg --height 64",
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
