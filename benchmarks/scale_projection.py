"""What 10^8 plates cost: CPU seconds per plate on one core and bytes per plate in each
output format, measured here, and the projection for a cluster of `--cores` cores that
docs/scale.md quotes.

CPU time (not wall time) per plate is the number that carries over to other machines'
cores: it does not count the time a busy machine's other jobs take. Each configuration
runs in-process with `--workers 1`; the file system's kernel time is counted, not waiting.
The cost per plate is marginal: the difference between a run of 3N and a run of N plates,
over 2N, so the fixed start of a run (imports, a plate factory's caches of every type) is
not spread over a small count as if it were paid per plate.

    python benchmarks/scale_projection.py [--count 400] [--cores 64] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "scale_projection.json"
TARGET = 10**8


def folder_bytes(folder: Path) -> int:
    """Every byte the run wrote but its bookkeeping (run.json, summary.json, the lock)."""
    skip = {"run.json", "summary.json", ".kplate.lock"}
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p.name not in skip)


def measure(count: int, height: int, augment: str | None, layout: str) -> dict:
    """Runs of `count` and 3 x `count` plates: the marginal CPU and wall seconds per plate
    (user + system, this process) and the bytes per plate of the larger run."""
    small, large = _run(count, height, augment, layout), _run(3 * count, height, augment, layout)
    return {
        "augment": augment or "clean",
        "format": "jpg folder" if layout == "folder" else layout,
        "cpu_seconds_per_plate": (large[0] - small[0]) / (2 * count),
        "wall_seconds_per_plate": (large[1] - small[1]) / (2 * count),
        "bytes_per_plate": large[2] / (3 * count),
        "fixed_cpu_seconds": small[0] - (large[0] - small[0]) / 2,
    }


def _run(count: int, height: int, augment: str | None, layout: str) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, bytes written) of one run."""
    from kplate.io.layout import Layout
    from kplate.pipeline import GenerateConfig, WriteOptions, write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        config = GenerateConfig(count=count, height=height, augment=augment, seed=1)
        sizes = {} if layout == "folder" else {"shard_size": 1000}
        options = WriteOptions(out=out, layout=Layout(layout), progress=False, **sizes)
        cpu, wall = time.process_time(), time.perf_counter()
        write_dataset(config, options)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        size = folder_bytes(out)
    return cpu, wall, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="N: runs of N and 3N plates")
    parser.add_argument("--height", type=int, default=110)
    parser.add_argument("--cores", type=int, default=64)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions")
    parser.add_argument("--quick", action="store_true", help="50 plates, 1 round: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.count, args.rounds = 50, 1
    if args.count < 10 or args.cores < 1 or args.rounds < 1:
        parser.exit(2, f"{parser.prog}: error: need --count >= 10, --cores and --rounds >= 1\n")
    from kplate.pipeline import GenerateConfig, PlateFactory

    # Warm the imports and this process's glyph caches once, so no row pays them.
    PlateFactory(GenerateConfig(count=1, height=args.height, augment="light")).check()
    layouts = ["folder", "webdataset"]
    try:
        import pyarrow  # noqa: F401

        layouts.append("parquet")
    except ImportError:
        pass
    configs = [(augment, layout) for augment in (None, "light") for layout in layouts]
    configs.append(("heavy", "folder"))
    # Rounds of every configuration back to back, then the median of each number: a busy
    # machine's bursts land on one round, not on one configuration.
    measured = [
        [measure(args.count, args.height, augment, layout) for augment, layout in configs]
        for _ in range(args.rounds)
    ]
    rows = []
    for k in range(len(configs)):
        runs = [each[k] for each in measured]
        rows.append(
            {
                key: sorted(r[key] for r in runs)[len(runs) // 2]
                if isinstance(runs[0][key], float)
                else runs[0][key]
                for key in runs[0]
            }
        )
    print(
        f"{'augment':8} {'format':12} {'CPU ms/plate':>12} {'wall ms/plate':>13} "
        f"{'bytes/plate':>11} {'fixed CPU s':>11}  (medians of {args.rounds} rounds)"
    )
    for row in rows:
        print(
            f"{row['augment']:8} {row['format']:12} {row['cpu_seconds_per_plate'] * 1e3:>12.2f} "
            f"{row['wall_seconds_per_plate'] * 1e3:>13.2f} {row['bytes_per_plate']:>11.0f} "
            f"{row['fixed_cpu_seconds']:>11.2f}"
        )
    print(f"\n10^8 plates at {args.height} px on {args.cores} cores (CPU time / cores):")
    projection = []
    for row in rows:
        core_hours = row["cpu_seconds_per_plate"] * TARGET / 3600
        hours = core_hours / args.cores
        gigabytes = row["bytes_per_plate"] * TARGET / 1e9
        projection.append({**row, "core_hours": core_hours, "hours": hours, "gb": gigabytes})
        print(
            f"  {row['augment']:6} {row['format']:11}: {core_hours:8.0f} core-hours, "
            f"{hours:6.1f} h on {args.cores} cores, {gigabytes:7.0f} GB"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "count": args.count,
                "rounds": args.rounds,
                "height": args.height,
                "cores": args.cores,
                "target_plates": TARGET,
                "rows": projection,
                "load_average_1min": round(os.getloadavg()[0], 2),
                "cpu_count": os.cpu_count(),
            },
            indent=1,
        )
    )
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
