"""`kplate evaluate realism`: can a small CNN tell generated plates from real ones?

A classifier two-sample test: balance the classes (subsample the larger), split each
class in half, train a small CNN on one half and report its accuracy on the other with
a Wilson 95% interval. 50% means the two sets cannot be told apart; 100% means they
always can. Images are RGB squeezed to 48x160 (no per-image normalisation), so colour,
brightness and blur differences all count. Beside it: brightness, contrast, sharpness
(variance of the Laplacian) and saturation distributions and colour histograms, and,
where a folder's manifest says what each image is (plate type, augment preset, infrared
camera, a crop's source), how often the test told each group's held-out images apart:
one accuracy cannot say which plates give a set away.
"""

from __future__ import annotations

import csv
import functools
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from kplate.augment.critic import as_tensor as tensor
from kplate.errors import KplateError
from kplate.evaluate import report
from kplate.evaluate.data import image_files, load_arrays
from kplate.evaluate.defaults import REALISM_MAX_PER_CLASS, REALISM_STEPS, REALISM_TIME_LIMIT
from kplate.evaluate.metrics import wilson_interval
from kplate.evaluate.realism_views import view_rows, view_tests
from kplate.evaluate.statistics import image_statistics
from kplate.io import images as image_io

HEIGHT, WIDTH = 48, 160
DEFAULT_STEPS = REALISM_STEPS
DEFAULT_MAX_PER_CLASS = REALISM_MAX_PER_CLASS
DEFAULT_TIME_LIMIT = REALISM_TIME_LIMIT
BATCH_SIZE = 32
STATS = ("brightness", "contrast", "sharpness", "saturation")
#: Per image, the groups it belongs to (by -> group), e.g. {"type": "private_2digit"}.
Groups = Sequence[dict[str, str]]
#: A labels.csv column that names where a crop comes from (a camera, a dataset).
SOURCE_COLUMN = "source"
#: {by: {group: [told, held_out]}}, summed as images (or seeds) are counted.
_Counts = dict[str, dict[str, list[int]]]


def _classifier() -> nn.Module:
    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(3, 16), *block(16, 32), *block(32, 64), *block(64, 64),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 1),
    )  # fmt: skip


def image_stats(arrays: np.ndarray) -> dict[str, np.ndarray]:
    """Per-image statistics of (N, H, W, 3) uint8 arrays, all at the same fixed size."""
    full = image_statistics(arrays)
    return {name: full[name] for name in STATS}


def _summary(values: np.ndarray) -> dict[str, float]:
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "median": float(np.median(values)),
        "p5": float(np.percentile(values, 5)),
        "p95": float(np.percentile(values, 95)),
    }


def _load_class(
    folder: str | Path, limit: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[Path], int]:
    files = image_files(folder)
    if len(files) > limit:
        files = [files[i] for i in sorted(rng.choice(len(files), size=limit, replace=False))]
    arrays, kept = load_arrays(files, HEIGHT, WIDTH, mode="RGB")
    return arrays, [files[i] for i in kept], len(files) - len(kept)


def two_sample_test(
    generated: np.ndarray,
    real: np.ndarray,
    *,
    seed: int = 0,
    steps: int = DEFAULT_STEPS,
    time_limit: float = DEFAULT_TIME_LIMIT,
    groups: tuple[Groups, Groups] | None = None,
) -> dict[str, Any]:
    """Train on half of each (balanced) class, test on the other half; label 1 = real.

    `groups` (each image's groups, generated then real, aligned with the arrays) adds
    `groups`: per class, by, and group, how many of its held-out images the test told
    apart (`by_group`)."""
    n = min(len(generated), len(real))
    if n < 4:
        raise KplateError(f"need at least 4 readable images in each folder, have {n}")
    rng = np.random.default_rng(seed)
    generated_order = rng.permutation(len(generated))[:n]
    real_order = rng.permutation(len(real))[:n]
    generated, real = generated[generated_order], real[real_order]
    half = n // 2
    x_train = np.concatenate([generated[:half], real[:half]])
    y_train = np.array([0] * half + [1] * half, dtype=np.float32)
    x_test = np.concatenate([generated[half:], real[half:]])
    y_test = np.array([0] * (n - half) + [1] * (n - half), dtype=np.float32)

    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _classifier()
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    images, targets = tensor(x_train), torch.from_numpy(y_train)
    started, done = time.monotonic(), 0
    model.train()
    for done in range(1, steps + 1):  # noqa: B007 - `done` is reported
        batch = torch.randint(len(images), (BATCH_SIZE,), generator=generator)
        loss = F.binary_cross_entropy_with_logits(model(images[batch]).squeeze(1), targets[batch])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if time.monotonic() - started > time_limit:
            break
    model.eval()
    with torch.inference_mode():
        logits = torch.cat([model(tensor(x_test[i : i + 256])) for i in range(0, len(x_test), 256)])
    told = (logits.squeeze(1) > 0).numpy() == (y_test > 0.5)
    correct = int(told.sum())
    low, high = wilson_interval(correct, len(y_test))
    result: dict[str, Any] = {
        "accuracy": correct / len(y_test),
        "ci95": [low, high],
        "per_class": n,
        "train_images": len(x_train),
        "test_images": len(x_test),
        "steps": done,
        "train_seconds": round(time.monotonic() - started, 1),
    }
    if groups is not None:
        held = n - half
        result["groups"] = {
            "generated": by_group(told[:held], [groups[0][i] for i in generated_order[half:]]),
            "real": by_group(told[held:], [groups[1][i] for i in real_order[half:]]),
        }
    return result


