"""Speed of the scoreboard's recogniser: NCHW (the baseline), channels-last, and the box losses.

    python benchmarks/recogniser_speed.py [--threads 1] [--rounds 15] [--json OUT]

The models start from the same weights and live in one process; their training steps
(the recipe's: augmentation, both CTC heads, backward, clipping, AdamW at batch 32) and
their reading passes (128 plates) alternate, so a machine that is busier at some moment
slows all alike. The third model is channels-last trained as on kplate's own images,
with the losses that character boxes give (`augment_with_maps`: the cell classifier's
and the row reader's alignment loss). Last, the jitter alone (`augment_with_maps`, batch
32) with its affine grid and blur written out (the recipe since session 32) against
torch's `F.affine_grid` and a 3 x 3 `F.conv2d` (before; equal bit for bit), alternating. The table gives the medians and the ratios baseline
/ channels-last (above 1: channels-last is faster) and box losses / channels-last (their
cost per step; key `cell_loss_cost`, as before the alignment loss), in bfloat16
autocast where the CPU has it (as the recipe runs there) and in float32 (as on a CPU
without it). One thread is what each of the scoreboard's two parallel trainings gets on
2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEXTS = ["12가3456", "39나2764", "123마4567", "서울12바3456"]


def measure(rounds: int, bfloat16: bool) -> dict:
    """Both memory formats' medians, in bfloat16 autocast or float32."""
    import torch
    from torch import nn

    from kplate.evaluate import recogniser
    from kplate.evaluate.data import CharacterBox, LabelledImage
    from kplate.evaluate.recogniser import (
        BATCH_SIZE,
        CHARSET,
        CRNN,
        HEIGHT,
        MAX_LR,
        WEIGHT_DECAY,
        WIDTH,
        _autocast,
        augment,
        augment_with_maps,
        character_maps,
        train_step,
    )

    recogniser.fast_bfloat16 = lambda: bfloat16  # the recipe's autocast switch

    cells = "channels-last, box losses"
    formats = {
        "NCHW": torch.contiguous_format,
        "channels-last": torch.channels_last,
        cells: torch.channels_last,
    }
    models, optimisers = {}, {}
    for name, memory_format in formats.items():
        torch.manual_seed(0)
        models[name] = CRNN(len(CHARSET) + 1, memory_format=memory_format)
        optimisers[name] = torch.optim.AdamW(
            models[name].parameters(), lr=MAX_LR, weight_decay=WEIGHT_DECAY
        )
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(BATCH_SIZE, 1, HEIGHT, WIDTH, generator=generator)
    texts = [TEXTS[i % len(TEXTS)] for i in range(BATCH_SIZE)]
    plates = torch.rand(128, 1, HEIGHT, WIDTH, generator=generator)
    boxes = tuple(
        CharacterBox(c, 0.1 * k, 0.2, 0.1 * k + 0.09, 0.8) for k, c in enumerate("12가3456")
    )
    maps = character_maps([LabelledImage(Path("x"), "12가3456", "x", "x", boxes)] * BATCH_SIZE)
    times: dict[str, dict[str, list[float]]] = {n: {"train": [], "read": []} for n in formats}
    for r in range(rounds + 2):  # two warm-up rounds
        for name, model in models.items():
            start = time.perf_counter()
            if name == cells:
                x, labels = augment_with_maps(images, maps, generator)
            else:
                x, labels = augment(images, generator), None
            model.train()
            train_step(model, optimisers[name], x, texts, ctc, maps=labels)
            trained = time.perf_counter()
            model.eval()
            with torch.inference_mode(), _autocast():
                model(plates)
            read = time.perf_counter()
            if r >= 2:
                times[name]["train"].append(trained - start)
                times[name]["read"].append(read - trained)

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    rows = {
        name: {
            "train_ms_per_step": round(1000 * median(t["train"]), 1),
            "read_plates_per_s": round(len(plates) / median(t["read"]), 1),
        }
        for name, t in times.items()
    }
    base, fast, with_cells = rows["NCHW"], rows["channels-last"], rows[cells]
    return {
        "threads": torch.get_num_threads(),
        "batch": BATCH_SIZE,
        "precision": "bfloat16 autocast" if bfloat16 else "float32",
        "rounds": rounds,
        "rows": rows,
        "train_speedup": round(base["train_ms_per_step"] / fast["train_ms_per_step"], 3),
        "read_speedup": round(fast["read_plates_per_s"] / base["read_plates_per_s"], 3),
        "cell_loss_cost": round(with_cells["train_ms_per_step"] / fast["train_ms_per_step"], 3),
    }


