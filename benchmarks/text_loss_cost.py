"""Cost per step of the text-preserving loss: plain CUT/FastCUT vs the same with the loss.

    python benchmarks/text_loss_cost.py [--device cpu|cuda] [--profile lite] [--mode cut]
        [--batch 4] [--rounds 10] [--json OUT]

Both models live in one process and their steps alternate (plain, text, plain, text...),
so a machine that is busier at some moment slows both alike; the ratio of the medians is
the loss's cost. The reader is kplate's recogniser network (untrained weights: the same
arithmetic as a trained one). Plates are rendered at the training shape (64x288).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHAPE = (64, 288)
TEXTS = ["12가3456", "39나2764", "45다6789", "11라2222", "123마4567", "22바3333"]


def _plates(batch: int, device):
    import cv2
    import numpy as np
    import torch

    from kplate.render import render_plate

    images = [
        cv2.resize(render_plate(TEXTS[i % len(TEXTS)], None, height=110).image, SHAPE[::-1])
        for i in range(batch)
    ]
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    return x.to(device), [TEXTS[i % len(TEXTS)] for i in range(batch)]


def measure(device: str, profile: str, mode: str, batch: int, rounds: int, amp: str) -> dict:
    import torch

    from kplate.evaluate.recogniser import CHARSET, CRNN, Recogniser
    from kplate.evaluate.text_reader import RecogniserReader
    from kplate.gan.config import CUTConfig
    from kplate.gan.model import CUTModel
    from kplate.gan.networks import build_networks
    from kplate.gan.text_loss import TextLoss
    from kplate.gan.train import _amp_dtype, lr_lambda_for

    dev = torch.device(device)
    cuda = dev.type == "cuda"
    fmt = torch.channels_last if cuda else torch.contiguous_format
    amp_dtype = _amp_dtype(amp, dev)

    def model(weight: float) -> CUTModel:
        torch.manual_seed(0)
        config = CUTConfig.for_mode(mode, profile, lambda_text=weight)
        nets = build_networks(config)
        for net in nets:
            net.to(device=dev, memory_format=fmt)
        loss = None
        if weight > 0:
            torch.manual_seed(1)
            reader = RecogniserReader(Recogniser(CRNN(len(CHARSET) + 1)))
            loss = TextLoss(reader).to_device(dev)
        return CUTModel(config, *nets, lr_lambda_for(10**6, 0.5), amp_dtype, loss)

    plain, text = model(0.0), model(1.0)
    real_a, labels = _plates(batch, dev)
    real_a = real_a.contiguous(memory_format=fmt)
    real_b = (real_a.flip(3) * 0.7).contiguous(memory_format=fmt)
    generator = torch.Generator().manual_seed(0)
    times: dict[str, list[float]] = {"plain": [], "text": []}
    for r in range(rounds + 2):  # two warm-up rounds
        for name, m in (("plain", plain), ("text", text)):
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            m.train_step(real_a, real_b, generator, labels)
            if cuda:
                torch.cuda.synchronize()
            if r >= 2:
                times[name].append(time.perf_counter() - start)
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    return {
        "device": device,
        "profile": profile,
        "mode": mode,
        "batch": batch,
        "shape": f"{SHAPE[0]}x{SHAPE[1]}",
        "amp": str(amp_dtype).replace("torch.", "") if amp_dtype else "off",
        "rounds": rounds,
        "plain_s_per_step": round(med["plain"], 4),
        "text_s_per_step": round(med["text"], 4),
        "ratio": round(med["text"] / med["plain"], 3),
        "threads": torch.get_num_threads(),
        "times": {k: [round(t, 4) for t in v] for k, v in times.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--profile", default="lite", choices=["lite", "full"])
    parser.add_argument("--mode", default="cut", choices=["cut", "fastcut"])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--amp", default="auto", choices=["auto", "bf16", "fp16", "off"])
    parser.add_argument("--json", type=Path, default=HERE / "results" / "text_loss_cost.json")
    args = parser.parse_args()
    row = measure(args.device, args.profile, args.mode, args.batch, args.rounds, args.amp)
    print(json.dumps(row))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(row, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
