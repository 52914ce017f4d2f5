"""`kplate evaluate recognition`: train the fixed recipe on some sets, score on a test set.

Writes REPORT/recognition.json, REPORT/recogniser.pt and REPORT/index.html (failures
beside their labels, the metric tables and the loss plot).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kplate.evaluate import report
from kplate.evaluate.data import load_labelled
from kplate.evaluate.defaults import RECOGNISER_TYPE_BALANCE
from kplate.evaluate.reading import evaluate_recognition
from kplate.evaluate.recogniser import (
    DEFAULT_STEPS,
    Recogniser,
    check_type_balance,
    train_recogniser,
)

MAX_FAILURES_SHOWN = 60


def run_recognition(
    train_dirs: Sequence[str | Path],
    test_dir: str | Path,
    out: str | Path,
    *,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    type_balance: float = RECOGNISER_TYPE_BALANCE,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The whole command: load and check every folder first, then train, test and report."""
    check_type_balance(type_balance)
    report.check_report_folder(out, [*(("train", d) for d in train_dirs), ("test", test_dir)])
    train_sets = [load_labelled(d) for d in train_dirs]
    test_set = load_labelled(test_dir)
    out = report.make_out(out)
    started = time.monotonic()
    recogniser = train_recogniser(
        train_sets, steps, seed, type_balance=type_balance, progress=progress
    )
    recogniser.save(out / "recogniser.pt")
    metrics = evaluate_recognition(recogniser, test_set)
    result = {
        "train": [str(d) for d in train_dirs],
        "test": str(test_dir),
        "recipe": recogniser.recipe,
        "seconds": round(time.monotonic() - started, 1),
        **metrics,
        "loss_history": recogniser.history,
    }
    report.write_json(out / "recognition.json", result)
    write_recognition_page(out, result, recogniser)
    return result


def write_recognition_page(out: Path, result: dict[str, Any], recogniser: Recogniser) -> Path:
    loss_png = report.loss_plot(recogniser.history, out)
    failures = [s for s in result["samples"] if s["predicted"] != s["label"]]
    rows = []
    for k, sample in enumerate(failures[:MAX_FAILURES_SHOWN]):
        thumb = report.save_thumbnail(Path(sample["file"]), out, f"fail_{k:03d}")
        rows.append(
            [
                report.img(thumb, sample["key"], "thumb"),
                f"<code>{report.esc(sample['label'])}</code>",
                f'<code class="bad">{report.esc(sample["predicted"]) or "&empty;"}</code>',
                report.esc(sample["type"]),
                report.esc(sample["key"]),
            ]
        )
    summary = report.table(
        ["metric", "value"],
        [
            ["test images", result["count"]],
            ["skipped (unreadable)", result["skipped"]],
            ["exact-plate accuracy (grammar-constrained, over views)", result["exact_accuracy"]],
            ["character error rate", result["cer"]],
            [
                "exact-plate accuracy (grammar-constrained, one view)",
                result["grammar"]["exact_accuracy"],
            ],
            ["exact-plate accuracy (best path)", result["greedy"]["exact_accuracy"]],
            ["training images", result["recipe"]["train_images"]],
            ["steps", result["recipe"]["steps"]],
            ["seconds (train + test)", result["seconds"]],
        ],
    )
    types = report.table(
        ["type", "count", "exact accuracy", "CER"],
        [[k, v["count"], v["exact_accuracy"], v["cer"]] for k, v in result["per_type"].items()],
    )
    positions = report.table(
        ["position", "labels this long", "accuracy"],
        [[p["position"], p["count"], p["accuracy"]] for p in result["per_position"]],
    )
    kinds = report.table(
        ["error kind", "plates", "share of plates"],
        [[k, v["count"], round(v["share_of_plates"], 3)] for k, v in result["error_kinds"].items()],
    )
    confusions = report.table(
        ["label char", "predicted char", "count"],
        [[c["label"], c["predicted"], c["count"]] for c in result["confusions"]],
    )
    sources = ", ".join(report.esc(t) for t in result["train"])
    shown = f"{min(len(failures), MAX_FAILURES_SHOWN)} of {len(failures)} failures shown."
    return report.write_page(
        out,
        "kplate recognition report",
        [
            ("", f"<p>Trained on {sources}; tested on {report.esc(result['test'])}.</p>"),
            ("Summary", summary),
            ("Training loss", report.img(loss_png, "training loss")),
            ("Accuracy per type", types),
            ("Accuracy per character position", positions),
            ("Error kinds", kinds),
            ("Most confused characters", confusions),
            ("Failures", f"<p>{shown}</p>" + report.table(
                ["image", "label", "predicted", "type", "file"], rows, raw=True)),
        ],
    )  # fmt: skip