def measure_jitter(rounds: int) -> dict:
    """The jitter's ms per batch with its grid and blur written out, and with torch's ops."""
    import torch
    from torch.nn import functional as F

    from kplate.evaluate import recogniser
    from kplate.evaluate.recogniser import BATCH_SIZE, HEIGHT, WIDTH, augment_with_maps

    kernel = torch.tensor([1.0, 2.0, 1.0])
    kernel = (kernel[:, None] * kernel[None, :] / 16).view(1, 1, 3, 3)
    variants = {
        "written out": (recogniser._affine_grid, recogniser._binomial_blur),
        "torch ops": (
            lambda theta, h, w: F.affine_grid(theta, [len(theta), 1, h, w], align_corners=False),
            lambda batch: F.conv2d(F.pad(batch, (1, 1, 1, 1), mode="replicate"), kernel),
        ),
    }
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(BATCH_SIZE, 1, HEIGHT, WIDTH, generator=generator)
    maps = torch.zeros(BATCH_SIZE, HEIGHT, WIDTH, dtype=torch.uint8)
    maps[:, 20:60, 10:150] = 1
    times: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for r in range(rounds + 2):
            for name, (grid, blur) in variants.items():
                recogniser._affine_grid, recogniser._binomial_blur = grid, blur
                start = time.perf_counter()
                for _ in range(10):
                    augment_with_maps(images, maps, generator)
                if r >= 2:
                    times[name].append((time.perf_counter() - start) / 10)
    finally:
        recogniser._affine_grid, recogniser._binomial_blur = variants["written out"]
    ms = {name: round(1000 * sorted(t)[len(t) // 2], 2) for name, t in times.items()}
    return {
        "jitter_ms_per_batch": ms,
        "jitter_speedup": round(ms["torch ops"] / ms["written out"], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", type=Path, default=HERE / "results" / "recogniser_speed.json")
    # Bad input: one line on stderr and exit code 2, before anything is measured or written.
    parser.error = lambda message: parser.exit(2, f"{parser.prog}: error: {message}\n")  # type: ignore[method-assign]
    args = parser.parse_args()
    for option, value in (("--threads", args.threads), ("--rounds", args.rounds)):
        if value < 1:
            parser.error(f"{option} must be 1 or more, got {value}")
    import torch

    from kplate.evaluate.recogniser import fast_bfloat16

    torch.set_num_threads(args.threads)
    results = [measure(args.rounds, bfloat16) for bfloat16 in (True, False)[1 - fast_bfloat16() :]]
    print(f"threads {args.threads}, batch {results[0]['batch']}, median of {args.rounds} rounds")
    print("| precision | memory format | train ms/step | read plates/s |")
    print("|---|---|---|---|")
    for result in results:
        for name, row in result["rows"].items():
            print(f"| {result['precision']} | {name} | {row['train_ms_per_step']} | "
                  f"{row['read_plates_per_s']} |")  # fmt: skip
    for result in results:
        print(f"{result['precision']}: channels-last trains {result['train_speedup']}x and "
              f"reads {result['read_speedup']}x as fast as NCHW; the box losses cost "
              f"{result['cell_loss_cost']}x a channels-last step")  # fmt: skip
    jitter = measure_jitter(args.rounds)
    print(f"jitter (augment_with_maps, batch {results[0]['batch']}): written out "
          f"{jitter['jitter_ms_per_batch']['written out']} ms, torch's ops "
          f"{jitter['jitter_ms_per_batch']['torch ops']} ms: {jitter['jitter_speedup']}x")  # fmt: skip
    results.append(jitter)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.json.with_name(f".{args.json.name}.tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    tmp.replace(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
