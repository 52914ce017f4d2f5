"""Generation speed and memory, as ratios to a baseline measured in the same run.

Baseline: encode and write the same number of same-size JPEGs with no drawing (one
pre-rendered plate, re-encoded each time). Every configuration runs in a fresh
subprocess, so its peak RSS is its own.

With dask.distributed installed (`kplate[dask]`) a row runs the same clean run on a
`LocalCluster` of 2 single-thread worker processes (`--scheduler`), reported against
`--workers 2` of the same round; the cluster's start-up is timed apart, since a cluster
outlives the runs sent to it (the row's time includes the workers' first import of kplate
and their first plate caches, as a run sent to a fresh cluster pays them).

File creation on a shared virtual disk costs anything from 0.05 to 1 ms of kernel time,
changing within seconds, so one measurement of each is not a comparison. The script runs
`--rounds` rounds, each the baseline and then every configuration back to back, and
reports per configuration the median over rounds of its ratio to that round's baseline.

    python benchmarks/generate_speed.py [--count 2000] [--rounds 3] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "generate_speed.json"


def _peak_rss_mb() -> float:
    """This process's own peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss over
    from the parent across fork+exec, so a child would report the runner's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _plate_image(height: int):
    from kplate.render import render_plate

    return render_plate("12가3456", height=height).image


def _encode_and_write(job: tuple) -> None:
    """Encode one image again and again and write it as files start..stop-1 of `folder`."""
    from kplate.io.files import encode_image

    folder, image, start, stop = job
    for index in range(start, stop):
        (Path(folder) / f"{index:06d}.jpg").write_bytes(encode_image(image, "jpg", 95))


def child_baseline(count: int, height: int) -> dict:
    """Encode and write `count` JPEGs of a plate's size: the floor any generator pays."""
    image = _plate_image(height)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        _encode_and_write((folder, image, 0, count))
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "per_second": count / seconds, "peak_rss_mb": _peak_rss_mb()}


def child_baseline2(count: int, height: int) -> dict:
    """The baseline split over two processes: how far this machine's two cores and its
    file system let even bare JPEG writing scale (the ceiling for two workers)."""
    import multiprocessing

    with tempfile.TemporaryDirectory() as folder:
        half = count // 2
        image = _plate_image(height)
        jobs = [(folder, image, 0, half), (folder, image, half, count)]
        start = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(2) as pool:
            pool.map(_encode_and_write, jobs)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "per_second": count / seconds, "peak_rss_mb": _peak_rss_mb()}


def child_generate(count: int, height: int, workers: int, augment: str | None) -> dict:
    from kplate.pipeline import GenerateConfig, WriteOptions, write_dataset

    with tempfile.TemporaryDirectory() as folder:
        config = GenerateConfig(count=count, height=height, augment=augment, seed=1)
        options = WriteOptions(out=Path(folder) / "out", workers=workers, progress=False)
        start = time.perf_counter()
        write_dataset(config, options)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "per_second": count / seconds, "peak_rss_mb": _peak_rss_mb()}


def child_dask(count: int, height: int, workers: int) -> dict:
    """The clean run sent to a fresh LocalCluster of `workers` processes (1 thread each)."""
    from distributed import LocalCluster

    from kplate.pipeline import GenerateConfig, WriteOptions, write_dataset

    started = time.perf_counter()
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        tempfile.TemporaryDirectory() as folder,
    ):
        cluster_seconds = time.perf_counter() - started
        config = GenerateConfig(count=count, height=height, seed=1)
        options = WriteOptions(
            out=Path(folder) / "out", scheduler=cluster.scheduler_address, progress=False
        )
        start = time.perf_counter()
        write_dataset(config, options)
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "per_second": count / seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "cluster_start_seconds": cluster_seconds,
    }


