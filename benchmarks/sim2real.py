"""The scoreboard: does kplate's data teach a recogniser to read real plates?

One fixed recipe (kplate.evaluate.recogniser: the same steps, seed and schedule for every
row but the "4x steps" row) is trained on one set per row and judged three ways:

- learnability: it reads held-out images made the same way as its training set. A row
  whose recogniser does not learn its own data measures the recipe, not the data, so the
  table shows this first (target: at least 95 % for every preset);
- sim-to-real: it reads `../shared/data/real_dev`'s held-out split (split by plate text;
  the other half is the GAN's unlabelled real domain), overall, per plate type, per
  character position and by error kind (length, an extra character at an end, region,
  Hangul, digit);
- readings are grammar-constrained (`kplate.evaluate.decoding`: the best-path reading when
  it is a valid plate number, else the most probable valid candidate of a CTC beam
  search) and taken over nine small views of each image (`kplate.evaluate.views`: the
  views' reading most probable over all of them); "learn % one view" and "real % one
  view" give the image read once, as it is (the scoreboard's readings up to run 46), and
  "real % greedy" the best-path readings of the same network (up to run 5);
- by source: the real split's accuracy on each source's crops (real_dev's `source`
  column), since the held-back crops come from other sources and cameras;
- learnability misses: of the held-out images a row's reader misses, how many have every
  letter and digit at least twice the legibility floor tall (misses of characters a reader
  can resolve: the recipe's budget, not the image);
- realism: a classifier two-sample test of the set against the real test crops
  (0.5 = indistinguishable), the median of REALISM_REPEATS test seeds (one seed's
  accuracy moves by up to 0.15 on the same set; from run 57 on; up to run 56 one seed).

Every synthetic set is drawn at SET_HEIGHT (110 px, kplate's default height).
Rows: clean renders; each augmentation preset alone (light, heavy, cctv, night); the
`mix`; the mix with even type weights instead of realistic ones (the README's recommended
data); a config that `kplate fit` fits in the run to the real half the GAN uses
(unlabelled, never the test half), at the run's image height and at the plate types it is
drawn with (FIT_TYPES, every type evenly); the even-types mix set read
by a recogniser trained four times the recipe's steps (the "4x steps" row: what the
recommended data teaches a reader trained nearer convergence; trained with --long, since
it is a quarter of a whole run's training, and otherwise carried over from the last run
while its digest is unchanged);
with --gan, four rows at the same image count: mix (augmented only, the row above),
clean renders translated by CUT-lite, the mix set translated (augmented, then translated), and clean
renders translated then given the mix augmentation. CUT-lite trains until its stopping rule (kplate.gan.stopping): every
--gan-check-every steps the realism two-sample accuracy of translated held-out synthetic
plates against held-out real crops of the GAN's half (never the test half) is measured,
and training stops when it has not improved for --gan-patience checks, at a step cap that
CUT-lite reaches on 2 cores within its share of --minutes, or at that share of time; the
best check's generator translates. --gan-text W adds the text-preserving loss (its reader
trained on the clean set). The ceiling row trains
the same recipe on real labels, by k-fold cross-validation over all of real_dev grouped
by plate text, and reads each held-out crop with the fold model that never saw it.

    python benchmarks/sim2real.py [--minutes 60] [--real ../shared/data/real_dev] [--fresh]
        [--long] [--gan [--gan-text W]] [--row NAME ...] [--seeds N] [--steps N] [--jobs N]

--seeds N trains each synthetic row with reader seeds seed .. seed+N-1 and reports the
median real and learnability accuracy (the table adds each seed's real accuracy): one
training per row moves by up to about 8 points between reader seeds at 2000 steps and 13
at 8000 (docs/evaluate.md, session 9), more than most differences between designs.
N times the trainings: the default of 1 is the one meant for 60 minutes on 2 cores (every
row and the ceiling trained from an empty work folder: run 64, 39.6 minutes on an AMD EPYC
with AVX512-BF16; run 62, 55.8 on an Intel Xeon with AMX; docs/evaluate.md, sessions 44
and 45); --jobs N runs N trainings at once (one thread
each; 2 by default) on a machine with more cores. The ceiling's first --jobs - 1 folds
train while this process fits the config and draws the sets. --long also trains the
4x-steps row, about a quarter of a whole run's training (run 61, with it: 75.2 minutes).

--steps N trains every row's recogniser N steps instead of the recipe's 2000 (the 4x-steps
row 4N): the learnability rows are limited by steps at 2000 (night's reader seed 0 learns
93.8 % of its own plates at 2000 steps, 96.5 % at 4000; docs/evaluate.md, session 21),
and a run at 4000 steps wants about twice the time, so about 4 cores for 60 minutes
(--jobs 4). Rows are carried over (--row, the ceiling) only from a run with the same
steps.

--row NAME (repeatable; 'ceiling' for the folds) trains only the named rows and carries the
others over from the last run made with the same count, recogniser steps and format, seed,
test size and set height; each carried row records the run it comes from. A whole run
carries the last run's ceiling over too when its `ceiling_digest` (real_dev's labels and
crops, the seed, the recogniser's code) is unchanged: its folds read the same when trained
again; --fresh or --row ceiling trains them anyway. In the same way it carries over each
synthetic row whose `row_digest` is unchanged: the content of its training and held-out
sets and of the real test split, its reader seeds and steps, the type balance, the
recogniser's code, this script's, torch's version and the CPU's bfloat16. A run after a
change to one preset trains only the rows whose images changed (sets are drawn again
whenever kplate's drawing code changes, so the digest is of their content, not of the
code). --fresh or --row NAME reads a row again anyway.

Every trained reader is kept under --work's readers/ folder by its `reader_digest`: the
content of its training sets, its steps, seed and type balance, the training code (the
recipe, data loading, io and spec), torch's version and the CPU's bfloat16. A row or fold
read again whose reader digest is unchanged loads that reader instead of training it (a
training is deterministic for these on one thread), so a change to how readers decode,
are scored or to the realism test reads every row again in minutes; a change to the
recipe still trains every row. The note counts the readers reused, and a run that reused
any is not a whole run's time. --fresh discards the kept readers with the rest of --work;
after a complete run only the readers its rows name are kept.

Prints the tables, writes benchmarks/results/sim2real_latest.{json,md} and appends to
benchmarks/results/sim2real_history.jsonl. Must finish within 60 minutes on 2 cores: a whole
run without --long took 39.6 minutes on an AMD EPYC (run 64) and 55.8 on an Intel Xeon with
AMX (run 62), both training in bfloat16; where the CPU lacks native bfloat16 the recipe
trains in float32 and a whole run takes about 3 hours (see above).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import functools
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, NoReturn

from kplate.augment.legibility import MIN_CHAR_HEIGHT_PX
from kplate.render.plate import DEFAULT_HEIGHT

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
DEFAULT_REAL = REPO.parent / "shared" / "data" / "real_dev"
#: Minutes `kplate fit` may search for the fitted row, and the evaluations it makes: the
#: 278 that the 3 minutes gave the config cached up to run 55 (its header), so that a refit
#: repeats that search exactly on any machine (a search cut by time is not) and a new
#: stage after it (the guide, session 38) is measured from the same config. The
#: evaluations are the limit and the minutes only a guard, set wide (10 up to session 44)
#: since the fit now shares the cores with the ceiling's first fold.
FIT_MINUTES = 30.0
FIT_EVALUATIONS = 278
#: The plate types the fitted row's config is fitted at and its sets are drawn with: the
#: defaults of both `kplate fit` and `kplate generate` (every type evenly), so the row is
#: what a user running the two commands gets. Up to run 36 the fit ran at even types and
#: the sets were drawn at realistic shares, a mix the config was never fitted to (the
#: same fitted config, 800 plates against half of real_dev: realism 0.885 at realistic
#: shares, 0.833 at the even types it was fitted at; docs/evaluate.md, session 26).
FIT_TYPES = "all"
#: Type shares of the rows drawn at other than realistic shares.
ROW_TYPES = {"mix, even types": "all", "fitted (kplate fit)": FIT_TYPES}
#: Held-out images per preset for the learnability rows.
LEARN_TEST_COUNT = 400
#: Folds of the real-labels ceiling.
FOLDS = 3
#: Types with at least this many held-out crops get their own column and target.
STYLE_MIN_COUNT = 20
#: A learnability miss whose smallest letter or digit is at least this many times the
#: legibility floor (kplate.augment.legibility.MIN_CHAR_HEIGHT_PX) tall shows a character
#: a reader can resolve: the recipe did not learn it, the image did not hide it.
LEGIBLE_FACTOR = 2.0
#: Share of the run's time budget that CUT-lite may train for.
GAN_SHARE = 0.25
#: Rows whose recogniser trains LONG_STEPS_FACTOR x the recipe's steps, and the base row
#: whose set (training and held-out images) each trains on: the recommended data, `mix`
#: with even type weights, so that the long row and its base row differ only in steps. A
#: reader gains about 3 points of real_dev's split per 2000 steps past the recipe's budget
#: up to 8000 steps (64.1, 67.4 and 70.0 % at 4000, 6000 and 8000; 68.2 % at 16000;
#: docs/evaluate.md, session 8), so the row is trained where that curve flattens. Up to
#: run 32 the long row was `mix` with region-rich types on a set of its own (run 32:
#: 76.4 % of the real split, 53.3 % of its regional construction plates); run 33 trained
#: the even-types set as long (78.5 %, every style with 20 or more crops at 66.7 % or
#: more), and the history file keeps both (docs/evaluate.md, session 23).
LONG_STEPS_FACTOR = 4
LONG_ROWS = {f"mix, even types, {LONG_STEPS_FACTOR}x steps": "mix, even types"}
#: Rows trained first, in this order (the rest follow in table order): the long row
#: first, so that the two workers finish together.
FIRST = (*LONG_ROWS, "fold 0", "light", "cctv", "fold 1", "fold 2", "mix",
         "fitted (kplate fit)")  # fmt: skip
#: Trainings at once, one torch thread each.
JOBS = 2
#: Seeds of each row's realism test (seed .. seed + REALISM_REPEATS - 1); the column is
#: their median. On run 56's fitted set, 20 seeds read 0.695-0.849 (sd 0.034; seed 0:
#: 0.772, the median of 20: 0.795) and four medians of five disjoint seeds 0.772-0.803
#: (sd of a median of five about 0.013), so a row's design can be told from the test's
#: luck (docs/evaluate.md, session 40). About 12 s a seed on one core.
REALISM_REPEATS = 5
#: Image height of every synthetic set: kplate's default (110 px), the resolution the
#: presets' pixel-unit effects (blur sigma, noise, the downscale's plate height) are set
#: for and about real_dev's median crop height (96-116 px by style). Up to run 9 the sets
#: were drawn at 64 px, where each blur was 1.7x as strong against the glyphs: the top row
#: of two-row plates was 12-16 px tall before blur.
SET_HEIGHT = DEFAULT_HEIGHT


def split_real(real: Path, work: Path, seed: int, gan_share: float) -> tuple[Path, Path]:
    """Two labels.csv folders (symlinks to the crops): the GAN's real part and the test part."""
    rows = _real_rows(real)
    parts: dict[str, list[dict[str, str]]] = {"real_gan": [], "real_test": []}
    for row in rows:
        side = "real_gan" if _text_hash(seed, row["text"]) < gan_share else "real_test"
        parts[side].append(row)
    return tuple(_link_folder(work / name, real, part) for name, part in parts.items())  # type: ignore[return-value]


