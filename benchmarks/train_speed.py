"""Training speed of kplate's CUT/FastCUT on this machine: steps/s, images/s, peak memory.

    python benchmarks/train_speed.py [--quick] [--json OUT]
    python benchmarks/train_speed.py --device cuda [--compile] [--amp bf16] [--json OUT]

Each configuration runs in a fresh subprocess (so peak RSS, from getrusage, is its own):
2 warm-up steps, then timed steps of the real training step (`CUTModel.train_step`) on
in-memory uint8 plates. Configurations: lite and full, CUT and FastCUT, at plate shape
(64x288) with batch 1 and 4, and the earlier project's setting (256x256, batch 1, full,
CUT with identity NCE) to compare with its ~4.6 s/step on a 2-core CPU.

With --device cuda (benchmarks/gpu.sh) the rows are the GPU's: lite and full, CUT and
FastCUT, at plate shape (batch 16) and at 256x256 (batch 1 and 4), channels-last and
mixed precision as `kplate train` uses them there (--amp), optionally torch.compile.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REFERENCE_S_PER_STEP = 4.6  # reference CUT code, 256x256, batch 1, 2-core CPU, steady state


def reference_style_step(model, real_A, real_B, gen) -> None:
    """The same update computed as the reference code does it, for a same-machine ratio:
    four separate encoder passes (reals recomputed), three separate D calls, and (see
    `use_reference_layers`) the reference's instance norm and upsampling layers."""
    import torch

    from kplate.gan.losses import lsgan_loss, patch_nce_loss

    cfg, G, D, F = model.config, model.netG, model.netD, model.netF
    n = real_A.shape[0]
    fake = G(torch.cat((real_A, real_B)))
    fake_B, idt_B = fake[:n], fake[n:]
    model.opt_D.zero_grad()
    loss_D = (lsgan_loss(D(fake_B.detach()), False) + lsgan_loss(D(real_B), True)) * 0.5
    loss_D.backward()
    model.opt_D.step()
    D.requires_grad_(False)
    model.opt_G.zero_grad()
    model.opt_F.zero_grad()

    def nce(src, tgt):
        feat_q = G.encode(tgt, cfg.nce_layers)
        feat_k = G.encode(src, cfg.nce_layers)
        pool_k, ids = F(feat_k, cfg.num_patches, None, gen)
        pool_q, _ = F(feat_q, cfg.num_patches, ids)
        losses = [
            patch_nce_loss(q, k, n, cfg.nce_T).mean() * cfg.lambda_NCE
            for q, k in zip(pool_q, pool_k, strict=True)
        ]
        return sum(losses) / len(losses)

    loss_G = lsgan_loss(D(fake_B), True) + (nce(real_A, fake_B) + nce(real_B, idt_B)) * 0.5
    loss_G.backward()
    model.opt_G.step()
    model.opt_F.step()
    D.requires_grad_(True)


def use_reference_layers(net) -> None:
    """Swap in the layer implementations the reference code runs: `nn.InstanceNorm2d` and
    a transposed-convolution upsampler (ours compute the same numbers, faster)."""
    import torch.nn.functional as F
    from torch import nn

    from kplate.gan.networks import InstanceNorm, Upsample

    class TransposedUpsample(nn.Module):
        def __init__(self, filt) -> None:
            super().__init__()
            self.register_buffer("filt", filt)

        def forward(self, x):
            x = F.pad(x, (1, 1, 1, 1), mode="replicate")
            out = F.conv_transpose2d(x, self.filt, stride=2, padding=2, groups=x.shape[1])
            return out[:, :, 1:-1, 1:-1]

    for parent in net.modules():
        for name, child_module in parent.named_children():
            if isinstance(child_module, InstanceNorm):
                setattr(parent, name, nn.InstanceNorm2d(child_module.channels))
            elif isinstance(child_module, Upsample):
                setattr(parent, name, TransposedUpsample(child_module.filt))