def by_group(told: Sequence[bool], groups: Groups) -> dict[str, dict[str, dict[str, Any]]]:
    """{by: {group: {held_out, told, share}}} over held-out images and whether each was
    told apart (classified as its own class)."""
    counts: _Counts = {}
    for was_told, memberships in zip(told, groups, strict=True):
        for by, group in memberships.items():
            _add(counts, by, group, int(was_told), 1)
    return _shares(counts)


def _add(counts: _Counts, by: str, group: str, told: int, held: int) -> None:
    count = counts.setdefault(by, {}).setdefault(group, [0, 0])
    count[0] += told
    count[1] += held


def _shares(counts: _Counts) -> dict[str, dict[str, dict[str, Any]]]:
    return {by: {group: {"held_out": held, "told": told, "share": round(told / held, 4)}
                 for group, (told, held) in sorted(found.items())}
            for by, found in sorted(counts.items())}  # fmt: skip


def _merge_groups(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each seed's group counts summed: the shares over every held-out image of every seed."""
    merged: dict[str, _Counts] = {}
    for run in runs:
        for side, found in run["groups"].items():
            for by, groups in found.items():
                for group, count in groups.items():
                    _add(merged.setdefault(side, {}), by, group, count["told"], count["held_out"])
    return {side: _shares(counts) for side, counts in merged.items()}


def repeated_two_sample_test(
    generated: np.ndarray,
    real: np.ndarray,
    *,
    seed: int = 0,
    repeats: int = 1,
    steps: int = DEFAULT_STEPS,
    time_limit: float = DEFAULT_TIME_LIMIT,
    groups: tuple[Groups, Groups] | None = None,
) -> dict[str, Any]:
    """`two_sample_test` at seeds `seed` .. `seed + repeats - 1` (new halves, a new
    classifier and a new batch order each time), reported by its median run; `groups`
    are counted over every seed's held-out images, not the median run's alone.

    Why: with a few hundred crops a class, one split's accuracy moves by up to 0.15 between
    seeds on the same two sets (sd 0.03-0.06; docs/evaluate.md, session 40), more than most
    changes to the data move it; a median of five moves by about 0.013. The median run
    (the upper middle one for an even count) gives `accuracy`, `ci95` and the counts, so
    they describe one test; `accuracies` keeps every seed's, `train_seconds` their sum.
    """
    if repeats < 1:
        raise KplateError(f"repeats must be 1 or more, got {repeats}")
    seeds = list(range(seed, seed + repeats))
    runs = [two_sample_test(generated, real, seed=s, steps=steps, time_limit=time_limit,
                            groups=groups)
            for s in seeds]  # fmt: skip
    middle = sorted(range(repeats), key=lambda k: (runs[k]["accuracy"], k))[repeats // 2]
    result = {
        **runs[middle],
        "seeds": seeds,
        "accuracies": [run["accuracy"] for run in runs],
        "train_seconds": round(sum(run["train_seconds"] for run in runs), 1),
    }
    if groups is not None:
        result["groups"] = _merge_groups(runs)
    return result


def image_groups(root: str | Path) -> dict[Path, dict[str, str]]:
    """What each listed image of a folder can be grouped by, keyed by its path: the plate
    type where the manifest gives one; for a kplate dataset the augment preset and the
    camera (infrared or visible light) each image was drawn with; for a labels.csv its
    `source` column. A folder without a manifest has no groups ({})."""
    root = Path(root)
    manifest = image_io.label_manifest(root)
    if manifest is None:
        return {}
    found: dict[Path, dict[str, str]] = {}
    for row in image_io.iter_labels(root):
        groups = {"type": row.type} if row.type else {}
        augment = (row.entry or {}).get("augment")
        if isinstance(augment, dict):
            if isinstance(augment.get("preset"), str):
                groups["preset"] = augment["preset"]
            infrared = "infrared" in (augment.get("camera") or {})
            groups["camera"] = "infrared" if infrared else "visible"
        found[row.path] = groups
    if manifest.name == image_io.LABELS_CSV:
        with open(manifest, encoding="utf-8-sig", newline="") as handle:
            for line in csv.DictReader(handle):
                source = line.get(SOURCE_COLUMN)
                path = image_io.inside(root, str(line.get("file")), manifest)
                if source and path in found:
                    found[path][SOURCE_COLUMN] = source
    return found


def run_realism(
    generated_dir: str | Path,
    real_dir: str | Path,
    out: str | Path,
    *,
    seed: int = 0,
    repeats: int = 1,
    steps: int = DEFAULT_STEPS,
    max_per_class: int = DEFAULT_MAX_PER_CLASS,
    time_limit: float = DEFAULT_TIME_LIMIT,
    views: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The whole command; returns what realism.json holds. `repeats` above 1: the test's
    median over that many seeds (`repeated_two_sample_test`). `views`: the test again on
    each view of both sets (`realism_views`), as `classifier.views`."""
    report.check_report_folder(out, [("generated", generated_dir), ("real", real_dir)])
    rng = np.random.default_rng(seed)
    gen, gen_files, gen_skipped = _load_class(generated_dir, max_per_class, rng)
    real, real_files, real_skipped = _load_class(real_dir, max_per_class, rng)
    out = report.make_out(out)
    if progress:
        times = (
            "the classifier"
            if repeats == 1
            else f"{repeats} classifiers (seeds {seed}-{seed + repeats - 1})"
        )
        progress(f"{len(gen)} generated and {len(real)} real images; training {times}")
    gen_known, real_known = image_groups(generated_dir), image_groups(real_dir)
    groups = None
    if gen_known or real_known:
        groups = ([gen_known.get(path, {}) for path in gen_files],
                  [real_known.get(path, {}) for path in real_files])  # fmt: skip
    # One test, run on the crops as they are and (with `views`) on each view of them.
    run_test = functools.partial(
        repeated_two_sample_test, seed=seed, repeats=repeats, steps=steps, time_limit=time_limit
    )
    test = run_test(gen, real, groups=groups)
    if views:
        if progress:
            progress("the same test on each view of both sets (realism_views.VIEWS)")
        test["views"] = view_tests(gen, real, run_test)
    gen_stats, real_stats = image_stats(gen), image_stats(real)
    result: dict[str, Any] = {
        "generated": str(generated_dir),
        "real": str(real_dir),
        "seed": seed,
        "input": f"RGB {HEIGHT}x{WIDTH}",
        "classifier": test,
        "images": {"generated": len(gen), "real": len(real)},
        "skipped": {"generated": gen_skipped, "real": real_skipped},
        "stats": {
            "generated": {k: _summary(v) for k, v in gen_stats.items()},
            "real": {k: _summary(v) for k, v in real_stats.items()},
        },
        "colour_histograms": {
            "generated": _colour_histogram(gen).tolist(),
            "real": _colour_histogram(real).tolist(),
        },
    }
    report.write_json(out / "realism.json", result)
    _write_page(out, result, gen_stats, real_stats, gen_files, real_files, gen, real)
    return result


def _colour_histogram(arrays: np.ndarray, bins: int = 32) -> np.ndarray:
    """(3, bins) fraction of pixels per channel value bin, over all images."""
    return np.stack(
        [np.histogram(arrays[..., c], bins=bins, range=(0, 256))[0] / arrays[..., c].size
         for c in range(3)]
    )  # fmt: skip


def _write_page(
    out: Path,
    result: dict[str, Any],
    gen_stats: dict[str, np.ndarray],
    real_stats: dict[str, np.ndarray],
    gen_files: list[Path],
    real_files: list[Path],
    gen: np.ndarray,
    real: np.ndarray,
) -> Path:
    figure = report.new_figure(10, 6)
    for k, name in enumerate(STATS):
        axes = figure.add_subplot(2, 2, k + 1)
        both = np.concatenate([gen_stats[name], real_stats[name]])
        edges = np.linspace(both.min(), both.max() + 1e-9, 30)
        axes.hist(gen_stats[name], bins=edges, alpha=0.55, density=True, label="generated")
        axes.hist(real_stats[name], bins=edges, alpha=0.55, density=True, label="real")
        axes.set_title(name)
        axes.legend(fontsize=8)
    stats_png = report.save_figure(figure, out, "stats")
    figure = report.new_figure(10, 3)
    centres = (np.arange(32) + 0.5) * 8
    for c, channel in enumerate("RGB"):
        axes = figure.add_subplot(1, 3, c + 1)
        axes.plot(centres, _colour_histogram(gen)[c], label="generated")
        axes.plot(centres, _colour_histogram(real)[c], label="real")
        axes.set_title(f"{channel} histogram")
        axes.legend(fontsize=8)
    colour_png = report.save_figure(figure, out, "colour")
    grids = {
        name: report.sample_grid(files[:24], out, f"samples_{name}")
        for name, files in (("generated", gen_files), ("real", real_files))
    }
    test = result["classifier"]
    low, high = test["ci95"]
    verdict = (
        "cannot be told apart" if low <= 0.5 <= high else "can be told apart"
    ) + f" (50% = indistinguishable; {test['test_images']} held-out images)"
    summary = report.table(
        ["", "value"],
        [
            ["held-out accuracy" + (f" (median of {len(test['seeds'])} seeds)"
                                    if len(test["seeds"]) > 1 else ""), test["accuracy"]],
            ["each seed's accuracy", ", ".join(f"{a:.3f}" for a in test["accuracies"])],
            ["95% interval (Wilson)", f"{low:.3f} - {high:.3f}"],
            ["verdict", verdict],
            ["images per class", test["per_class"]],
            ["classifier steps", test["steps"]],
            ["skipped (unreadable)", f"generated {result['skipped']['generated']}, "
                                     f"real {result['skipped']['real']}"],
        ],
    )  # fmt: skip
    rows = [
        [name, *(result["stats"][side][name][q] for side in ("generated", "real")
                 for q in ("mean", "median"))]
        for name in STATS
    ]  # fmt: skip
    stats_table = report.table(
        ["statistic", "generated mean", "generated median", "real mean", "real median"], rows
    )
    grouped = []
    if test.get("groups"):
        grouped = [("Which images give it away", report.table(
            ["folder", "by", "group", "held-out images (every seed)", "told apart"],
            group_rows(test["groups"]),
        ))]  # fmt: skip
    if test.get("views"):
        grouped.append(("Where in the crop it tells them apart", report.table(
            ["view", "what it keeps", "held-out accuracy", "whole image"],
            view_rows(test["views"], test["accuracy"]),
        )))  # fmt: skip
    return report.write_page(
        out,
        "kplate realism report",
        [
            ("", f"<p>Generated: {report.esc(result['generated'])}; "
                 f"real: {report.esc(result['real'])}.</p>"),
            ("Classifier two-sample test", summary),
            *grouped,
            ("Image statistics", stats_table + report.img(stats_png, "statistics")),
            ("Colour", report.img(colour_png, "colour histograms")),
            ("Generated samples", report.img(grids["generated"], "generated samples")),
            ("Real samples", report.img(grids["real"], "real samples")),
        ],
    )  # fmt: skip


def group_rows(groups: dict[str, Any]) -> list[list[Any]]:
    """The report's rows: per folder and by, its groups from most often told apart down."""
    rows = []
    for side in ("generated", "real"):
        for by, found in groups.get(side, {}).items():
            ranked = sorted(found.items(), key=lambda item: (-item[1]["share"], item[0]))
            rows += [[side, by, group, count["held_out"], f"{count['share']:.1%}"]
                     for group, count in ranked]  # fmt: skip
    return rows


def most_told(groups: dict[str, Any], side: str = "generated", least: int = 10) -> list[str]:
    """`side`'s groups of at least `least` held-out images, most often told apart first,
    as 'by group (share of N)' phrases."""
    found = [(count["share"], by, group, count["held_out"])
             for by, named in groups.get(side, {}).items() for group, count in named.items()
             if count["held_out"] >= least]  # fmt: skip
    found.sort(key=lambda item: (-item[0], item[1], item[2]))
    return [f"{by} {group} ({share:.0%} of {held})" for share, by, group, held in found]
