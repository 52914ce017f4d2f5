"""Reading and scoring with a trained recogniser: its texts by each `Decoding`, and the
report `kplate evaluate recognition` and the scoreboard score.

Kept apart from `recogniser.py` (the recipe and its training), whose source is part of
the scoreboard's reader digest: a change to how plates are read or scored leaves every
reader the scoreboard keeps valid, and a run after it reads its rows again in minutes
instead of training them (session 35 of issue #16 had to re-key nine readers by hand,
because the reading over views was first written into `recogniser.py`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from kplate.errors import KplateError
from kplate.evaluate.data import load_arrays
from kplate.evaluate.decoding import BEAM_WIDTH, Decoding, grammar_decode
from kplate.evaluate.metrics import ctc_greedy_decode, exact_and_cer, recognition_metrics
from kplate.evaluate.recogniser import (
    CHARSET,
    CLASS_OF,
    CRNN,
    HEIGHT,
    WIDTH,
    Recogniser,
    TrainSet,
    _as_items,
    _autocast,
)
from kplate.evaluate.views import READING_VIEWS, VIEW_BEAM, read_over_views, view_of


def _greedy_texts(log_probs: np.ndarray) -> list[str]:
    """Best-path readings of (N, T, classes) log-probabilities."""
    return ctc_greedy_decode(log_probs.argmax(-1).tolist(), CHARSET)


@dataclass(frozen=True)
class TextReadings:
    """One image batch's readings by each `Decoding` (a list left empty where not read)."""

    greedy: list[str]
    grammar: list[str]
    views: list[str]

    def of(self, decoding: Decoding) -> list[str]:
        return {
            Decoding.GREEDY: self.greedy,
            Decoding.GRAMMAR: self.grammar,
            Decoding.VIEWS: self.views,
        }[decoding]


def read_texts(
    model: CRNN,
    arrays: np.ndarray,
    batch_size: int = 128,
    *,
    grammar: bool = True,
    views: bool = True,
) -> TextReadings:
    """The greedy, grammar and views readings of (N, HEIGHT, WIDTH) uint8 arrays
    (`kplate.evaluate.decoding` and `kplate.evaluate.views` say how they differ); the
    first two from one pass of the network over the image as it is. Without `grammar`
    or `views` those lists are empty (`views` needs `grammar`), and no beam search or
    other view runs."""
    model.eval()
    read = TextReadings([], [], [])
    chosen = READING_VIEWS if views and grammar else READING_VIEWS[:1]
    with torch.inference_mode(), _autocast():
        for start in range(0, len(arrays), batch_size):
            x = torch.from_numpy(arrays[start : start + batch_size]).float().div(255)
            x = x.unsqueeze(1)
            log_probs = torch.stack([model(view_of(x, v)).float() for v in chosen])
            by_view = log_probs.permute(0, 2, 1, 3)  # (V, N, T, classes)
            as_arrays = by_view.numpy()
            greedy = [_greedy_texts(view) for view in as_arrays]
            read.greedy.extend(greedy[0])
            if not grammar:
                continue
            constrained = [
                [
                    grammar_decode(lp, CHARSET, text, beam=BEAM_WIDTH if k == 0 else VIEW_BEAM)
                    for lp, text in zip(view, texts, strict=True)
                ]
                for k, (view, texts) in enumerate(zip(as_arrays, greedy, strict=True))
            ]
            read.grammar.extend(constrained[0])
            if views:
                read.views.extend(read_over_views(by_view, constrained, CLASS_OF))
    return read


def evaluate_recognition(
    recogniser: Recogniser, test_set: TrainSet, *, top: int = 20
) -> dict[str, Any]:
    """Read every test image and score it; `samples` lists each (file, label, prediction).

    The scores are of the views readings (`kplate.evaluate.views`: grammar-constrained
    readings of several small views of each image), as a plate reader reads; `grammar`
    gives the exact accuracy and CER of the image read once, as it is (the scoreboard's
    readings up to session 34 of issue #16), and `greedy` those of its best path (before
    issue #16's end), all from the same pass.
    """
    items = _as_items(test_set)
    started = time.monotonic()
    arrays, kept = load_arrays([item.path for item in items], HEIGHT, WIDTH)
    if not kept:
        raise KplateError("no readable test images")
    read = recogniser.readings(arrays)
    used = [items[i] for i in kept]
    labels = [i.text for i in used]
    preds = read.views
    metrics = recognition_metrics(labels, preds, [i.type for i in used], top=top)
    metrics["decoding"] = Decoding.VIEWS.value
    for decoding in (Decoding.GRAMMAR, Decoding.GREEDY):
        metrics[decoding.value] = exact_and_cer(labels, read.of(decoding))
    metrics["skipped"] = len(items) - len(kept)
    metrics["test_seconds"] = round(time.monotonic() - started, 1)
    metrics["samples"] = [
        {"file": str(item.path), "key": item.key, "label": item.text, "predicted": pred,
         "type": item.type}
        for item, pred in zip(used, preds, strict=True)
    ]  # fmt: skip
    return metrics