def child(
    profile: str,
    mode: str,
    height: int,
    width: int,
    batch: int,
    steps: int,
    reference: bool = False,
    device: str = "cpu",
    amp: str = "auto",
    compile: bool = False,
) -> dict:
    """Time one configuration in this process."""
    import resource

    import torch

    from kplate.gan.config import CUTConfig
    from kplate.gan.data import to_model_input
    from kplate.gan.model import CUTModel
    from kplate.gan.networks import build_networks, count_parameters
    from kplate.gan.train import _amp_dtype, lr_lambda_for

    dev = torch.device(device)
    cuda = dev.type == "cuda"
    torch.manual_seed(0)
    config = CUTConfig.for_mode(mode, profile, height=height)
    netG, netD, netF = build_networks(config)
    if reference:
        use_reference_layers(netG)
        use_reference_layers(netD)
    fmt = torch.channels_last if cuda else torch.contiguous_format
    for net in (netG, netD, netF):
        net.to(device=dev, memory_format=fmt)
    if compile:
        netG.compile()
        netD.compile()
    amp_dtype = _amp_dtype(amp, dev)
    model = CUTModel(config, netG, netD, netF, lr_lambda_for(1000, 0.5), amp_dtype)
    gen = torch.Generator().manual_seed(0)
    a = torch.randint(0, 256, (batch, 3, height, width), dtype=torch.uint8)
    b = torch.randint(0, 256, (batch, 3, height, width), dtype=torch.uint8)

    def step() -> None:
        real_A, real_B = to_model_input(a, dev, cuda), to_model_input(b, dev, cuda)
        if reference:
            reference_style_step(model, real_A, real_B, gen)
        else:
            model.train_step(real_A, real_B, gen)

    warm = 5 if cuda else 2  # on CUDA also cuDNN autotuning and compilation
    for _ in range(warm):
        step()
    times = []
    for _ in range(steps):
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    times.sort()
    median = times[len(times) // 2]
    return {
        "profile": profile,
        "mode": mode + (" (reference-style step)" if reference else ""),
        "shape": f"{height}x{width}",
        "batch": batch,
        "s_per_step": round(median, 4),
        "steps_per_s": round(1 / median, 3),
        "images_per_s": round(batch / median, 2),
        "ms_per_image": round(1000 * median / batch, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "params_G_M": round(count_parameters(netG) / 1e6, 3),
        "params_D_M": round(count_parameters(netD) / 1e6, 3),
        "params_F_M": round(count_parameters(netF) / 1e6, 3),
        "threads": torch.get_num_threads(),
        "device": device,
        "amp": str(amp_dtype).replace("torch.", "") if amp_dtype else "off",
        "channels_last": cuda,
        "compile": compile,
        "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else None,
    }


def configs(quick: bool, device: str = "cpu") -> list[tuple[str, str, int, int, int, bool]]:
    rows = []
    if device.startswith("cuda"):
        for profile in ("lite", "full"):
            for mode in ("cut", "fastcut"):
                rows.append((profile, mode, 64, 288, 16, False))
                rows.append((profile, mode, 256, 256, 1, False))
                if not quick:
                    rows.append((profile, mode, 256, 256, 4, False))
        return rows
    for profile in ("lite", "full"):
        for mode in ("cut", "fastcut"):
            for batch in (1, 4):
                if quick and (profile == "full" and batch == 4):
                    continue
                rows.append((profile, mode, 64, 288, batch, False))
    rows.append(("full", "cut", 256, 256, 1, False))
    rows.append(("full", "cut", 256, 256, 1, True))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer configs and steps (<2 min)")
    parser.add_argument(
        "--json", type=Path, default=Path(__file__).parent / "results" / "train_speed.json"
    )
    parser.add_argument(
        "--only",
        default="",
        help="run just the configurations whose 'profile mode HxW' contains this",
    )
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--amp", default="auto", choices=["auto", "bf16", "fp16", "off"])
    parser.add_argument("--compile", action="store_true", help="torch.compile G and D")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per row")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(**json.loads(args.child))))
        return 0
    rows = configs(args.quick, args.device)
    chosen = [c for c in rows if args.only in f"{c[0]} {c[1]} {c[2]}x{c[3]}"]
    if not chosen:
        parser.exit(2, f"{parser.prog}: error: --only {args.only!r} matches no configuration\n")
    results = []
    header = f"{'profile':7} {'mode':30} {'shape':8} {'batch':>5} {'s/step':>7} {'img/s':>6} {'ms/img':>7} {'peak MB':>8} {'G/D/F params (M)':>18}"
    print(header)
    for profile, mode, height, width, batch, reference in chosen:
        steps = 2 if args.quick else (5 if profile == "lite" else 3)
        if args.device.startswith("cuda"):
            steps = 10 if args.quick else 20
        steps = args.steps or steps
        spec = {
            "profile": profile,
            "mode": mode,
            "height": height,
            "width": width,
            "batch": batch,
            "steps": steps,
            "reference": reference,
            "device": args.device,
            "amp": args.amp,
            "compile": args.compile,
        }
        out = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(spec)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(row)
        params = f"{row['params_G_M']}/{row['params_D_M']}/{row['params_F_M']}"
        print(
            f"{profile:7} {row['mode']:30} {row['shape']:8} {batch:>5} {row['s_per_step']:>7.3f} "
            f"{row['images_per_s']:>6.2f} {row['ms_per_image']:>7.1f} {row['peak_rss_mb']:>8.0f} {params:>18}",
            flush=True,
        )
    ref = next((r for r in results if r["shape"] == "256x256"), None)
    mimic = next((r for r in results if "reference" in r["mode"]), None)
    lite_plate = [r for r in results if r["profile"] == "lite"]
    best_lite = max((r["images_per_s"] for r in lite_plate), default=0.0)
    lite_cut = max((r["images_per_s"] for r in lite_plate if r["mode"] == "cut"), default=0.0)
    summary = {
        "reference_s_per_step_256": REFERENCE_S_PER_STEP,
        "full_256_speedup_vs_reference": (
            round(REFERENCE_S_PER_STEP / ref["s_per_step"], 2) if ref else None
        ),
        "lite_plate_best_images_per_s": best_lite,
        "lite_plate_vs_reference_images": round(best_lite * REFERENCE_S_PER_STEP, 1),
        "lite_cut_plate_vs_reference_images": round(lite_cut * REFERENCE_S_PER_STEP, 1),
        "full_256_speedup_vs_reference_style_same_machine": (
            round(mimic["s_per_step"] / ref["s_per_step"], 2) if mimic and ref else None
        ),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    if ref:
        print(
            f"\nfull 256x256 CUT batch 1: {ref['s_per_step']:.2f} s/step, "
            f"{summary['full_256_speedup_vs_reference']}x the reference's "
            f"{REFERENCE_S_PER_STEP} s/step"
        )
    print(
        f"lite at plate shape: up to {best_lite} img/s = "
        f"{summary['lite_plate_vs_reference_images']}x the reference's "
        f"{1 / REFERENCE_S_PER_STEP:.2f} img/s (CUT mode: "
        f"{summary['lite_cut_plate_vs_reference_images']}x)"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": {"cpus": os.cpu_count()},
        "quick": args.quick,
        "results": results,
        "summary": summary,
    }
    args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
