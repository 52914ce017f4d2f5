"""Preservation with and without the text-preserving loss, on a small run (issue #17).

    OMP_NUM_THREADS=1 python benchmarks/text_loss_preservation.py [--steps 300]
        [--reader-steps 600] [--real ../shared/data/real_dev] [--work DIR]

400 clean synthetic plates (A) against the GAN's half of real_dev (B), split as
`sim2real.py --gan` splits them (20 % of both held out). Two readers are trained with the
fixed recogniser recipe on trainA's labels, seeds 0 and 1: reader 0 is the loss's,
reader 1 judges independently (a generator could learn marks that only its own reader
reads). CUT-lite trains `--steps` steps at weight 0 and at weight 1, same seed; each
translates the held-out testA plates, and the share read as their label is reported per
reader, beside the share of the untranslated sources. Writes
benchmarks/results/text_loss_preservation.json and docs/images/gan_text_loss.png (the two
runs' losses). Cached in --work: a re-run only re-reads.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> int:
    import numpy as np

    import sim2real as s
    from kplate.evaluate import train_recogniser
    from kplate.evaluate.data import UNKNOWN_TYPE, LabelledImage
    from kplate.evaluate.recogniser import Recogniser
    from kplate.evaluate.text_reader import RecogniserReader
    from kplate.gan import train
    from kplate.gan.config import CUTConfig, TrainOptions
    from kplate.gan.data import domain_labels
    from kplate.gan.translate import Translator, read_rgb

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--reader-steps", type=int, default=600)
    parser.add_argument("--real", type=Path, default=s.DEFAULT_REAL)
    parser.add_argument("--work", type=Path, default=HERE / "out" / "text_loss_preservation")
    args = parser.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    real_gan, _ = s.split_real(args.real, work, 0, 0.5)
    clean = s.generate(work / "clean", 400, 0, None)
    root = s.gan_dataroot(work, clean, real_gan, 0)
    labels = domain_labels(root / "trainA")
    items = [
        LabelledImage(root / "trainA" / n, t, UNKNOWN_TYPE, n) for n, t in sorted(labels.items())
    ]
    started = time.time()
    readers = {}
    for seed in (0, 1):
        path = work / f"reader{seed}.pt"
        if path.exists():
            readers[seed] = Recogniser.load(path)
        else:
            readers[seed] = train_recogniser([items], args.reader_steps, seed=seed)
            readers[seed].save(path)
    print(f"readers ready in {time.time() - started:.0f} s", flush=True)
    test = sorted(domain_labels(root / "testA").items())
    sources = [read_rgb(root / "testA" / name) for name, _ in test]
    truth = [text for _, text in test]

    def rate(reader: Recogniser, images: list) -> float:
        return float(np.mean([a == b for a, b in zip(reader.read(images), truth, strict=True)]))

    out: dict = {"steps": args.steps, "reader_steps": args.reader_steps, "test_plates": len(test),
                 "source_read": {f"reader{k}": rate(r, sources) for k, r in readers.items()}}  # fmt: skip
    for weight in (0.0, 1.0):
        name = f"w{weight:g}"
        run = work / "ck" / name
        if not (run / "generator.pt").exists():
            options = TrainOptions(root, name, work / "ck", steps=args.steps, batch_size=4,
                                   seed=0, device="cpu", progress=False, tensorboard=False,
                                   image_every=10**9, log_every=10, save_every=10**9)  # fmt: skip
            config = CUTConfig.for_mode("cut", "lite", lambda_text=weight)
            t0 = time.time()
            train(config, options, reader=RecogniserReader(readers[0]) if weight else None)
            out[f"{name}_train_seconds"] = round(time.time() - t0)
        translator, _ = Translator.from_checkpoint(run / "generator.pt", "cpu", 16)
        fake = translator.translate(sources)
        out[name] = {"read_by_loss_reader": rate(readers[0], fake),
                     "read_by_independent_reader": rate(readers[1], fake)}  # fmt: skip
        print(name, out[name], flush=True)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "text_loss_preservation.json").write_text(json.dumps(out, indent=1) + "\n")
    plot(work / "ck", HERE.parent / "docs" / "images" / "gan_text_loss.png")
    print(json.dumps(out))
    return 0


def plot(runs: Path, out: Path) -> None:
    """D, G_GAN and NCE of both runs, and the text run's TEXT loss, against the step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), dpi=90, sharey=True)
    for ax, name, title in (
        (axes[0], "w0", "CUT-lite"),
        (axes[1], "w1", "CUT-lite + text loss (w 1)"),
    ):
        rows = [json.loads(line) for line in (runs / name / "train.jsonl").open()]
        steps = [r["step"] for r in rows]
        for key in ("D", "G_GAN", "NCE", "TEXT"):
            if key in rows[0]:
                ax.plot(steps, [r[key] for r in rows], label=key, linewidth=0.8)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("loss")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
