"""Generation speed and memory, as ratios to a baseline measured in the same run.

Baseline: encode and write the same number of same-size JPEGs with no drawing (one
pre-rendered plate, re-encoded each time). Every configuration runs in a fresh
subprocess, so its peak RSS is its own.

    python benchmarks/generate_speed.py [--count 2000] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def child_baseline(count: int, height: int) -> dict:
    """Encode and write `count` JPEGs of a plate's size: the floor any generator pays."""
    from kplate.io.files import encode_image
    from kplate.render import render_plate

    image = render_plate("12가3456", height=height).image
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        for index in range(count):
            data = encode_image(image, "jpg", 95)
            (Path(folder) / f"{index:06d}.jpg").write_bytes(data)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "per_second": count / seconds, "peak_rss_mb": _peak_rss_mb()}


def child_generate(count: int, height: int, workers: int, augment: str | None) -> dict:
    from kplate.io.generate import GenerateConfig, WriteOptions, write_dataset

    with tempfile.TemporaryDirectory() as folder:
        config = GenerateConfig(count=count, height=height, augment=augment, seed=1)
        options = WriteOptions(out=Path(folder) / "out", workers=workers, progress=False)
        start = time.perf_counter()
        write_dataset(config, options)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "per_second": count / seconds, "peak_rss_mb": _peak_rss_mb()}


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
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()
    count = 300 if args.quick else args.count
    memory_counts = [200, 2000] if args.quick else [int(c) for c in args.memory_counts.split(",")]

    rows = []
    baseline = run_child("baseline", count=count, height=args.height)
    rows.append(("baseline: encode+write JPEG", 1, baseline))
    configs = [(None, 1), (None, 2)]
    if augment_available():
        configs += [("light", 1), ("light", 2), ("heavy", 1)]
    for augment, workers in configs:
        result = run_child(
            "generate", count=count, height=args.height, workers=workers, augment=augment
        )
        rows.append((f"generate {augment or 'clean'}", workers, result))
    memory = []
    for n in memory_counts:
        result = run_child("generate", count=n, height=args.height, workers=1, augment=None)
        memory.append({"count": n, **result})

    base_rate = baseline["per_second"]
    one_worker = {name: r for name, w, r in rows if w == 1}
    print(
        f"{'configuration':32} {'workers':>7} {'plates/s':>9} {'x baseline':>10} "
        f"{'x 1 worker':>10} {'peak MB':>8}"
    )
    table = []
    for name, workers, result in rows:
        ratio = result["per_second"] / base_rate
        scaling = result["per_second"] / one_worker[name]["per_second"] if name in one_worker else 1
        print(
            f"{name:32} {workers:>7} {result['per_second']:>9.0f} {ratio:>10.2f} "
            f"{scaling:>10.2f} {result['peak_rss_mb']:>8.0f}"
        )
        table.append(
            {
                "configuration": name,
                "workers": workers,
                **result,
                "ratio_to_baseline": ratio,
                "ratio_to_one_worker": scaling,
            }
        )
    print()
    for entry in memory:
        print(
            f"peak RSS for {entry['count']:>6} plates: {entry['peak_rss_mb']:.0f} MB "
            f"({entry['per_second']:.0f} plates/s)"
        )
    growth = memory[-1]["peak_rss_mb"] / memory[0]["peak_rss_mb"]
    print(f"memory growth {memory[0]['count']} -> {memory[-1]['count']}: x{growth:.2f}")
    clean = one_worker["generate clean"]["per_second"]
    if "generate light" in one_worker:
        print(
            f"augmented (light) / clean speed: {one_worker['generate light']['per_second'] / clean:.2f}"
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
            },
            indent=1,
        )
    )
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
