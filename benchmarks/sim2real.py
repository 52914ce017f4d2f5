"""The scoreboard: does kplate's data teach a recogniser to read real plates?

Splits `../shared/data/real_dev` by plate text into a real-domain part (the GAN's domain
B, used unlabelled) and a test part, then trains the fixed-recipe recogniser on
  (a) clean renders, (b) augmented renders (cctv preset: most real crops are IR CCTV),
  (c) clean renders translated by a CUT-lite model trained on the real part,
  (d) (b) and (c) mixed, (e) the real part itself, labelled (the reference),
and tests each on the held-out real part. Realism (a classifier two-sample test against
the real test part; 50% = indistinguishable) is reported beside accuracy and CER.
Bounded by --minutes; results go to benchmarks/results/ so progress shows run to run.

    python benchmarks/sim2real.py [--minutes 60] [--real ../shared/data/real_dev]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
DEFAULT_REAL = REPO.parent / "shared" / "data" / "real_dev"
# The real crops' mix of plate types, roughly, so the synthetic sets cover the same types.
TYPE_WEIGHTS = {
    "private_2digit": 0.40,
    "private_3digit": 0.24,
    "commercial_two_row": 0.10,
    "commercial_long": 0.12,
    # real_dev's construction plates are the pre-2022 regional forms (34 one-row, 14 two-row).
    "construction_regional": 0.045,
    "construction_regional_two_row": 0.015,
    "green_regional": 0.03,
    "electric": 0.03,
    "military": 0.02,
}


def split_real(real: Path, work: Path, seed: int, gan_share: float) -> tuple[Path, Path]:
    """Two labels.csv folders (symlinks to the crops): the GAN's real part and the test part."""
    with open(real / "labels.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    parts = {"real_gan": [], "real_test": []}
    for row in rows:
        digest = hashlib.sha256(f"{seed}:{row['text']}".encode()).digest()
        side = "real_gan" if digest[0] / 256 < gan_share else "real_test"
        parts[side].append(row)
    folders = []
    for name, part in parts.items():
        folder = work / name
        (folder / "images").mkdir(parents=True, exist_ok=True)
        with open(folder / "labels.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "text", "type"])
            for row in part:
                link = folder / "images" / Path(row["file"]).name
                if not link.exists():
                    link.symlink_to((real / row["file"]).resolve())
                writer.writerow([f"images/{link.name}", row["text"], row.get("style", "")])
        folders.append(folder)
    return folders[0], folders[1]


def generate(out: Path, count: int, seed: int, augment: str | None) -> Path:
    from kplate.pipeline import GenerateConfig, WriteOptions, write_dataset
    from kplate.spec.types import PlateType

    if (out / "summary.json").exists():
        return out
    types = tuple(PlateType(t) for t in TYPE_WEIGHTS)
    config = GenerateConfig(
        count=count,
        types=types,
        weights=tuple(TYPE_WEIGHTS.values()),
        seed=seed,
        height=64,
        augment=augment,
    )
    write_dataset(config, WriteOptions(out=out, progress=False, workers=2))
    return out


def train_gan(work: Path, clean: Path, real_gan: Path, seconds: float, seed: int) -> Path:
    """CUT-lite on clean (A) vs the real part (B, unlabelled), stopped by time if need be."""
    from kplate.dataset.build import DatasetOptions, Mode, build_dataset

    dataroot = work / "dataroot"
    if not (dataroot / "dataset.json").exists():
        build_dataset(
            DatasetOptions(
                synthetic=clean,
                real=real_gan,
                out=dataroot,
                test_fraction=0.05,
                mode=Mode.LINK,
                seed=seed,
            )
        )
    checkpoints = work / "checkpoints"
    run = checkpoints / "cut_lite"
    if (run / "generator.pt").exists():
        return run / "generator.pt"
    steps = max(50, int(seconds / 0.6))  # ~0.6 s/step at batch 4 on a quiet 2-core CPU
    command = [
        sys.executable,
        "-m",
        "kplate",
        "train",
        "--dataroot",
        str(dataroot),
        "--name",
        "cut_lite",
        "--checkpoints-dir",
        str(checkpoints),
        "--mode",
        "cut",
        "--profile",
        "lite",
        "--steps",
        str(steps),
        "--batch-size",
        "4",
        "--seed",
        str(seed),
        "--device",
        "cpu",
        "--save-every",
        "200",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)  # kplate train saves a checkpoint, then exits
        process.wait(timeout=600)
    if not (run / "generator.pt").exists():
        raise SystemExit(f"GAN training wrote no generator (exit {process.returncode})")
    return run / "generator.pt"


def translate(checkpoint: Path, clean: Path, out: Path) -> tuple[Path, float | None]:
    from kplate.gan.translate import Translator, translate_dataset

    translator, model = Translator.from_checkpoint(checkpoint, "cpu", 16)
    summary = translate_dataset(clean, out, translator, model)
    return out, summary.mean_preservation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL)
    parser.add_argument("--work", type=Path, default=HERE / "out" / "sim2real")
    parser.add_argument("--count", type=int, default=3000, help="synthetic plates per set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gan-share", type=float, default=0.5)
    parser.add_argument("--fresh", action="store_true", help="discard earlier work in --work")
    parser.add_argument(
        "--recogniser-steps",
        type=int,
        default=None,
        help="steps per training set (default: what the --minutes budget leaves, <= 1500)",
    )
    args = parser.parse_args()
    if not (args.real / "labels.csv").is_file():
        print(f"skip: {args.real} not found (the real development crops live in ../shared)")
        return
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    import shutil

    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    from kplate.evaluate import evaluate_recognition, load_labelled, train_recogniser
    from kplate.evaluate.data import load_arrays
    from kplate.evaluate.realism import two_sample_test

    if args.fresh:
        shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True, exist_ok=True)
    budget = args.minutes * 60
    started = time.monotonic()
    real_gan, real_test = split_real(args.real, args.work, args.seed, args.gan_share)
    clean = generate(args.work / "a_clean", args.count, args.seed, None)
    augmented = generate(args.work / "b_augmented", args.count, args.seed + 1, "cctv")
    checkpoint = train_gan(args.work, clean, real_gan, budget * 0.35, args.seed)
    translated, preservation = translate(checkpoint, clean, args.work / "c_translated")
    sets = {
        "a clean": [clean],
        "b augmented (cctv)": [augmented],
        "c translated (CUT-lite)": [translated],
        "d augmented + translated": [augmented, translated],
        "e real (reference)": [real_gan],
    }
    test_set = load_labelled(real_test)
    remaining = budget - (time.monotonic() - started)
    # Probe the recogniser's speed, then share what is left of the budget between the sets.
    probe_start = time.monotonic()
    train_recogniser([load_labelled(clean)], 20, args.seed)
    per_step = (time.monotonic() - probe_start) / 20
    steps = args.recogniser_steps or int(
        max(100, min(1500, remaining * 0.85 / len(sets) / per_step))
    )
    print(f"recogniser: {steps} steps per training set ({per_step:.2f} s/step)", flush=True)
    real_rgb, _ = load_arrays([i.path for i in test_set], 48, 160, mode="RGB")
    rows = []
    for name, folders in sets.items():
        recogniser = train_recogniser([load_labelled(f) for f in folders], steps, args.seed)
        metrics = evaluate_recognition(recogniser, test_set)
        realism = None
        if not name.startswith("e"):
            paths = [i.path for f in folders for i in load_labelled(f)]
            generated_rgb, _ = load_arrays(paths[:1000], 48, 160, mode="RGB")
            realism = two_sample_test(generated_rgb, real_rgb, seed=args.seed, time_limit=60)
        rows.append(
            {
                "set": name,
                "train_images": recogniser.recipe["train_images"],
                "accuracy": metrics["exact_accuracy"],
                "cer": metrics["cer"],
                "realism_accuracy": None if realism is None else realism["accuracy"],
                "realism_ci95": None if realism is None else realism["ci95"],
                "per_type": metrics.get("per_type"),
            }
        )
        print(
            f"  {name}: accuracy {metrics['exact_accuracy']:.3f}, CER {metrics['cer']:.3f}",
            flush=True,
        )
    minutes = (time.monotonic() - started) / 60
    print()
    print(
        f"{'training set':28} {'images':>7} {'exact acc':>9} {'CER':>6} {'real-vs-gen acc (95% CI)':>26}"
    )
    for row in rows:
        realism = (
            "-"
            if row["realism_accuracy"] is None
            else (
                f"{row['realism_accuracy']:.3f} ({row['realism_ci95'][0]:.2f}-{row['realism_ci95'][1]:.2f})"
            )
        )
        print(
            f"{row['set']:28} {row['train_images']:>7} {row['accuracy']:>9.3f} {row['cer']:>6.3f} "
            f"{realism:>26}"
        )
    print(
        f"test: {len(test_set)} real crops held out by plate text; recogniser {steps} steps; "
        f"translation preservation {preservation if preservation is None else round(preservation, 3)}; "
        f"{minutes:.1f} min"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H%MZ")
    result = {
        "when": stamp,
        "minutes": round(minutes, 1),
        "budget_minutes": args.minutes,
        "count": args.count,
        "recogniser_steps": steps,
        "test_images": len(test_set),
        "gan_checkpoint_step": torch.load(checkpoint, weights_only=True).get("step"),
        "translation_preservation": preservation,
        "rows": rows,
    }
    (RESULTS / "sim2real_latest.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    with open(RESULTS / "sim2real_history.jsonl", "a", encoding="utf-8") as handle:
        handle.write(
            json.dumps(
                {k: v for k, v in result.items() if k != "rows"}
                | {
                    "rows": [
                        {k: r[k] for k in ("set", "accuracy", "cer", "realism_accuracy")}
                        for r in rows
                    ]
                },
                ensure_ascii=False,
            )
            + "\n"
        )
    print(f"wrote {RESULTS / 'sim2real_latest.json'}")


if __name__ == "__main__":
    main()