def _real_rows(real: Path) -> list[dict[str, str]]:
    with open(real / "labels.csv", encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _text_hash(seed: int, text: str) -> float:
    return hashlib.sha256(f"{seed}:{text}".encode()).digest()[0] / 256


def _link_folder(folder: Path, real: Path, rows: list[dict[str, str]]) -> Path:
    """A labels.csv folder of symlinks to some real crops (never copies of them)."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    with open(folder / "labels.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "text", "type"])
        for row in rows:
            link = folder / "images" / Path(row["file"]).name
            if not link.is_symlink():
                link.symlink_to((real / row["file"]).resolve())
            writer.writerow([f"images/{link.name}", row["text"], row.get("style", "")])
    return folder


def generate(
    out: Path, count: int, seed: int, augment: str | None, types: str = "realistic"
) -> Path:
    """A synthetic set at SET_HEIGHT with the type shares of `--types TYPES` (`realistic`,
    `region-rich`, or `all`: every type evenly).

    A finished set drawn with this very config by this very drawing code is kept; one
    drawn with another config (an earlier run's height, seed or shares) or by other code
    (a renderer or preset changed since: CODE_SUFFIX) is drawn again over it; an unfinished
    one is resumed. A set drawn from an augment config file (the fitted row's) is also
    stale when that file's content changed: a refit writes the same path, and the config
    records only the path.
    """
    from kplate.io.files import atomic_write_text
    from kplate.io.run_folder import SUMMARY_FILE, read_record
    from kplate.numbers.type_shares import types_and_weights
    from kplate.pipeline import GenerateConfig, WriteOptions, write_dataset

    drawn_types, weights = types_and_weights(types)
    config = GenerateConfig(
        count=count, types=drawn_types, weights=weights, seed=seed, height=SET_HEIGHT,
        augment=augment,
    )  # fmt: skip
    _, record = read_record(out)
    drawn = None if record is None else record.get("config")
    code = drawing_code_digest() + _config_file_digest(augment)
    marker = out.with_name(out.name + CODE_SUFFIX)
    same_code = marker.exists() and marker.read_text(encoding="utf-8") == code
    same = same_code and drawn == json.loads(json.dumps(config.fingerprint()))  # as run.json
    if same and (out / SUMMARY_FILE).exists():
        return out
    other = drawn is not None and not same
    atomic_write_text(marker, code)  # before drawing, so that an interrupted set resumes
    write_dataset(config, WriteOptions(out=out, progress=False, workers=2, overwrite=other))
    return out


def _config_file_digest(augment: str | None) -> str:
    """':' and a digest of an augment config file's content ('' for a preset, a mix or
    none): a spec that names neither is a file, as `kplate.augment.build_augmenter`
    reads it."""
    from kplate.augment.mix import MIXES
    from kplate.augment.presets import PRESETS

    if augment is None or augment in PRESETS or augment in MIXES:
        return ""
    return ":" + hashlib.sha256(Path(augment).read_bytes()).hexdigest()[:16]


#: Beside each cached set (`mix.code` for `mix/`): the digest of the code that drew it
#: (and of the augment config file it was drawn from, if any).
CODE_SUFFIX = ".code"
#: The sub-packages whose source decides a set's pixels and labels.
DRAWING_PACKAGES = ("spec", "numbers", "render", "augment", "pipeline", "io")


@functools.cache
def drawing_code_digest() -> str:
    """A digest of kplate's drawing source: a cached set drawn by other code is stale.

    Read once per run, when the first set is asked for (the code this process imported),
    not again for each of the run's twenty sets."""
    return _source_digest(DRAWING_PACKAGES)


#: The sub-packages and modules whose source decides the real-labels ceiling's readings:
#: the recogniser, its data loading, decoding and metrics, and the alphabet it reads.
CEILING_CODE = ("evaluate", "spec/alphabet.py")


def _source_digest(parts: tuple[str, ...]) -> str:
    """A digest of the source of some of kplate's sub-packages (or single modules)."""
    import kplate

    root = Path(kplate.__file__).parent
    total = hashlib.sha256()
    for part in parts:
        paths = [root / part] if part.endswith(".py") else sorted((root / part).rglob("*.py"))
        for path in paths:
            total.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return total.hexdigest()[:16]


def ceiling_digest(real: Path, seed: int) -> str:
    """What the real-labels ceiling is a function of: real_dev's labels and crops, the
    run's seed (the folds) and the recogniser's code. Its folds read the same on a rerun
    (runs 18 and 20: 40.5 % both), so a whole run carries over a ceiling of the same
    digest instead of training its folds again (25.4 minutes on 2 cores, run 34)."""
    total = hashlib.sha256(f"{seed}:{FOLDS}:{_source_digest(CEILING_CODE)}".encode())
    labels = real / "labels.csv"
    total.update(labels.read_bytes())
    for row in _real_rows(real):
        total.update(row["file"].encode() + b"\0" + (real / row["file"]).read_bytes())
    return total.hexdigest()[:16]


#: Settings a run records only when they differ from these (runs before them did not
#: record them, and they used these values).
DEFAULT_SETTINGS = {"seed": 0, "type_balance": 0.0}


def changed_settings(last: dict[str, Any], settings: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, the last run's value, this run's) for every setting the two runs differ in."""
    changed = []
    for key in [*settings, *(k for k in DEFAULT_SETTINGS if k not in settings)]:
        made = last.get(key, DEFAULT_SETTINGS.get(key))
        value = settings.get(key, DEFAULT_SETTINGS.get(key))
        if made != value:
            changed.append((key, made, value))
    return changed


def last_run_with(settings: dict[str, Any]) -> dict[str, Any] | None:
    """The last run's results when it was made with these settings, else None."""
    latest = RESULTS / "sim2real_latest.json"
    if not latest.is_file():
        return None
    last = json.loads(latest.read_text(encoding="utf-8"))
    return None if changed_settings(last, settings) else last


def same_ceiling(settings: dict[str, Any], digest: str) -> dict[str, Any] | None:
    """The last run's ceiling row when it was made with these settings and this ceiling
    digest (marked with the run it comes from), else None."""
    last = last_run_with(settings)
    if last is None:
        return None
    for row in last.get("rows", []):
        if row["set"].startswith("real labels") and row.get("ceiling_digest") == digest:
            return _carried(row, last)
    return None


def _carried(row: dict[str, Any], last: dict[str, Any]) -> dict[str, Any]:
    """A row of the last run, marked with the run it was trained in."""
    return {**row, "carried_from": row.get("carried_from") or last["when"]}


def folder_digest(folder: Path) -> str:
    """A digest of what a recogniser reads from a set: its labels (`metadata.jsonl`,
    `labels.csv`) and every image, by relative path; not run.json or summary.json, which
    record when and how fast the set was drawn."""
    total = hashlib.sha256()
    files = [folder / name for name in ("metadata.jsonl", "labels.csv")]
    files += sorted((folder / "images").rglob("*"))
    for path in files:
        if path.is_file():
            total.update(path.relative_to(folder).as_posix().encode() + b"\0")
            total.update(path.read_bytes())
    return total.hexdigest()[:16]


def _platform() -> list[str]:
    """torch's version and whether the CPU trains in bfloat16: a training's numbers
    depend on both."""
    import torch

    from kplate.evaluate.recogniser import fast_bfloat16

    return [torch.__version__, str(fast_bfloat16())]


def shared_digest(context: dict[str, Any]) -> str:
    """What every synthetic row of a run is a function of besides its own sets, seeds and
    steps: the real test split's content, the type balance and run seed, the recogniser's
    code (the ceiling's CEILING_CODE), this scoreboard's own code (its scores), torch's
    version and whether the CPU trains in bfloat16."""
    parts = [
        _source_digest(CEILING_CODE),
        hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16],
        *_platform(),
        json.dumps([context.get("type_balance", 0.0), context["seed"]]),
        folder_digest(Path(context["real_test"])),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def row_digest(folders: list[Path], held: Path | None, shared: str, reader_seeds: list[int],
               steps: int, digest_of: Callable[[Path], str] = folder_digest) -> str:  # fmt: skip
    """What a synthetic row's readings are a function of: its training and held-out sets'
    content (`digest_of`: `folder_digest`, or a run's cache of it), its reader seeds and
    steps, and the run's `shared_digest`. A training is deterministic for these on one
    thread (run 43's even-types reader trained again in session 32 ended on the same loss
    to the last digit), so a whole run carries over a row of the same digest instead of
    training it again."""
    parts = [
        shared,
        json.dumps([reader_seeds, steps]),
        *(digest_of(folder) for folder in folders),
        "held:" + ("-" if held is None else digest_of(held)),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


#: The sources that decide a trained reader's weights: the recipe and its training loop,
#: how a set's images and boxes are read (and the io code under that), the alphabet and
#: the plate types (`spec`). Not decoding, views, reading (`evaluate/reading.py`), metrics or
#: realism: they only read.
TRAINING_CODE = ("evaluate/recogniser.py", "evaluate/data.py", "evaluate/defaults.py", "io",
                 "spec")  # fmt: skip
#: Where each trained reader is kept (under --work), by its `reader_digest`.
READERS = "readers"


def reader_digest(folders: list[Path], steps: int, seed: int, type_balance: float,
                  digest_of: Callable[[Path], str] = folder_digest) -> str:  # fmt: skip
    """What a trained reader's weights are a function of: its training sets' content, its
    steps, seed and type balance, the training code (TRAINING_CODE), torch's version and
    whether the CPU trains in bfloat16. A training is deterministic for these on one
    thread, so a run whose reading, scoring or realism code changed (a decoder, say: run
    45 trained all 12 readers again and every one ended on run 44's final loss) reads again
    with the reader an earlier run trained instead of training it again."""
    parts = [
        _source_digest(TRAINING_CODE),
        *_platform(),
        json.dumps([steps, seed, type_balance]),
        *(digest_of(folder) for folder in folders),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def trained_reader(
    folders: list[Path], steps: int, seed: int, context: dict[str, Any]
) -> tuple[Any, str, bool]:
    """(reader, its reader_digest, whether it was reused): the fixed recipe trained on
    `folders`, or the reader of the same digest that an earlier run kept under --work's
    READERS folder (one that does not load is trained again and replaced). A set whose
    digest the run has (`context["set_digests"]`) is not hashed again."""
    from kplate.errors import KplateError
    from kplate.evaluate import load_labelled, train_recogniser
    from kplate.evaluate.recogniser import Recogniser

    type_balance = context.get("type_balance", 0.0)
    known = context.get("set_digests", {})  # the sets the run has hashed already

    def digest_of(folder: Path) -> str:
        return known.get(str(folder)) or folder_digest(folder)

    digest = reader_digest(folders, steps, seed, type_balance, digest_of)
    path = Path(context["work"]) / READERS / f"{digest}.pt"
    if path.is_file():
        try:
            return Recogniser.load(path), digest, True
        except KplateError:
            pass
    sets = [load_labelled(folder) for folder in folders]
    recogniser = train_recogniser(sets, steps, seed, type_balance=type_balance)
    path.parent.mkdir(parents=True, exist_ok=True)
    recogniser.save(path)  # a temporary name, then renamed
    return recogniser, digest, False


def prune_readers(work: Path, keep: set[str]) -> list[Path]:
    """Remove the readers under `work`'s READERS folder whose digest is not in `keep`
    (only files named as trained_reader names them: 16 hex digits and .pt); the paths
    removed."""
    removed = []
    for path in sorted((work / READERS).glob("*.pt")):
        name = path.stem
        ours = len(name) == 16 and all(c in "0123456789abcdef" for c in name)
        if ours and name not in keep:
            path.unlink()
            removed.append(path)
    return removed


def same_rows(settings: dict[str, Any], digests: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The last run's rows whose `row_digest` is the one given for their name (marked with
    the run they come from), when that run was made with these settings."""
    last = last_run_with(settings)
    if last is None:
        return {}
    return {
        row["set"]: _carried(row, last)
        for row in last.get("rows", [])
        if row.get("row_digest") is not None and digests.get(row["set"]) == row["row_digest"]
    }


#: Held-out share of the GAN's dataroot: testA/testB are what the stopping rule measures.
GAN_TEST_FRACTION = 0.2
#: Held-out plates translated per check, and the realism test's time limit per check.
CHECK_PLATES = 300
CHECK_SECONDS = 20.0
#: Seconds per CUT-lite step at batch 4 on a quiet 2-core CPU (docs/gan.md): the step cap.
LITE_STEP_SECONDS = 0.6


def gan_dataroot(work: Path, clean: Path, real_gan: Path, seed: int) -> Path:
    """trainA/testA from the clean set (labelled), trainB/testB from the GAN's real half."""
    from kplate.dataset.build import DatasetOptions, Mode, build_dataset

    dataroot = work / "gan_dataroot"
    if not (dataroot / "dataset.json").exists():
        options = DatasetOptions(synthetic=clean, real=real_gan, out=dataroot,
                                 test_fraction=GAN_TEST_FRACTION, mode=Mode.LINK, seed=seed)  # fmt: skip
        build_dataset(options)
    return dataroot


def realism_score(dataroot: Path, seed: int) -> Any:
    """score(generator file, step): realism accuracy of translated testA vs testB crops."""
    import numpy as np
    from PIL import Image

    from kplate.evaluate.data import load_arrays, resize_array
    from kplate.evaluate.realism import two_sample_test
    from kplate.gan.data import list_images
    from kplate.gan.translate import Translator, read_rgb

    sources = [read_rgb(p) for p in list_images(dataroot / "testA")[:CHECK_PLATES]]
    real, _ = load_arrays(list_images(dataroot / "testB")[:CHECK_PLATES], 48, 160, mode="RGB")

    def score(generator: Path, step: int) -> float:
        translator, _ = Translator.from_checkpoint(generator, "cpu", 16)
        outputs = translator.translate(sources)
        fake = np.stack([resize_array(Image.fromarray(o), 48, 160) for o in outputs])
        return float(two_sample_test(fake, real, seed=seed, time_limit=CHECK_SECONDS)["accuracy"])

    return score


def train_gan(
    work: Path,
    clean: Path,
    real_gan: Path,
    seconds: float,
    seed: int,
    every: int,
    patience: int,
    text_weight: float = 0.0,
) -> tuple[Path, dict[str, Any]]:
    """CUT-lite on clean (A) vs the real part (B, unlabelled) until the stopping rule;
    returns the best check's generator and what the rule saw (step, reason, curve)."""
    import torch

    from kplate.gan.config import CUTConfig, TrainOptions
    from kplate.gan.stopping import PlateauRule, train_until_plateau

    dataroot = gan_dataroot(work, clean, real_gan, seed)
    name = "cut_lite" if text_weight == 0 else f"cut_lite_text{text_weight:g}"
    run = work / "checkpoints" / name
    record = run / "stopping.json"
    if record.is_file():  # an earlier run of the benchmark finished this training
        return run / "best_generator.pt", json.loads(record.read_text())
    shutil.rmtree(run, ignore_errors=True)  # a killed training: start again
    reader = None
    if text_weight > 0:
        from kplate.evaluate.text_reader import cached_reader

        reader = cached_reader(work / "checkpoints" / "reader", dataroot / "trainA")
    cap = max(every, int(seconds / LITE_STEP_SECONDS) // every * every)
    rule = PlateauRule(every=every, patience=patience, max_steps=cap, seconds=seconds)
    options = TrainOptions(dataroot, name, work / "checkpoints", batch_size=4, seed=seed,
                           device="cpu", progress=False, tensorboard=False,
                           image_every=10**9, log_every=50)  # fmt: skip
    config = CUTConfig.for_mode("cut", "lite", lambda_text=text_weight)

    def on_check(step: int, value: float, best: bool) -> None:
        print(f"  GAN step {step}: realism {value:.3f}{' (best)' if best else ''}", flush=True)

    threads = torch.get_num_threads()
    result = train_until_plateau(config, options, rule, realism_score(dataroot, seed), reader,
                                 on_check)  # fmt: skip
    torch.set_num_threads(threads)
    if result.best_checkpoint is None:
        raise SystemExit(
            "GAN training reached no check: raise --minutes or lower --gan-check-every"
        )
    summary = {**result.to_dict(), "step_cap": cap, "every": every, "patience": patience,
               "lambda_text": text_weight}  # fmt: skip
    record.write_text(json.dumps(summary, indent=1) + "\n")
    return result.best_checkpoint, summary


def pairs_sheet(source: Path, translated: Path, out: Path, count: int = 12) -> Path:
    """Source / translated pairs side by side, one pair per row (synthetic sources only:
    translated images of real crops are never written here)."""
    from PIL import Image

    from kplate.io.manifest import read_metadata

    entries = read_metadata(translated / "metadata.jsonl")[:count]
    rows = []
    for entry in entries:
        pair = [
            Image.open(root / entry["file_name"]).convert("RGB") for root in (source, translated)
        ]
        pair = [im.resize((round(im.width * 64 / im.height), 64)) for im in pair]
        rows.append(pair)
    width = max(a.width + b.width for a, b in rows) + 12
    sheet = Image.new("RGB", (width, 68 * len(rows) + 4), "white")
    for k, (a, b) in enumerate(rows):
        sheet.paste(a, (4, 4 + 68 * k))
        sheet.paste(b, (8 + a.width, 4 + 68 * k))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


def translated_then_augmented(out: Path, count: int, seed: int, checkpoint: Path) -> Path:
    """The clean set's plates (same seed), translated, then given the mix augmentation
    exactly as `generate --augment mix` would draw it for each plate (its own seed)."""
    import numpy as np

    from kplate.augment import build_augmenter
    from kplate.gan.translate import Translator
    from kplate.io.files import encode_image
    from kplate.numbers.type_shares import realistic_types
    from kplate.pipeline import GenerateConfig
    from kplate.pipeline.factory import PlateFactory

    if (out / "labels.csv").is_file():
        return out
    types, weights = realistic_types()
    config = GenerateConfig(count=count, types=types, weights=weights, seed=seed, height=SET_HEIGHT)
    factory = PlateFactory(config)
    mix = build_augmenter("mix")
    translator, _ = Translator.from_checkpoint(checkpoint, "cpu", 16)
    building = out.with_name(f".{out.name}.building")
    shutil.rmtree(building, ignore_errors=True)
    (building / "images").mkdir(parents=True)
    rows = []
    for start in range(0, count, 64):
        samples = [factory.sample(i) for i in range(start, min(count, start + 64))]
        outputs = translator.translate([s.image for s in samples])
        for sample, image in zip(samples, outputs, strict=True):
            augmented, _, _ = mix(image, sample.record, np.random.default_rng(sample.seed))
            name = f"images/{sample.index:06d}.jpg"
            (building / name).write_bytes(encode_image(augmented, "jpg", 95))
            rows.append([name, sample.record.text, sample.to_dict()["type"]])
    with open(building / "labels.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["file", "text", "type"], *rows])
    building.replace(out)
    return out


def row_types(name: str) -> str:
    """The `--types` a base row's sets are drawn with (realistic shares unless ROW_TYPES
    says otherwise)."""
    return ROW_TYPES.get(name, "realistic")


def fit(real_part: Path, work: Path, seed: int) -> Path:
    """`kplate fit` on the GAN's real half (unlabelled) at the sets' height."""
    from kplate.evaluate.defaults import CRITIC_CANDIDATES, CRITIC_GUIDE, CRITIC_TEMPER
    from kplate.evaluate.fit import add_critic, fit_augmentation
    from kplate.evaluate.fit_config import write_fit_config

    out = work / f"fitted_{SET_HEIGHT}px.yaml"  # fitted at the sets' height, so named
    # A config fitted before the critic (session 28), before its guide (session 38) or
    # before the fit counted the infrared share (session 41) is fitted again, critic and all.
    text = out.read_text(encoding="utf-8") if out.is_file() else ""
    stale = "\ncritic:" not in text or "\n# infrared share:" not in text
    if stale or (CRITIC_GUIDE and "\n# guide:" not in text):
        result = fit_augmentation(
            real_part, budget_minutes=FIT_MINUTES, evaluations=FIT_EVALUATIONS, seed=seed,
            height=SET_HEIGHT, check=0, types=FIT_TYPES,
        )  # fmt: skip
        add_critic(result, out, candidates=CRITIC_CANDIDATES, temper=CRITIC_TEMPER)
        write_fit_config(result, out)
    else:
        retune_critic(out, CRITIC_CANDIDATES, CRITIC_TEMPER)
    return out


#: A fitted config's header line on its critic (fit_config.header writes it).
_CRITIC_HEADER = re.compile(r"^(# critic: of )\d+( camera draws per plate)", re.M)


def retune_critic(config: Path, candidates: int, temper: float) -> None:
    """Give a cached fitted config the fit's current draws per plate and temper. The
    critic's weights depend on neither (it learns from draws without a critic), so the
    search and the critic are kept and only the choice among draws changes (run 53 tried
    16 draws at temper 2 so, and run 54 went back to 4 at 1: docs/evaluate.md, session
    37). The set drawn from the config is then stale by its content digest and drawn
    again. The critic line is written as `kplate fit` writes it (`critic_line`)."""
    import yaml

    from kplate.evaluate.fit_config import critic_line
    from kplate.io.files import atomic_write_text

    text = config.read_text(encoding="utf-8")
    lines = _CRITIC_HEADER.sub(rf"\g<1>{candidates}\g<2>", text).splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.startswith("critic:"):
            section = yaml.safe_load(line)["critic"]
            section |= {"candidates": candidates, "temper": float(temper)}
            lines[index] = critic_line(section, None) + "\n"
    new = "".join(lines)
    if new != text:
        atomic_write_text(config, new)


def translate(checkpoint: Path, source: Path, out: Path) -> tuple[Path, float | None]:
    from kplate.gan.translate import Translator, translate_dataset

    translator, model = Translator.from_checkpoint(checkpoint, "cpu", 16)
    summary = translate_dataset(source, out, translator, model)
    return out, summary.mean_preservation


def _scores(metrics: dict[str, Any]) -> dict[str, Any]:
    from kplate.evaluate.metrics import wilson_interval

    exact = round(metrics["exact_accuracy"] * metrics["count"])
    return {
        "accuracy": metrics["exact_accuracy"],
        "greedy_accuracy": metrics["greedy"]["exact_accuracy"],
        "one_view_accuracy": metrics["grammar"]["exact_accuracy"],
        "ci95": wilson_interval(exact, metrics["count"]),
        "cer": metrics["cer"],
        "per_type": metrics["per_type"],
        "per_position": metrics["per_position"],
        "error_kinds": {k: v["count"] for k, v in metrics["error_kinds"].items()},
        "confusions": metrics["confusions"][:10],
    }


#: One training: (kind "row" or "fold", row name, training folders, held-out folder, reader
#: seed). A row trained with several reader seeds (--seeds) is one job per seed.
Job = tuple[str, str, list[str], str | None, int]
#: One row of the run's plan: (row name, training folders, held-out folder or None).
PlanRow = tuple[str, list[Path], Path | None]


def run_job(job: Job, context: dict[str, Any]) -> dict:
    """One training of the fixed recipe, in a worker process with one torch thread.

    The realism test depends on the set, not on the reader, so only the training with
    the run's own seed (`context["seed"]`) runs it; a row's other seeds leave it None.
    """
    import torch

    torch.set_num_threads(1)
    kind, name, folders, held, seed = job
    if kind == "fold":
        return _fold(int(name.split()[1]), context)
    steps = context["steps"] * (LONG_STEPS_FACTOR if name in LONG_ROWS else 1)
    from kplate.evaluate import evaluate_recognition, load_labelled
    from kplate.evaluate.data import load_arrays
    from kplate.evaluate.realism import repeated_two_sample_test

    started = time.monotonic()
    test_set = load_labelled(context["real_test"])
    recogniser, reader_key, reused = trained_reader([Path(f) for f in folders], steps, seed,
                                                    context)  # fmt: skip
    learn = None if held is None else evaluate_recognition(recogniser, held)
    metrics = evaluate_recognition(recogniser, test_set)
    misses = None if learn is None else learnability_misses(learn["samples"], Path(held))
    realism: dict[str, Any] = {"accuracy": None, "ci95": None, "accuracies": None}
    if seed == context["seed"]:
        paths = [i.path for f in folders for i in load_labelled(f)]
        picked = paths[:: max(1, len(paths) // 800)]
        generated_rgb, kept = load_arrays(picked, 48, 160, mode="RGB")
        real_rgb, real_kept = load_arrays([i.path for i in test_set], 48, 160, mode="RGB")
        groups = realism_groups(folders, [picked[k] for k in kept],
                                [test_set[k] for k in real_kept], context["sources"])  # fmt: skip
        realism = repeated_two_sample_test(
            generated_rgb, real_rgb, seed=seed, repeats=REALISM_REPEATS, time_limit=40,
            groups=groups,
        )  # fmt: skip
    return {
        "set": name,
        "reader_seed": seed,
        "steps": steps,
        "train_images": recogniser.recipe["train_images"],
        "final_loss": recogniser.history[-1][1],
        "restarts": recogniser.recipe["restarts"],
        "precision": recogniser.recipe["precision"],
        "reader_digest": reader_key,
        "reader_reused": reused,
        "learnability": None if learn is None else learn["exact_accuracy"],
        "learnability_greedy": None if learn is None else learn["greedy"]["exact_accuracy"],
        "learnability_one_view": None if learn is None else learn["grammar"]["exact_accuracy"],
        "learnability_per_type": None if learn is None else learn["per_type"],
        "learnability_misses": misses,
        "per_source": per_source(metrics["samples"], context["sources"]),
        "realism_accuracy": realism["accuracy"],
        "realism_ci95": realism["ci95"],
        "realism_accuracies": realism["accuracies"],
        "realism_groups": realism.get("groups"),
        "seconds": round(time.monotonic() - started),
        **_scores(metrics),
    }


def realism_groups(folders: list[str], generated: list[Path], real: list[Any],
                   sources: dict[str, str] | None) -> tuple[list[dict[str, str]], ...]:  # fmt: skip
    """Each realism image's groups (kplate.evaluate.realism.image_groups): a synthetic
    plate's type, preset and camera; a real crop's type and source, so that the row says
    which plates give its set away, not only how often."""
    from kplate.evaluate.realism import image_groups

    known: dict[Path, dict[str, str]] = {}
    for folder in folders:
        known.update(image_groups(folder))
    real_groups = [{"type": item.type, "source": (sources or {}).get(Path(item.path).name, "?")}
                   for item in real]  # fmt: skip
    return [known.get(path, {}) for path in generated], real_groups


def smallest_heights(folder: Path) -> dict[str, float]:
    """Each image's smallest letter or digit height in effective pixels, by file name: the
    legibility rule's own measure as metadata.jsonl records it (a clean render, which
    the rule does not touch, gives its box heights). Hyphens are not characters here."""
    heights: dict[str, float] = {}
    with open(folder / "metadata.jsonl", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            chars = record["chars"]
            measured = ((record.get("augment") or {}).get("legibility") or {}).get(
                "char_height_px"
            ) or [c["box"][3] - c["box"][1] for c in chars]
            letters = [h for c, h in zip(chars, measured, strict=True) if c["char"] != "-"]
            heights[Path(record["file_name"]).name] = min(letters)
    return heights


def learnability_misses(samples: list[dict[str, Any]], held: Path) -> dict[str, Any]:
    """How many held-out images the reader missed, and how many of those have every
    letter and digit at least LEGIBLE_FACTOR x the legibility floor tall: misses that
    the recipe's budget, not the image, accounts for."""
    heights = smallest_heights(held)
    legible_px = LEGIBLE_FACTOR * MIN_CHAR_HEIGHT_PX
    missed = [heights[Path(s["file"]).name] for s in samples if s["label"] != s["predicted"]]
    legible = sum(height >= legible_px for height in missed)
    return {"count": len(missed), "legible": legible, "legible_px": legible_px}


def per_source(samples: list[dict[str, Any]], sources: dict[str, str]) -> dict[str, Any]:
    """Exact accuracy on each source's crops (real_dev's labels.csv `source`, by file
    name): the held-back crops come from other sources and cameras, and the spread over
    these is what this split can say of them."""
    counts: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for sample in samples:
        source = sources.get(Path(sample["file"]).name, "?")
        counts[source] += 1
        right[source] += sample["label"] == sample["predicted"]
    return {s: {"count": counts[s], "exact_accuracy": right[s] / counts[s]} for s in sorted(counts)}


def combine_seeds(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from its trainings with several reader seeds (--seeds).

    The real split's and the learnability's accuracies are the medians over the seeds;
    the row's other columns (interval, CER, per type, position and error kind) come from
    the training whose real accuracy is that median (the lower middle one for an even
    count), so that they describe one reader; realism is the set's, measured once.
    `seeds` keeps each training's numbers and `accuracy_range` their spread.
    """
    runs = sorted(runs, key=lambda run: run["reader_seed"])
    if len(runs) == 1:
        return runs[0]
    middle = sorted(runs, key=lambda run: (run["accuracy"], run["reader_seed"]))
    row = dict(middle[(len(runs) - 1) // 2])
    learned = [run["learnability"] for run in runs if run["learnability"] is not None]
    measured = [run for run in runs if run["realism_accuracy"] is not None]
    row.update(
        accuracy=statistics.median(run["accuracy"] for run in runs),
        learnability=statistics.median(learned) if learned else None,
        realism_accuracy=measured[0]["realism_accuracy"] if measured else None,
        realism_ci95=measured[0]["realism_ci95"] if measured else None,
        realism_accuracies=measured[0].get("realism_accuracies") if measured else None,
        realism_groups=measured[0].get("realism_groups") if measured else None,
        accuracy_range=[min(r["accuracy"] for r in runs), max(r["accuracy"] for r in runs)],
        seconds=sum(run["seconds"] for run in runs),
        seeds=[{key: run[key] for key in SEED_KEYS} for run in runs],
    )
    return row


#: What a row keeps of each of its seeds' trainings.
SEED_KEYS = ("reader_seed", "accuracy", "learnability", "final_loss", "restarts", "seconds",
             "reader_digest", "reader_reused")  # fmt: skip


def _fold(fold: int, context: dict[str, Any]) -> dict[str, Any]:
    """Train on the other folds' real labels; read this fold's crops."""
    from kplate.evaluate import load_labelled
    from kplate.evaluate.data import load_arrays
    from kplate.evaluate.recogniser import HEIGHT, WIDTH

    started = time.monotonic()
    real, work, seed = Path(context["real"]), Path(context["work"]), context["seed"]
    rows = _real_rows(real)
    in_fold = [int(_text_hash(seed + 1, r["text"]) * FOLDS) == fold for r in rows]
    kept = [r for r, held in zip(rows, in_fold, strict=True) if not held]
    held_rows = [r for r, held in zip(rows, in_fold, strict=True) if held]
    train_dir = _link_folder(work / f"fold{fold}_train", real, kept)
    test_dir = _link_folder(work / f"fold{fold}_test", real, held_rows)
    recogniser, reader_key, reused = trained_reader([train_dir], context["steps"], seed, context)
    items = load_labelled(test_dir)
    arrays, kept_items = load_arrays([i.path for i in items], HEIGHT, WIDTH)
    items = [items[k] for k in kept_items]
    read = recogniser.readings(arrays)
    return {
        "train_images": len(kept),
        "seconds": round(time.monotonic() - started),
        "reader_digest": reader_key,
        "reader_reused": reused,
        "readings": [
            [i.path.name, i.text, i.type, text, plain, once]
            for i, text, plain, once in zip(
                items, read.views, read.greedy, read.grammar, strict=True
            )
        ],
    }


def real_ceiling(
    folds: list[dict[str, Any]],
    test_keys: set[str],
    digest: str | None = None,
    sources: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The folds' out-of-fold readings, scored on the test split and on all of real_dev
    (and by source, given each crop's); `digest`: the ceiling_digest they were trained
    under."""
    from kplate.evaluate.metrics import exact_and_cer, recognition_metrics

    readings = sorted(r for fold in folds for r in fold["readings"])
    split = [r for r in readings if r[0] in test_keys]
    metrics = recognition_metrics(
        [r[1] for r in split], [r[3] for r in split], [r[2] for r in split]
    )
    everything = recognition_metrics([r[1] for r in readings], [r[3] for r in readings])
    for key, column in (("greedy", 4), ("grammar", 5)):
        metrics[key] = exact_and_cer([r[1] for r in split], [r[column] for r in split])
    return {
        "set": f"real labels ({FOLDS}-fold ceiling)",
        "train_images": round(sum(f["train_images"] for f in folds) / len(folds)),
        "learnability": None,
        "realism_accuracy": None,
        "realism_ci95": None,
        "realism_accuracies": None,
        "all_real_dev_accuracy": everything["exact_accuracy"],
        "seconds": sum(f["seconds"] for f in folds),
        "ceiling_digest": digest,
        "reader_digests": [f.get("reader_digest") for f in folds],
        "per_source": None
        if sources is None
        else per_source([{"file": r[0], "label": r[1], "predicted": r[3]} for r in split], sources),
        **_scores(metrics),
    }


def _draw_sets(
    args: argparse.Namespace, real_gan: Path, started: float
) -> tuple[list[PlanRow], dict[str, Any] | None, set[str], Any, Any, float | None]:
    """The fitted config, every row's training and held-out sets and, with --gan, the
    translated rows: (plan, the GAN's record, the GAN's row names, its checkpoint step,
    its stopping, its translation preservation)."""
    import torch

    def made(name: str, augment: str | None, seed: int, types: str) -> tuple[Path, Path]:
        name = name.split(" (")[0].replace(", ", "_").replace(" ", "_")
        train = generate(args.work / name, args.count, seed, augment, types)
        held = generate(args.work / f"{name}_heldout", LEARN_TEST_COUNT, seed + 500, augment, types)
        return train, held

    plan: list[PlanRow] = []
    fitted = str(fit(real_gan, args.work, args.seed))
    augments = [None, "light", "heavy", "cctv", "night", "mix", "mix", fitted]
    mixes = [row_types(name) for name in BASE_ROWS]
    for k, (name, augment, types) in enumerate(zip(BASE_ROWS, augments, mixes, strict=True)):
        train, held = made(name, augment, args.seed + k, types)
        plan.append((name, [train], held))
    plan += long_rows(plan)
    preservation = None
    gan_step = None
    gan_stop = None
    gan_rows: set[str] = set()
    gan: dict[str, Any] | None = None
    if args.gan:
        clean = plan[0][1][0]
        # The GAN's dataroot, checkpoints and translated sets are cached per set height,
        # as the sets and the fitted config are: none of them is reused at another height.
        gan_work = args.work / f"gan_{SET_HEIGHT}px"
        gan_work.mkdir(exist_ok=True)
        checkpoint, gan_stop = train_gan(
            gan_work, clean, real_gan, args.minutes * 60 * GAN_SHARE, args.seed,
            args.gan_check_every, args.gan_patience, args.gan_text,
        )  # fmt: skip
        gan_step = torch.load(checkpoint, weights_only=True).get("step")
        tag = "" if args.gan_text == 0 else f"_text{args.gan_text:g}"
        translated, preservation = translate(checkpoint, clean, gan_work / f"translated{tag}")
        pairs_sheet(clean, translated, RESULTS / f"sim2real_gan_pairs{tag}.png")
        mix_train = next(p[1][0] for p in plan if p[0] == "mix")
        mix_translated, _ = translate(checkpoint, mix_train, gan_work / f"mix_translated{tag}")
        translated_mix = translated_then_augmented(
            gan_work / f"translated_mix{tag}", args.count, args.seed, checkpoint
        )
        # Every row here has args.count images, as the mix row (augmented only) has.
        names = gan_row_names(args.gan_text)
        folders = [[translated], [mix_translated], [translated_mix]]
        plan += [(name, folder, None) for name, folder in zip(names, folders, strict=True)]
        gan = {"lambda_text": args.gan_text, "checkpoint_step": gan_step,
               "stopped_at": gan_stop["stopped_at"], "reason": gan_stop["reason"],
               "translation_preservation": preservation}  # fmt: skip
        gan_rows = set(names)
    print(f"sets ready in {(time.monotonic() - started) / 60:.1f} min", flush=True)
    return plan, gan, gan_rows, gan_step, gan_stop, preservation


def main() -> None:
    from kplate.evaluate.defaults import RECOGNISER_STEPS, RECOGNISER_TYPE_BALANCE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="time budget (60)")
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL)
    parser.add_argument("--work", type=Path, default=HERE / "out" / "sim2real")
    parser.add_argument("--count", type=int, default=6000, help="synthetic plates per set")
    parser.add_argument(
        "--type-balance",
        type=float,
        default=RECOGNISER_TYPE_BALANCE,
        metavar="P",
        help="every reader samples each image (largest type's count / its type's) ** P "
        f"times per epoch, 0 to 1 (the recipe's {RECOGNISER_TYPE_BALANCE}; docs/evaluate.md, "
        "sessions 27 and 36)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gan-share", type=float, default=0.5)
    parser.add_argument("--fresh", action="store_true", help="discard earlier work in --work")
    parser.add_argument(
        "--gan",
        action="store_true",
        help="add the translated rows (CUT-lite trained until its stopping rule, at most "
        "a share of --minutes; about 15 minutes more)",
    )
    parser.add_argument("--gan-check-every", type=int, default=200, help="steps per check")
    parser.add_argument("--gan-patience", type=int, default=4, help="checks without gain")
    parser.add_argument(
        "--gan-text", type=float, default=0.0, help="text-preserving loss weight (0: off)"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="reader seeds per synthetic row (1); a row reports their median real and "
        "learnability accuracy: N times the trainings, so a run on 2 cores overruns 60 "
        "minutes above 1",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=RECOGNISER_STEPS,
        help=f"recogniser steps per row (the recipe's {RECOGNISER_STEPS}; the 4x-steps row "
        "trains 4x that): more steps say what a row teaches nearer convergence, and take "
        f"that much longer, so above {RECOGNISER_STEPS} a run on 2 cores overruns 60 minutes",
    )
    parser.add_argument(
        "--jobs", type=int, default=JOBS, help=f"trainings at once, one thread each ({JOBS})"
    )
    parser.add_argument(
        "--long",
        action="store_true",
        help=f"also train the {LONG_STEPS_FACTOR}x-steps row (about 32 more core-minutes; "
        "without it a whole run carries that row over while its digest is unchanged)",
    )
    parser.add_argument(
        "--row",
        action="append",
        help="train only this row ('ceiling' for the folds; repeatable) and carry the "
        "others over from the last run with the same settings",
    )
    parser.error = refuse  # type: ignore[method-assign]  # usage errors in one line, exit 2
    args = parser.parse_args()
    for option in ("seeds", "jobs", "steps"):
        if getattr(args, option) < 1:
            refuse(f"--{option} must be 1 or more, got {getattr(args, option)}")
    if not 0.0 <= args.type_balance <= 1.0:
        refuse(f"--type-balance must be 0 to 1, got {args.type_balance}")
    if not (args.real / "labels.csv").is_file():
        print(f"skip: {args.real} not found (the real development crops live in ../shared)")
        return
    from kplate.evaluate.recogniser import FORMAT_VERSION

    # A row carried over (--row) must come from the same recipe: a recogniser of another
    # format reads differently, so its rows are not comparable.
    settings = {"count": args.count, "recogniser_steps": args.steps,
                "recogniser_format": FORMAT_VERSION, "seed": args.seed,
                "set_height": SET_HEIGHT}  # fmt: skip
    if args.type_balance:  # unrecorded means 0, what the runs before the recipe's 0.5 used
        settings["type_balance"] = args.type_balance
    wanted, carried = chosen_rows(args, settings)
    # Read only when the ceiling may be trained: a whole run, or --row ceiling.
    trains_ceiling = wanted is None or "ceiling" in wanted
    ceiling_key = ceiling_digest(args.real, args.seed) if trains_ceiling else None
    # A whole run carries over the last run's ceiling when nothing it depends on changed
    # (--fresh or --row ceiling trains it again).
    whole = ceiling_key is not None and not (wanted or args.fresh)
    kept_ceiling = same_ceiling(settings, ceiling_key) if whole else None
    if kept_ceiling is not None:
        carried = {"rows": {kept_ceiling["set"]: kept_ceiling}}
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    from kplate.evaluate import load_labelled

    if args.fresh:
        shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    steps = args.steps
    real_gan, real_test = split_real(args.real, args.work, args.seed, args.gan_share)
    test_set = load_labelled(real_test)
    test_keys = {item.path.name for item in test_set}
    if carried.get("test_images") not in (None, len(test_set)):
        refuse(f"--row: the last run tested {carried['test_images']} crops, this one "
               f"{len(test_set)}; run the whole scoreboard")  # fmt: skip

    sources = {Path(row["file"]).name: row.get("source", "") for row in _real_rows(args.real)}
    context = dict(real=str(args.real), work=str(args.work), real_test=str(real_test),
                   steps=steps, seed=args.seed, sources=sources,
                   type_balance=args.type_balance)  # fmt: skip
    # The ceiling's folds need no synthetic set: the first of them trains while this
    # process fits and draws the sets, on the core that the fit leaves idle.
    folds: list[Job] = []
    if kept_ceiling is None and (wanted is None or "ceiling" in wanted):
        folds = [("fold", f"fold {fold}", [], None, args.seed) for fold in range(FOLDS)]
    early, folds = folds[: args.jobs - 1], folds[args.jobs - 1 :]  # --jobs is 1 or more
    # Two processes of one thread each read more images per second than one of two.
    pool = ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn"))
    futures = {pool.submit(run_job, job, context): job[1] for job in early}
    try:
        plan, gan, gan_rows, gan_step, gan_stop, preservation = _draw_sets(args, real_gan, started)
    except BaseException:
        pool.shutdown(cancel_futures=True)
        raise

    # Reader seeds seed, seed + 1, ...: with --seeds 1 each row is the same training as
    # before the option. The ceiling's folds train once.
    reader_seeds = range(args.seed, args.seed + args.seeds)
    # The long rows train with --long (or when --row names them); a whole run without it
    # carries them over while their digest is unchanged, and leaves them out otherwise.
    jobs: list[Job] = [
        ("row", name, [str(f) for f in folders], None if held is None else str(held), k)
        for name, folders, held in plan
        if name not in LONG_ROWS or args.long or name in (wanted or ())
        for k in reader_seeds
    ]
    jobs += folds
    if wanted is not None:
        jobs = [job for job in jobs if job[1] in wanted or job[0] == "fold"]
    carried_rows: dict[str, dict[str, Any]] = carried.get("rows", {})
    # The rows that decide the defaults first, so a run cut short still answers them.
    jobs.sort(key=lambda job: FIRST.index(job[1]) if job[1] in FIRST else len(FIRST))
    seed_runs: dict[str, list[dict[str, Any]]] = {}
    # Every row's digest, recorded with it; a whole run carries over the last run's row of
    # the same digest (--fresh or --row NAME trains it anyway).
    # Each set hashed once (the long row trains on its base row's), the split once.
    shared, digest_of = shared_digest(context), functools.cache(folder_digest)
    row_keys = {
        name: row_digest([Path(f) for f in folders], held, shared, list(reader_seeds),
                         steps * (LONG_STEPS_FACTOR if name in LONG_ROWS else 1), digest_of)
        for name, folders, held in plan
    }  # fmt: skip
    # The workers name their readers by the same set digests, without hashing them again.
    context["set_digests"] = {str(f): digest_of(f) for _, folders, _ in plan for f in folders}
    kept_rows = same_rows(settings, row_keys) if whole else {}
    carried_rows.update(kept_rows)
    later = [job for job in jobs if not (job[0] == "row" and job[1] in kept_rows)]
    jobs = early + later  # every training of this run, the early folds first
    results: dict[str, dict[str, Any]] = {}
    styles = sorted(t for t, n in Counter(i.type for i in test_set).items() if n >= STYLE_MIN_COUNT)
    header = {
        "budget_minutes": args.minutes,
        **settings,
        "test_images": len(test_set),
        "styles": styles,
        "trained_rows": sorted({job[1] for job in jobs}),
        "reader_seeds": list(reader_seeds),
        "gan_checkpoint_step": gan_step,
        "gan_stopping": gan_stop,
        "translation_preservation": preservation,
    }

    def write_latest(complete: bool) -> dict[str, Any]:
        """Rows finished so far, so that a run cut short still leaves its numbers."""
        # This run's rows in plan order, then rows carried over (--row), the ceiling last.
        order = [name for name, _, _ in plan] + [n for n in carried_rows if n not in results]
        rows = [results[n] if n in results else carried_rows[n]
                for n in dict.fromkeys(order) if n in results or n in carried_rows]  # fmt: skip
        ceiling = [row for row in rows if row["set"].startswith("real labels")]
        rows = [row for row in rows if row not in ceiling]
        if all(f"fold {k}" in results for k in range(FOLDS)):
            folds = [results[f"fold {k}"] for k in range(FOLDS)]
            rows.append(real_ceiling(folds, test_keys, ceiling_key, sources))
        elif not any(job[0] == "fold" for job in jobs):
            rows += ceiling
        minutes = (time.monotonic() - started) / 60
        note = (
            f"test: {len(test_set)} real_dev crops held out by plate text; recogniser {steps} "
            f"steps per row ({LONG_STEPS_FACTOR * steps} for the {LONG_STEPS_FACTOR}x-steps row)"
            + ("" if args.seeds == 1 else f", {args.seeds} reader seeds each (their median)")
            + "; "
            f"{args.count} synthetic plates per set; GAN stopped at step "
            f"{None if gan_stop is None else gan_stop['stopped_at']} "
            f"({None if gan_stop is None else gan_stop['reason']}), best check {gan_step}; "
            "translation preservation "
            f"{None if preservation is None else round(preservation, 3)}; {minutes:.1f} min"
            + ("" if complete else " (partial: rows still training)")
            + (
                ""
                if kept_ceiling is None
                else f"; the ceiling is carried over from run {kept_ceiling['carried_from']} "
                "(the same real labels and crops, seed and recogniser code)"
            )
            + (
                ""
                if not kept_rows
                else f"; carried over (the same sets, recogniser and scoreboard code): "
                f"{'; '.join(kept_rows)}"
            )
            + reused_note(results)
            + "".join(
                f"; {name}: not trained (--long trains it)"
                for name in LONG_ROWS
                if name not in results and name not in carried_rows
            )
            + (
                ""
                if wanted is None
                else f"; trained in this run: {'; '.join(sorted(wanted))}; "
                "the other rows are carried over from the runs their carried_from names"
            )
        )
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H%MZ")
        result = {"when": stamp, "minutes": round(minutes, 1), "complete": complete,
                  **header, "rows": rows, "note": note}  # fmt: skip
        RESULTS.mkdir(parents=True, exist_ok=True)
        table = markdown_table(rows, styles) + "\n\n" + source_table(rows)
        latest = RESULTS / "sim2real_latest.json"
        tmp = latest.with_name(f".{latest.name}.tmp")
        tmp.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(latest)
        (RESULTS / "sim2real_latest.md").write_text(f"{table}\n\n{note}\n", encoding="utf-8")
        return result

    with pool:
        futures |= {pool.submit(run_job, job, context): job[1] for job in later}
        for future in as_completed(futures):
            name, run = futures[future], future.result()
            if "set" in run:
                learned = "-" if run["learnability"] is None else f"{run['learnability']:.3f}"
                print(f"  {name} (reader seed {run['reader_seed']}): learnability {learned}, "
                      f"real {run['accuracy']:.3f} (CER {run['cer']:.3f}), {run['seconds']} s",
                      flush=True)  # fmt: skip
                seed_runs.setdefault(name, []).append(run)
                if len(seed_runs[name]) < len(reader_seeds):
                    continue  # the row's other seeds are still training
                run = combine_seeds(seed_runs[name])
                if name in gan_rows:
                    run["gan"] = gan
                run["row_digest"] = row_keys[name]
            else:
                print(f"  ceiling {name}: {run['seconds']} s", flush=True)
            results[name] = run
            write_latest(complete=False)
    result = write_latest(complete=True)
    prune_readers(args.work, reader_digests(result["rows"]))
    print()
    print(markdown_table(result["rows"], styles))
    print()
    print(source_table(result["rows"]))
    print(result["note"])
    keep = (
        "set",
        "learnability",
        "learnability_one_view",
        "accuracy",
        "one_view_accuracy",
        "greedy_accuracy",
        "cer",
        "realism_accuracy",
        "realism_accuracies",
    )
    keep += ("error_kinds", "seeds", "learnability_misses", "per_source", "realism_groups")
    with open(RESULTS / "sim2real_history.jsonl", "a", encoding="utf-8") as handle:
        summary = {k: v for k, v in result.items() if k != "rows"}
        summary["rows"] = [{k: r.get(k) for k in keep} for r in result["rows"]]
        handle.write(json.dumps(summary, ensure_ascii=False) + "\n")
    print(f"wrote {RESULTS / 'sim2real_latest.json'}")


def reused_note(results: dict[str, dict[str, Any]]) -> str:
    """The note's words on the trainings this run read with a reader that an earlier run
    trained (trained_reader): how many of how many; "" when it trained them all."""
    trainings = [seed for run in results.values() for seed in run.get("seeds") or [run]]
    reused = sum(bool(run.get("reader_reused")) for run in trainings)
    if not reused:
        return ""
    return (f"; {reused} of {len(trainings)} readers reused from earlier runs (the same "
            "training sets, steps, seed and training code): their rows were read and "
            "scored again, not trained, so the minutes above are not a whole run's")  # fmt: skip


def reader_digests(rows: list[dict[str, Any]]) -> set[str]:
    """Every reader digest a results file's rows name: each row's (and each of its seeds'),
    and the ceiling's folds'."""
    found = set()
    for row in rows:
        for run in [row, *(row.get("seeds") or [])]:
            found.add(run.get("reader_digest"))
        found.update(row.get("reader_digests") or [])
    return {digest for digest in found if digest}


def long_rows(plan: list[PlanRow]) -> list[PlanRow]:
    """Each LONG_ROWS row's (name, training folders, held-out folder): its base row's own."""
    sets = {name: (folders, held) for name, folders, held in plan}
    return [(name, *sets[base]) for name, base in LONG_ROWS.items()]


BASE_ROWS = ("clean", "light", "heavy", "cctv", "night", "mix", "mix, even types",
             "fitted (kplate fit)")  # fmt: skip


def gan_row_names(text_weight: float) -> list[str]:
    """The three translated rows; with the text-preserving loss, their names say its weight."""
    model = "CUT-lite" if text_weight == 0 else f"CUT-lite, text {text_weight:g}"
    return [f"translated ({model})", f"mix, then translated ({model})",
            f"translated ({model}), then mix"]  # fmt: skip


def chosen_rows(
    args: argparse.Namespace, settings: dict[str, Any]
) -> tuple[set[str] | None, dict[str, Any]]:
    """--row, checked before anything is written: the rows to train, and the last run's
    rows by name (each marked with the run it comes from) with its test size."""
    if not args.row:
        return None, {}
    wanted = set(args.row)
    known = {*BASE_ROWS, *LONG_ROWS, "ceiling"}
    known |= set(gan_row_names(args.gan_text) if args.gan else [])
    if wanted - known:
        refuse(f"--row: no row named {sorted(wanted - known)[0]!r} in this run; "
               f"rows: {', '.join(map(repr, sorted(known)))}")  # fmt: skip
    latest = RESULTS / "sim2real_latest.json"
    if not latest.is_file():
        refuse(f"--row: {latest} not found; run the whole scoreboard first")
    last = json.loads(latest.read_text(encoding="utf-8"))
    for key, made, value in changed_settings(last, settings):
        refuse(f"--row: {latest} was made with {key} {made}, "
               f"this run has {value}; run the whole scoreboard")  # fmt: skip
    rows = {row["set"]: _carried(row, last) for row in last["rows"]}
    return wanted, {"rows": rows, "test_images": last.get("test_images")}


def refuse(message: str) -> NoReturn:
    """Bad input: one line on stderr and exit code 2, before anything is written."""
    print(f"sim2real: {message}", file=sys.stderr)
    raise SystemExit(2)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def markdown_table(rows: list[dict[str, Any]], styles: list[str]) -> str:
    """The README's scoreboard: one line per row; per-type real accuracy for big styles."""
    kinds = ("length", "end_extra", "region", "hangul", "digit")
    by_seed = any(len(row.get("seeds", [])) > 1 for row in rows)
    legible = f"learn misses: legible (chars >= {LEGIBLE_FACTOR * MIN_CHAR_HEIGHT_PX:g} px)"
    head = ["training set", "images", "learn %", "learn % one view", legible]
    head += ["real %", "(95% CI)", "real % one view", "real % greedy", "CER"]
    head += ["real % by reader seed"] if by_seed else []
    head += [f"realism (median of {REALISM_REPEATS} seeds, range)"]
    head += [f"{s} %" for s in styles] + [f"err: {k}" for k in kinds]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        low, high = row["ci95"]
        cells = [
            row["set"],
            str(row["train_images"]),
            _pct(row["learnability"]),
            _pct(row.get("learnability_one_view")),
            _misses(row.get("learnability_misses")),
            _pct(row["accuracy"]),
            f"{100 * low:.0f}-{100 * high:.0f}",
            _pct(row.get("one_view_accuracy")),
            _pct(row.get("greedy_accuracy")),
            f"{row['cer']:.3f}",
        ]
        if by_seed:
            seeds = row.get("seeds", [])
            cells.append(" / ".join(_pct(run["accuracy"]) for run in seeds) if seeds else "-")
        cells += [_realism(row)]
        cells += [_pct(row["per_type"].get(s, {}).get("exact_accuracy")) for s in styles]
        cells += [str(row["error_kinds"][k]) for k in kinds]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _realism(row: dict[str, Any]) -> str:
    """The realism median, with its seeds' range where there are several."""
    if row["realism_accuracy"] is None:
        return "-"
    each = row.get("realism_accuracies") or []
    spread = f" ({min(each):.2f}-{max(each):.2f})" if len(each) > 1 else ""
    return f"{row['realism_accuracy']:.3f}{spread}"


def _misses(misses: dict[str, Any] | None) -> str:
    return "-" if misses is None else f"{misses['legible']} of {misses['count']}"


def source_table(rows: list[dict[str, Any]]) -> str:
    """The real split's exact accuracy by source (the crops' counts in the header); a row
    without it (from a run before the column, or a ceiling carried over from one) shows
    '-'."""
    found = {s: v["count"] for row in rows for s, v in (row.get("per_source") or {}).items()}
    counts = dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))
    head = ["training set"] + [f"{source} ({n}) %" for source, n in counts.items()]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        scores = row.get("per_source") or {}
        cells = [_pct(scores.get(source, {}).get("exact_accuracy")) for source in counts]
        lines.append("| " + " | ".join([row["set"], *cells]) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
