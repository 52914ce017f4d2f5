"""Reading a plate under several views: the reading most probable over all of them.

A reader trained for the recipe's 2000 steps still confuses syllables told apart by one
short stroke (가/자, 머/아, 우/무) and drops or doubles a character on rare layouts, and
which one it gets wrong moves with a pixel of shift or a degree of tilt. So each image is
also read under small affine changes (`READING_VIEWS`); each view's grammar reading is a
candidate, and the candidate whose CTC probability, multiplied over every view (the views
taken as separate looks at the same plate), is highest is read, a valid plate number
before any invalid one. Where every view reads the same, that is the reading and nothing
is scored. Measured on the scoreboard's kept readers of run 46 (docs/evaluate.md, session
35), one view against nine: the even-types reader's own held-out plates 93.0 -> 95.25 %
and the real split 74.6 -> 75.1 %; the fitted reader's 94.25 -> 95.25 % and 68.2 -> 70.5 %.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from kplate.evaluate.decoding import is_plate_number

#: One view of the reader's input: (rotation in degrees, the content's scale, shift right
#: and shift down in halves of the width and height, as `F.affine_grid` counts them).
View = tuple[float, float, float, float]
#: The image as it is first (the single-view reading), then its content 0.95 and 1.05
#: times as large, shifted 0.8 px either way of 160 columns, turned 1.5 degrees either
#: way and shifted 1.6 px up and down of 80 rows: about the size of the recipe's own
#: training jitter's smaller draws, so that every view is an image the reader was trained
#: on. Why nine: on the even-types reader, three views read 95.0 % of its held-out plates,
#: five 94.0, nine 95.25, fifteen 95.75 at two thirds more time (session 35).
READING_VIEWS: tuple[View, ...] = (
    (0.0, 1.0, 0.0, 0.0),
    (0.0, 0.95, 0.0, 0.0),
    (0.0, 1.05, 0.0, 0.0),
    (0.0, 1.0, 0.02, 0.0),
    (0.0, 1.0, -0.02, 0.0),
    (1.5, 1.0, 0.0, 0.0),
    (-1.5, 1.0, 0.0, 0.0),
    (0.0, 1.0, 0.0, 0.04),
    (0.0, 1.0, 0.0, -0.04),
)

#: Prefixes the grammar beam keeps on every view but the first (which keeps the full
#: BEAM_WIDTH, so that its reading is the single-view reading). The beam search is most of
#: the reading's time; with 16 the even-types reader's row reads the same as with 64 on
#: both test sets, the fitted reader one real crop less (70.5 % against 70.8), in about
#: half the time (65 s against 121 s for the row's 790 images on one thread; session 35).
VIEW_BEAM = 16


def view_of(batch: torch.Tensor, view: View) -> torch.Tensor:
    """(N, 1, H, W) in [0, 1] under `view` (bilinear, edges repeated); the batch itself
    for the identity view, so that view's reading is the single-view reading."""
    angle, scale, right, down = view
    if view == READING_VIEWS[0]:
        return batch
    radians = math.radians(angle)
    cos, sin = math.cos(radians) / scale, math.sin(radians) / scale
    # affine_grid maps output to input coordinates: a shift right samples from the left.
    theta = torch.tensor([[cos, -sin, -right], [sin, cos, -down]], dtype=batch.dtype)
    # Not the recogniser's _affine_grid: reading runs under bfloat16 autocast, where
    # F.affine_grid's batched product is taken in bfloat16 and _affine_grid's sums in
    # float32, so the grids differ, and with them run 47's readings (clean's CER moved).
    grid = F.affine_grid(theta.expand(len(batch), 2, 3), list(batch.shape), align_corners=False)
    return F.grid_sample(batch, grid, padding_mode="border", align_corners=False)


def log_likelihoods(
    log_probs: torch.Tensor, candidates: Sequence[str], class_of: Mapping[str, int]
) -> np.ndarray:
    """log P(candidate | view) summed over every CTC alignment: `log_probs` (V, T, classes)
    of one image's V views -> (len(candidates), V)."""
    views, steps, _ = log_probs.shape
    count = len(candidates)
    inputs = log_probs.permute(1, 0, 2).repeat(1, count, 1)  # (T, K x V): candidate-major
    targets = [class_of[c] for text in candidates for _ in range(views) for c in text]
    lengths = [len(text) for text in candidates for _ in range(views)]
    losses = F.ctc_loss(
        inputs,
        torch.tensor(targets, dtype=torch.long),
        [steps] * (count * views),
        lengths,
        reduction="none",
        zero_infinity=False,
    )
    return (-losses).view(count, views).numpy().astype(np.float64)


def choose(candidates: Sequence[str], scores: np.ndarray, valid: Callable[[str], bool]) -> str:
    """The candidate with the highest total log-likelihood over the views (`scores`:
    (K, V)), a valid one before any invalid one; ties go to the earlier candidate."""
    totals = scores.sum(axis=1)
    order = sorted(range(len(candidates)), key=lambda k: (not valid(candidates[k]), -totals[k], k))
    return candidates[order[0]]


def read_over_views(
    view_log_probs: torch.Tensor,
    view_readings: Sequence[Sequence[str]],
    class_of: Mapping[str, int],
    valid: Callable[[str], bool] = is_plate_number,
) -> list[str]:
    """Each image's reading over its views: `view_log_probs` (V, N, T, classes),
    `view_readings` V lists of N grammar readings (the identity view's first)."""
    texts = []
    for n, readings in enumerate(zip(*view_readings, strict=True)):
        candidates = list(dict.fromkeys(readings))  # first seen first: the identity's
        if len(candidates) == 1:
            texts.append(candidates[0])
            continue
        scores = log_likelihoods(view_log_probs[:, n], candidates, class_of)
        texts.append(choose(candidates, scores, valid))
    return texts