def dask_available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def run_child(kind: str, **kwargs) -> dict:
    code = (
        f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import generate_speed as g; "
        f"print(json.dumps(g.child_{kind}(**{kwargs!r})))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def augment_available() -> bool:
    try:
        from kplate.augment import build_augmenter  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--height", type=int, default=110)
    parser.add_argument("--memory-counts", default="1000,50000")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions")
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()
    try:
        memory_counts = [int(c) for c in args.memory_counts.split(",")]
    except ValueError:
        parser.exit(2, f"{parser.prog}: error: --memory-counts {args.memory_counts!r}: "
                       "expected whole numbers separated by commas\n")  # fmt: skip
    for flag, value, least in (("--count", args.count, 1), ("--height", args.height, 8),
                               ("--rounds", args.rounds, 1), ("--memory-counts", min(memory_counts), 1)):  # fmt: skip
        if value < least:
            parser.exit(2, f"{parser.prog}: error: {flag} must be {least} or more, got {value}\n")
    count = 300 if args.quick else args.count
    memory_counts = [200, 2000] if args.quick else memory_counts

    configs = [(None, 1), (None, 2)]
    if augment_available():
        configs += [("light", 1), ("light", 2), ("heavy", 1)]
    rounds = []  # per round: {"baseline": result, (augment, workers): result}
    for _ in range(1 if args.quick else args.rounds):
        measured = {
            "baseline": run_child("baseline", count=count, height=args.height),
            "baseline2": run_child("baseline2", count=count, height=args.height),
        }
        for augment, workers in configs:
            measured[(augment, workers)] = run_child(
                "generate", count=count, height=args.height, workers=workers, augment=augment
            )
        if dask_available():
            measured["dask"] = run_child("dask", count=count, height=args.height, workers=2)
        rounds.append(measured)
    memory = []
    for n in memory_counts:
        result = run_child("generate", count=n, height=args.height, workers=1, augment=None)
        memory.append({"count": n, **result})

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    def summarise(key: Any) -> dict:
        results = [r[key] for r in rounds]
        return {
            "per_second": median([r["per_second"] for r in results]),
            "seconds": median([r["seconds"] for r in results]),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
            "ratio_to_baseline": median(
                [r[key]["per_second"] / r["baseline"]["per_second"] for r in rounds]
            ),
            "per_round_per_second": [round(r["per_second"], 1) for r in results],
        }

    def scaling(augment: str | None) -> float:
        return median(
            [r[(augment, 2)]["per_second"] / r[(augment, 1)]["per_second"] for r in rounds]
        )

    ceiling = median([r["baseline2"]["per_second"] / r["baseline"]["per_second"] for r in rounds])
    rows = [
        ("baseline: encode+write JPEG", 1, summarise("baseline"), 1.0),
        ("baseline: encode+write JPEG", 2, summarise("baseline2"), ceiling),
    ]
    for augment, workers in configs:
        scale = scaling(augment) if workers == 2 else 1.0
        rows.append(
            (f"generate {augment or 'clean'}", workers, summarise((augment, workers)), scale)
        )
    dask_vs_pool = None
    if dask_available():
        dask_vs_pool = median(
            [r["dask"]["per_second"] / r[(None, 2)]["per_second"] for r in rounds]
        )
        dask_scale = median([r["dask"]["per_second"] / r[(None, 1)]["per_second"] for r in rounds])
        rows.append(("generate clean, dask LocalCluster", 2, summarise("dask"), dask_scale))
    print(
        f"{'configuration':32} {'workers':>7} {'plates/s':>9} {'x baseline':>10} "
        f"{'x 1 worker':>10} {'peak MB':>8}  (medians of {len(rounds)} rounds)"
    )
    table = []
    for name, workers, result, scale in rows:
        print(
            f"{name:32} {workers:>7} {result['per_second']:>9.0f} "
            f"{result['ratio_to_baseline']:>10.2f} {scale:>10.2f} {result['peak_rss_mb']:>8.0f}"
        )
        table.append(
            {"configuration": name, "workers": workers, **result, "ratio_to_one_worker": scale}
        )
    print()
    for entry in memory:
        print(
            f"peak RSS for {entry['count']:>6} plates: {entry['peak_rss_mb']:.0f} MB "
            f"({entry['per_second']:.0f} plates/s)"
        )
    growth = memory[-1]["peak_rss_mb"] / memory[0]["peak_rss_mb"]
    print(f"memory growth {memory[0]['count']} -> {memory[-1]['count']}: x{growth:.2f}")
    light_vs_clean = None
    if augment_available():
        light_vs_clean = median(
            [r[("light", 1)]["per_second"] / r[(None, 1)]["per_second"] for r in rounds]
        )
        print(f"augmented (light) / clean speed, 1 worker: {light_vs_clean:.2f}")
    cluster_start = None
    if dask_vs_pool is not None:
        cluster_start = median([r["dask"]["cluster_start_seconds"] for r in rounds])
        print(
            f"dask LocalCluster (2 processes) / --workers 2, clean: {dask_vs_pool:.2f} "
            f"(cluster start {cluster_start:.1f} s, not counted)"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "count": count,
                "height": args.height,
                "rows": table,
                "memory": memory,
                "memory_growth": growth,
                "rounds": len(rounds),
                "light_vs_clean": light_vs_clean,
                "dask_vs_workers_2": dask_vs_pool,
                "dask_cluster_start_seconds": cluster_start,
                "load_average_1min": round(os.getloadavg()[0], 2),
            },
            indent=1,
        )
    )
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
