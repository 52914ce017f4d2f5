"""Translation speed: plates per second for both profiles at plate shape, batch 1 and 16.

Each configuration runs in a fresh subprocess, so its peak RSS is its own. The baseline
in the same run is the cost of the input pipeline alone (resize to the model's shape and
back, no generator), so the table shows what the generator itself costs. On a machine with
CUDA the GPU rows are added.

    python benchmarks/translate_speed.py [--plates 64] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "translate_speed.json"


def child(profile: str, batch: int, plates: int, device: str, baseline: bool) -> dict:
    import torch

    from kplate.gan.config import CUTConfig
    from kplate.gan.networks import ResnetGenerator
    from kplate.gan.translate import Translator
    from kplate.render import render_plate

    torch.manual_seed(0)
    generator = ResnetGenerator(CUTConfig.for_mode("cut", profile, height=64))
    if baseline:
        generator = _Identity(generator.config)
    translator = Translator(generator, device, batch)
    images = [render_plate("12가3456", height=110).image for _ in range(plates)]
    translator.translate(images[:batch])  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    translator.translate(images)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    from generate_speed import _peak_rss_mb

    rss = _peak_rss_mb()
    gpu = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None
    params = sum(p.numel() for p in generator.parameters())
    return {
        "plates_per_second": plates / seconds,
        "seconds": seconds,
        "peak_rss_mb": rss,
        "peak_gpu_mb": gpu,
        "params": params,
        "shape": [int(v) for v in translator.model_shape(110, 520)],
    }


class _Identity:
    def __init__(self, config) -> None:
        self.config = config

    def to(self, *args, **kwargs):
        return self

    def eval(self):
        return self

    def parameters(self):
        return iter(())

    def __call__(self, x):
        return x


def run_child(**kwargs) -> dict:
    code = (
        f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import translate_speed as t; "
        f"print(json.dumps(t.child(**{kwargs!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plates", type=int, default=64)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument(
        "--device", default="all", choices=["all", "cpu", "cuda"], help="all: CPU, and CUDA if any"
    )
    args = parser.parse_args()
    import torch

    plates = 16 if args.quick else args.plates
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if args.device != "all":
        devices = [args.device]
    rows = []
    for device in devices:
        base = run_child(profile="lite", batch=16, plates=plates, device=device, baseline=True)
        rows.append({"device": device, "profile": "pipeline only", "batch": 16, **base})
        for profile in ("lite", "full"):
            for batch in (1, 16):
                n = plates if device != "cpu" or profile == "lite" else max(16, plates // 4)
                result = run_child(
                    profile=profile, batch=batch, plates=n, device=device, baseline=False
                )
                rows.append({"device": device, "profile": profile, "batch": batch, **result})
    print(
        f"{'device':6} {'profile':14} {'batch':>5} {'plates/s':>9} {'x pipeline':>10} "
        f"{'params':>9} {'peak RSS MB':>11} {'peak GPU MB':>11}"
    )
    for row in rows:
        base = next(
            r for r in rows if r["device"] == row["device"] and r["profile"] == "pipeline only"
        )
        ratio = row["plates_per_second"] / base["plates_per_second"]
        gpu = "-" if row["peak_gpu_mb"] is None else f"{row['peak_gpu_mb']:.0f}"
        print(
            f"{row['device']:6} {row['profile']:14} {row['batch']:>5} "
            f"{row['plates_per_second']:>9.1f} {ratio:>10.3f} {row['params']:>9} "
            f"{row['peak_rss_mb']:>11.0f} {gpu:>11}"
        )
        row["ratio_to_pipeline"] = ratio
    print(f"model input for a 520x110 plate: {rows[0]['shape'][0]}x{rows[0]['shape'][1]}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"plates": plates, "rows": rows}, indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
