"""The fixed-recipe plate recogniser: a compact CRNN trained from scratch with CTC.

The recipe never changes with the data (only `steps` and `seed` are exposed), so two
training sets are compared by what a recogniser learns from them, not by tuning.

Input: the plate as greyscale, squeezed to 80x160 (tall rather than wide) and
standardised per image (mean 0, std 1), so camera exposure and plate colour matter less
than the glyphs. 80 rows keep a two-row plate's top row (region and class, about a fifth
of the plate's height) at 12 px or more, above the 10 px legibility floor kplate holds
its own images to (64 rows until session 11 of issue #16 held it at the floor itself, and
real region names were read half as often: docs/evaluate.md). A one-row plate squeezed
into 160 columns keeps its digits about 14 px wide. The CNN brings the image down to 5
rows x 40 columns of features, and the BiLSTM and CTC read them row by row, top row
first (5 x 40 = 200 steps), like a page: a two-row plate's
region and class (top) come before its number (bottom), which is the label's order, and
a one-row plate, whose characters fill every row, is emitted once, wherever the BiLSTM
chooses. No aspect-ratio rule is needed, which matters because loose real crops of
one-row plates are often as square as two-row plates.

In training only, a second CTC head reads the same CNN features column by column (each
column's strongest feature over the rows, 40 steps, no LSTM). The row-by-row reader alone
spends its first 600-700 steps on CTC's all-blank plateau (many steps and a row to choose
per character), and at a higher learning rate some seeds never leave it; the short column
reader gives the CNN glyph gradients from the first steps. Reading is row by row only.

Also in training only, where the images are kplate's own, each feature cell is labelled
with the character whose box it lies on (the boxes in `metadata.jsonl`), and a linear cell
classifier learns them. CTC alone gives a character's gradient only once the reader has
found where that character is; a two-row plate's small top row (region name, class
digits) was still guessed from the label prior after 2000 steps (`경북` for `충북`), and
some sets never left the all-blank plateau. Real crops have no boxes and train as before.

The same boxes also give the row reader its path (`alignment`): each line of characters
is emitted in the feature row of its centre, each character once at its centre column,
blank between, and the row reader is trained framewise on that path beside its CTC loss.
With CTC alone the row reader had to find where, and in which of the five rows, to emit
each character: it first sat on the all-blank plateau, for longer with some seeds than
others (night's reader seeds 0 and 1 learned 93.8 and 85.5 % of their own held-out plates
by step 2000), and the rare region-name layouts of even type weights it never placed in
2000 steps (60 %). Told the path, the seeds learn alike (93.5 and 93.5 %) and even type
weights 93.0 % (docs/evaluate.md, session 22).

On a CPU with native bfloat16 (AVX512-BF16 or AMX) training runs under bfloat16 autocast
(about 1.7x faster per step on one thread); reading runs under bfloat16 there. Elsewhere
everything is float32. The CTC loss is always float32. A set with boxes on every image
(kplate's own) trains in bfloat16 from the first step; any other set starts in float32
and turns to bfloat16 once the row reader has left CTC's plateau. Why float32 first:
trained by CTC alone, in bfloat16 from the first step, the reader could not leave the
plateau on some training sets at all (the CNN's own gradients there are too small for
bfloat16: even the column reader stayed on it), whatever the seed; in float32 it leaves
it within 200-600 steps (docs/evaluate.md, session 12). The boxes' cell and alignment
losses give every cell its gradient from the first step, and such a reader never sits on
the plateau (session 22), so the 150-500 float32 steps, about 6 % of a 2000-step
training's time, are spent for nothing there (session 24).
"""

from __future__ import annotations

import functools
import math
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from kplate.errors import KplateError, OptionError
from kplate.evaluate.data import (
    CharacterBox,
    LabelledImage,
    load_arrays,
    load_labelled,
    resize_array,
)
from kplate.evaluate.decoding import Decoding
from kplate.evaluate.defaults import RECOGNISER_STEPS, RECOGNISER_TYPE_BALANCE
from kplate.spec.alphabet import grammar_alphabet

if TYPE_CHECKING:
    from kplate.evaluate.reading import TextReadings

HEIGHT, WIDTH = 80, 160
#: The CNN's feature grid (rows x columns); each cell sees a CELL_HEIGHT x CELL_WIDTH patch.
CELL_ROWS, CELL_COLUMNS = 5, 40
CELL_HEIGHT, CELL_WIDTH = HEIGHT // CELL_ROWS, WIDTH // CELL_COLUMNS
BATCH_SIZE = 32
DEFAULT_STEPS = RECOGNISER_STEPS
MAX_LR = 5e-3
#: Share of the one-cycle schedule spent warming up from MAX_LR / 25, for trainings of
#: up to DEFAULT_STEPS. A reader first sits on a CTC plateau (blanks only) until the rate
#: is high enough to find the characters; with 15 % it could wait there most of its first
#: 500 of 2000 steps, by luck of the seed (docs/evaluate.md, session 9); with 5 % three
#: seeds on the cctv set left it by step 300.
WARMUP_SHARE = 0.05
#: The share for longer trainings. There a 5 % warm-up peaks before some readers have
#: left the plateau, and a reader that leaves it at the peak rate can stay slow for the
#: rest of its training: at 8000 steps on the recommended data, reader seeds 0-2 learnt
#: 91.2 / 81.5 / 92.8 % of their own held-out plates with 5 % (final loss 0.06 / 0.11 /
#: 0.05) and 92.0 / 92.5 / 93.8 % with 15 % (0.05 / 0.06 / 0.05); docs/evaluate.md,
#: session 10.
LONG_WARMUP_SHARE = 0.15
WEIGHT_DECAY = 1e-2
#: Weight of the training-only column reader's CTC loss beside the row-by-row reader's.
COLUMN_LOSS_WEIGHT = 0.5
#: Weight of the training-only cell classifier's loss (see CELL_IGNORE), used on images
#: whose manifest gives each character's box (kplate's own).
CELL_LOSS_WEIGHT = 1.0
#: A cell label for "not known": images without boxes (real crops, labels.csv) train only
#: the CTC readers; their cells are left out of the cell loss.
CELL_IGNORE = 255
#: Weight of the row reader's framewise loss on the path that the character boxes give
#: (`alignment`), on images with boxes. CTC alone has to find where and in which feature
#: row to emit each character: a reader first sat on CTC's all-blank plateau, some seeds
#: much longer than others, and at even type weights the region-name layouts were never
#: placed in 2000 steps (60 % of its own plates read). Told the path from the first step,
#: no reader sat on the plateau and even types read 93 % (docs/evaluate.md, session 22).
ALIGNMENT_LOSS_WEIGHT = 1.0
#: Weight of the training-only Hangul-parts loss, on images with boxes: two linear heads,
#: one on the cells' CNN features and one on the row reader's BiLSTM output at the boxes'
#: path, each classify a character's initial consonant, vowel and final consonant (a
#: Hangul syllable's Unicode decomposition; a digit, a dash and blank are "no Hangul").
#: Why: most of what the readers miss on kplate's own held-out plates is one Hangul
#: syllable, told from its neighbour by one short stroke (머/마, 우/무, 러/라), and each
#: syllable is a class of its own that a reader sees a few hundred times in 2000 steps;
#: each vowel and consonant is shared by many syllables and seen several times as often.
JAMO_LOSS_WEIGHT = 1.0
#: Classes of each part: initial (19 + none), vowel (21 + none), final (27 + "no final"
#: + none).
JAMO_PARTS = (20, 22, 29)
#: The train-time jitter's brightness shift (up to 0.15) and noise (sigma up to 0.05) are
#: for an image whose grey levels spread this much (standard deviation, 0-1 scale: about
#: the median of the scoreboard's sets), and scale with each image's own spread (0.05 to
#: 1.5 times). Why: kplate draws faint images on purpose (real crops are faint: a quarter
#: of real_dev's have a spread under 0.1, and 44 % of the fitted set's), each held above
#: a contrast-to-noise floor of 10; noise of sigma 0.05 drowns such an image's characters
#: (contrast over noise 1-2), and a shift of 0.15 clips a dark image to black, so the
#: reader was trained on labels that its images no longer showed. Only on images with boxes
#: (kplate's own, held to the legibility floors): real crops keep the absolute jitter.
#: Scaled on its real crops too, the real-labels ceiling read 21.3 % of the real split;
#: with the absolute jitter, 40.5 % in runs 40 and 43 (45.6 in run 42, on another random
#: stream: see `_augment`; docs/evaluate.md, sessions 30-31).
JITTER_REFERENCE_STD = 0.2
#: A target left out of the alignment loss (the CTC loss still reads those cells).
ALIGNMENT_IGNORE = -100
#: Rows (in feature rows) either side of a line's centre whose cells in a character's
#: columns are left out of the alignment loss, so that a line near a row boundary is not
#: taught one row for one jitter and the next row for another.
ALIGNMENT_BAND = 0.25
#: A training whose loss (the mean of its last three logged values) is still above this at
#: `plateau_check_step` is on or just off CTC's all-blank plateau (loss about 3.1 there;
#: readers that left it in time are at 0.5-1.0 by then) and starts again from other
#: initial weights, at most MAX_RESTARTS times. Why: at 80x160 a reader seed can stay on
#: the plateau for all 2000 steps and read nothing, and one that leaves it late at 8000
#: steps reads 13 points less of the real split than the others (docs/evaluate.md,
#: session 11).
PLATEAU_LOSS = 2.0
#: ... unless it is leaving the plateau: a loss above PLATEAU_LOSS that fell by at least
#: PLATEAU_FALL over the last PLATEAU_FALL_STEPS steps is kept. Why: on `mix, even types`
#: (scoreboard run 24) reader seed 0 was at 2.18 at step 500 and falling fast (3.06 at
#: step 400); restarted, its two restarts read 6.8 % of its own plates; not restarted, it
#: reads 55.5 %. Seed 1, which stays on the plateau (2.29 after 2000 steps), fell 0.13
#: over the same 100 steps (docs/evaluate.md, session 17).
PLATEAU_FALL = 0.5
PLATEAU_FALL_STEPS = 100
#: The check comes at a quarter of the steps, but no later than this: at 8000 steps
#: (15 % warm-up) readers that left the plateau in time are below 0.7 by step 880, the
#: late one was at 2.55 there and 1.99 at step 1280.
PLATEAU_CHECK_MAX = 1000
MAX_RESTARTS = 2
#: Restart k starts from seed + k x RESTART_SEED_STRIDE (deterministic, and never another
#: reader seed of the scoreboard's --seeds).
RESTART_SEED_STRIDE = 1000
#: Shorter trainings are never restarted: the rule is set for the recipe's 2000 steps and
#: longer, and a shorter training is still on the plateau at a quarter of its steps
#: however it goes (a 400-step training leaves it near step 300).
PLATEAU_MIN_STEPS = DEFAULT_STEPS
#: Training turns from float32 to bfloat16 autocast (where the CPU has it) once the mean
#: of the row reader's last LOW_PRECISION_WINDOW step losses is below this: off the
#: plateau (about 3.1) and learning glyphs. See the module docstring.
LOW_PRECISION_LOSS = 1.0
LOW_PRECISION_WINDOW = 20
CHARSET = "".join(sorted(grammar_alphabet()))
#: Each character's class in the CTC heads (0 is the blank).
CLASS_OF = {c: i + 1 for i, c in enumerate(CHARSET)}
FORMAT_VERSION = 7


def hangul_parts(char: str) -> tuple[int, int, int]:
    """A character's (initial, vowel, final) classes for the JAMO_PARTS heads: 0, 0, 0 for
    anything but a precomposed Hangul syllable; else initial + 1, vowel + 1 and final + 1
    (1: no final consonant), from the Unicode decomposition."""
    code = ord(char) - 0xAC00 if len(char) == 1 else -1
    if not 0 <= code < 11172:
        return 0, 0, 0
    return code // 588 + 1, code % 588 // 28 + 1, code % 28 + 1


#: Each CTC class's parts (class 0, the blank: no Hangul), (classes, 3) long.
PARTS_OF_CLASS = torch.tensor([(0, 0, 0), *(hangul_parts(c) for c in CHARSET)])

TrainSet = str | Path | Sequence[LabelledImage]
ImageLike = Image.Image | np.ndarray | str | Path


def _block(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
    return [conv, nn.BatchNorm2d(cout), nn.ReLU(True)]


def fast_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (then autocast pays; else it costs)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _autocast(low_precision: bool | None = None) -> torch.autocast:
    """bfloat16 autocast where `low_precision` (default: where the CPU computes it)."""
    enabled = fast_bfloat16() if low_precision is None else low_precision
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled)


class CRNN(nn.Module):
    """CNN (80x160 -> 5x40 features) read row by row, BiLSTM, linear CTC head.

    Why row by row: a column-wise reader sees a two-row plate's top and bottom characters
    at the same step, and CTC has one order to emit them in. Two learned reading lines (a
    softmax over the feature rows per column) and fixed upper/lower halves were tried; both
    read 0-2 % of two-row plates: the model emitted everything in one line and guessed the
    top row. Read as one sequence of rows, the top row's characters come first and are
    read (issue #16's notes give the comparison). `columns` is the training-only column
    reader (the module docstring says why).
    """

    def __init__(
        self,
        classes: int,
        hidden: int = 96,
        memory_format: torch.memory_format = torch.channels_last,
    ) -> None:
        super().__init__()
        self.cnn = nn.Sequential(
            *_block(1, 16, stride=2),  # 40x80
            *_block(16, 32),
            nn.MaxPool2d(2),  # 20x40
            *_block(32, 64),
            *_block(64, 64),
            nn.MaxPool2d((2, 1)),  # 10x40
            *_block(64, 128),
            nn.MaxPool2d((2, 1)),  # 5x40
            *_block(128, 160),
        )
        # Channels-last (NHWC) convolutions and pools train about 1.25x faster on the CPU
        # than NCHW (contiguous_format): the same model, equal up to rounding; see
        # benchmarks/recogniser_speed.py.
        self.memory_format = memory_format
        self.cnn.to(memory_format=memory_format)
        self.rnn = nn.LSTM(160, hidden, bidirectional=True, batch_first=True)
        self.head = nn.Linear(2 * hidden, classes)
        self.columns = nn.Linear(160, classes)
        self.cells = nn.Linear(160, classes)
        self.cell_parts = nn.Linear(160, sum(JAMO_PARTS))
        self.row_parts = nn.Linear(2 * hidden, sum(JAMO_PARTS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 1, 80, 160) floats in [0, 1] -> log-probabilities (T=200, N, classes)."""
        return self.read_both(x)[0]

    def read_both(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Row-by-row log-probabilities (T=200, N, classes) and the column reader's
        (T=40, N, classes), from one pass of the CNN."""
        readings = self.read_all(x, cells=False)
        return readings.rows, readings.columns

    def read_all(self, x: torch.Tensor, *, cells: bool = True) -> Readings:
        """`read_both`'s two readings and, in training with `cells`, the cell classifier's
        logits (N, 5, 40, classes): the character each feature cell lies on (0: none), and
        the Hangul-parts logits of the cells (N, 5, 40, sum(JAMO_PARTS)) and of the row
        reader's steps (N, 200, sum(JAMO_PARTS))."""
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True).clamp_min(0.02)
        standard = ((x - mean) / std).contiguous(memory_format=self.memory_format)
        features = self.cnn(standard)  # (N, C, 5, 40)
        grid = features.permute(0, 2, 3, 1)  # (N, 5, 40, C)
        out, _ = self.rnn(grid.flatten(1, 2))  # (N, 5 x 40, C): row 0 first
        by_rows = self.head(out).float().log_softmax(-1).permute(1, 0, 2)
        nothing = by_rows.new_empty((0,))
        if not self.training:
            return Readings(by_rows, nothing, nothing, nothing, nothing)
        by_columns = self.columns(features.amax(2).permute(0, 2, 1))  # (N, 40, classes)
        by_columns = by_columns.float().log_softmax(-1).permute(1, 0, 2)
        if not cells:
            return Readings(by_rows, by_columns, nothing, nothing, nothing)
        return Readings(
            by_rows,
            by_columns,
            self.cells(grid).float(),
            self.cell_parts(grid).float(),
            self.row_parts(out).float(),
        )


@dataclass(frozen=True)
class Readings:
    """What one pass of `CRNN.read_all` gives (empty tensors where not computed)."""

    rows: torch.Tensor
    columns: torch.Tensor
    cells: torch.Tensor
    cell_parts: torch.Tensor
    row_parts: torch.Tensor


def parts_loss(logits: torch.Tensor, classes: torch.Tensor, ignore: int) -> torch.Tensor:
    """The mean cross-entropy of the JAMO_PARTS heads: `logits` (..., sum(JAMO_PARTS)),
    `classes` (...) CTC classes or `ignore` (left out)."""
    flat, targets = logits.reshape(-1, logits.shape[-1]), classes.reshape(-1)
    keep = targets != ignore
    if not bool(keep.any()):
        return logits.sum() * 0.0
    parts = PARTS_OF_CLASS[targets[keep]]
    chunks = flat[keep].split(JAMO_PARTS, dim=-1)
    return sum(F.cross_entropy(chunk, parts[:, k]) for k, chunk in enumerate(chunks)) / 3


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The fixed, light train-time augmentation: affine jitter, blur, contrast, noise.

    batch: (N, 1, H, W) in [0, 1]. Every random number comes from `generator`.
    """
    return _augment(batch, None, generator)[0]


def augment_with_maps(
    batch: torch.Tensor, maps: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """`augment`, drawing the same random numbers, plus the character maps moved with it:
    `maps` (N, HEIGHT, WIDTH) uint8 from `character_maps` is moved by the same affine
    jitter (nearest pixel; what moves in from outside the image is background, 0) ->
    (N, HEIGHT, WIDTH) long, each pixel 0 or the place in the label (plus one) of the
    character it now shows (`cell_targets` turns them into targets). An image without
    boxes stays CELL_IGNORE throughout. An image with boxes (kplate's own) has its shift
    and noise scaled by its own grey spread (JITTER_REFERENCE_STD)."""
    boxless = (maps == CELL_IGNORE).flatten(1).all(1)
    out, moved = _augment(batch, maps.unsqueeze(1).float(), generator, relative=~boxless)
    assert moved is not None
    moved = moved[:, 0].long()
    moved[boxless] = CELL_IGNORE
    return out, moved


def _augment(
    batch: torch.Tensor,
    maps: torch.Tensor | None,
    generator: torch.Generator,
    relative: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """`relative` (N,) bool: the images whose shift and noise scale with their spread."""
    n = batch.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=generator) * (high - low) + low

    angle = uniform(-3, 3) * math.pi / 180
    scale = uniform(0.92, 1.06)
    shear = uniform(-0.15, 0.15)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 0, 2] = cos, -sin + shear, uniform(-0.04, 0.04)
    theta[:, 1, 0], theta[:, 1, 1], theta[:, 1, 2] = sin, cos, uniform(-0.08, 0.08)
    grid = _affine_grid(theta, batch.shape[-2], batch.shape[-1])
    out = F.grid_sample(batch, grid, padding_mode="border", align_corners=False)
    moved = None
    if maps is not None:  # a label moved in from outside the image is background (0)
        moved = F.grid_sample(maps, grid, mode="nearest", align_corners=False)
    blurred = _binomial_blur(out)
    mix = (uniform(0, 1) * (torch.rand(n, generator=generator) < 0.4)).view(n, 1, 1, 1)
    out = out + (blurred - out) * mix
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * uniform(0.6, 1.3).view(n, 1, 1, 1) + mean
    # Shift and noise in units of the image's own grey spread on kplate's own images
    # (JITTER_REFERENCE_STD: see its comment); absolute on any other.
    spread = torch.ones(n)
    if relative is not None and bool(relative.any()):
        sampled = out[:, :, ::2, ::2]  # every fourth pixel: the spread at a quarter the cost
        own = (sampled.std(dim=(1, 2, 3)) / JITTER_REFERENCE_STD).clamp(0.05, 1.5)
        spread = torch.where(relative, own, spread)
    out = out + (uniform(-0.15, 0.15) * spread).view(n, 1, 1, 1)
    # The noise field is drawn before its sigma, the order up to format 6: an image without
    # boxes (a real crop) draws the same numbers as it did then. Drawn the other way round
    # (format 7 as first committed), the real-labels ceiling trained on another random
    # stream and read 45.6 % of the real split, against 40.5 (docs/evaluate.md, session 31).
    noise = torch.randn(out.shape, generator=generator)
    noise = noise * (uniform(0, 0.05) * spread).view(n, 1, 1, 1)
    return (out + noise).clamp(0, 1), moved


def _affine_grid(theta: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """`F.affine_grid(theta, (N, C, height, width), align_corners=False)`, written out on
    torch's own base grid: each coordinate is x * a + y * b + c, summed in the order that
    its batched matrix product takes (equal bit for bit here), in less time
    (benchmarks/recogniser_speed.py)."""
    xs, ys = _base_grid(height, width)
    t = theta.view(-1, 6, 1, 1)
    gx = xs * t[:, 0] + ys * t[:, 1] + t[:, 2]
    gy = xs * t[:, 3] + ys * t[:, 4] + t[:, 5]
    return torch.stack([gx, gy], -1)


@functools.cache
def _base_grid(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """torch's own normalised pixel centres, x (1, 1, W) and y (1, H, 1), once per size."""
    identity = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    base = F.affine_grid(identity, [1, 1, height, width], align_corners=False)
    return base[:, :1, :, 0], base[:, :, :1, 1]


#: The jitter's 3 x 3 binomial blur, row-major: [1, 2, 1] x [1, 2, 1] / 16.
BLUR_WEIGHTS = ((1 / 16, 2 / 16, 1 / 16), (2 / 16, 4 / 16, 2 / 16), (1 / 16, 2 / 16, 1 / 16))


def _binomial_blur(batch: torch.Tensor) -> torch.Tensor:
    """The 3 x 3 binomial blur of (N, 1, H, W) with replicated edges, summed tap by tap in
    row-major order: what a 3 x 3 `F.conv2d` gives (equal bit for bit here: every product
    is exact, a power of two), in less time on one channel
    (benchmarks/recogniser_speed.py)."""
    height, width = batch.shape[-2:]
    padded = F.pad(batch, (1, 1, 1, 1), mode="replicate")
    total = torch.zeros_like(batch)
    for i, row in enumerate(BLUR_WEIGHTS):
        for j, weight in enumerate(row):
            total = total + padded[..., i : i + height, j : j + width] * weight
    return total


def character_maps(items: Sequence[LabelledImage]) -> torch.Tensor | None:
    """Per-pixel character positions at the reader's input size: (N, HEIGHT, WIDTH) uint8,
    0 between characters, k + 1 inside the box of the label's k-th character (counted
    from 0), CELL_IGNORE over every pixel of an image without boxes; None when no image
    has boxes. Smaller boxes are drawn over larger ones where they overlap."""
    if not any(item.boxes for item in items):
        return None
    maps = np.zeros((len(items), HEIGHT, WIDTH), np.uint8)
    for n, item in enumerate(items):
        if not item.boxes:
            maps[n] = CELL_IGNORE
            continue
        for k in sorted(range(len(item.boxes)), key=lambda k: _area(item.boxes[k]), reverse=True):
            box = item.boxes[k]
            top, bottom = round(box.top * HEIGHT), round(box.bottom * HEIGHT)
            left, right = round(box.left * WIDTH), round(box.right * WIDTH)
            maps[n, max(0, top) : bottom, max(0, left) : right] = k + 1
    return torch.from_numpy(maps)


def cell_targets(maps: torch.Tensor, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """The training targets that `augment_with_maps`' moved maps (N, HEIGHT, WIDTH) give:
    the class of the character at each feature cell's centre, for the cell classifier
    (N, 5, 40; CELL_IGNORE for an image without boxes), and the row reader's path
    (N, 200; `alignment`, all ALIGNMENT_IGNORE where an image has no boxes or no path)."""
    centres = maps[:, CELL_HEIGHT // 2 :: CELL_HEIGHT, CELL_WIDTH // 2 :: CELL_WIDTH]
    classes = torch.full_like(centres, CELL_IGNORE)
    aligned = torch.full((len(texts), CELL_ROWS * CELL_COLUMNS), ALIGNMENT_IGNORE)
    for n, text in enumerate(texts):
        if int(centres[n, 0, 0]) == CELL_IGNORE:
            continue
        lookup = np.array([0, *(CLASS_OF[c] for c in text)])
        cells = centres[n].numpy()
        classes[n] = torch.from_numpy(lookup[np.where(cells <= len(text), cells, 0)])
        path = alignment(maps[n].numpy(), text)
        if path is not None:
            aligned[n] = torch.from_numpy(path.reshape(-1))
    return classes, aligned


def alignment(places: np.ndarray, text: str) -> np.ndarray | None:
    """A CTC path for the row reader from where each character lies: `places` (HEIGHT,
    WIDTH), each pixel 0 or the place in `text` (plus one) of the character on it ->
    (5, 40) class targets, or None where the characters do not give one.

    The characters are split into lines where the reading goes back to the left (a
    character whose centre lies left of the previous one's ink: a two-row plate's bottom
    row after its top row; a region name stacked in two lines at the left of a one-row
    plate stays in the plate's line). Each line is emitted in the feature row of its
    characters' mean centre (one row below the line before, at least), each character
    once, at its centre column (one column right of the character before, at least,
    within its own columns). Every other cell is blank, except that the cells in a
    character's columns within ALIGNMENT_BAND rows of its line's centre are left out
    (ALIGNMENT_IGNORE: whether a tilted line is read a row higher or lower, or a glyph a
    cell early, is the CTC loss's choice). Row by row, the path is the label. None where
    a character shows on no pixel, or a line or character has no room left.
    """
    count = len(text)
    ys, xs = np.nonzero((places > 0) & (places <= count))
    keys = places[ys, xs].astype(np.int64) - 1
    pixels = np.bincount(keys, minlength=count)
    if (pixels == 0).any():
        return None
    middles = (np.bincount(keys, ys, count) / pixels + 0.5) / CELL_HEIGHT  # in rows
    centres = (np.bincount(keys, xs, count) / pixels + 0.5) / CELL_WIDTH  # in columns
    first = np.full(count, places.shape[1])
    last = np.full(count, -1)
    np.minimum.at(first, keys, xs)
    np.maximum.at(last, keys, xs)
    first, last = first // CELL_WIDTH, last // CELL_WIDTH
    lines: list[list[int]] = [[0]]
    for k in range(1, count):
        if centres[k] < first[k - 1]:
            lines.append([])
        lines[-1].append(k)
    path = np.zeros((CELL_ROWS, CELL_COLUMNS), np.int64)
    row = -1
    for line in lines:
        middle = float(middles[line].mean())
        row = max(_clip_row(middle), row + 1)
        if row >= CELL_ROWS:
            return None
        band = {_clip_row(middle + d) for d in (-ALIGNMENT_BAND, ALIGNMENT_BAND)} | {row}
        column = -1
        for k in line:
            column = max(math.floor(centres[k]), column + 1)
            if column > last[k]:
                return None
            for near in band:
                span = path[near, first[k] : last[k] + 1]
                span[span == 0] = ALIGNMENT_IGNORE
            path[row, column] = CLASS_OF[text[k]]
    return path


def _clip_row(middle: float) -> int:
    return min(CELL_ROWS - 1, max(0, math.floor(middle)))


def _area(box: CharacterBox) -> float:
    return (box.right - box.left) * (box.bottom - box.top)


def _encode(texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    targets = torch.tensor([CLASS_OF[c] for text in texts for c in text], dtype=torch.long)
    lengths = torch.tensor([len(t) for t in texts], dtype=torch.long)
    return targets, lengths


def _ctc_loss(
    ctc: nn.CTCLoss, log_probs: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor
) -> torch.Tensor:
    steps = torch.full((log_probs.shape[1],), log_probs.shape[0], dtype=torch.long)
    return ctc(log_probs, targets, steps, lengths)


def train_step(
    model: CRNN,
    optimiser: torch.optim.Optimizer,
    x: torch.Tensor,
    texts: Sequence[str],
    ctc: nn.CTCLoss,
    *,
    low_precision: bool | None = None,
    maps: torch.Tensor | None = None,
) -> float:
    """One optimiser step of the recipe on an augmented batch; the row reader's CTC loss.

    The loss is the row-by-row reader's CTC plus COLUMN_LOSS_WEIGHT x the column
    reader's, plus, where `maps` (N, HEIGHT, WIDTH moved character maps,
    `augment_with_maps`) holds any but CELL_IGNORE, CELL_LOSS_WEIGHT x the cell
    classifier's cross-entropy and ALIGNMENT_LOSS_WEIGHT x the row reader's on the
    boxes' path (`cell_targets`); the gradient norm clipped at 5. `low_precision`:
    bfloat16 autocast (default: where the CPU computes bfloat16 natively).
    """
    targets, target_lengths = _encode(texts)
    known = maps is not None and bool((maps != CELL_IGNORE).any())
    with _autocast(low_precision):
        readings = model.read_all(x, cells=known)
    by_rows = readings.rows
    loss = _ctc_loss(ctc, by_rows, targets, target_lengths)
    total = loss + COLUMN_LOSS_WEIGHT * _ctc_loss(ctc, readings.columns, targets, target_lengths)
    if known:
        assert maps is not None
        classes, path = cell_targets(maps, texts)
        flat = readings.cells.reshape(-1, readings.cells.shape[-1])
        cell_loss = F.cross_entropy(flat, classes.reshape(-1), ignore_index=CELL_IGNORE)
        parts = parts_loss(readings.cell_parts, classes, CELL_IGNORE)
        total = total + CELL_LOSS_WEIGHT * cell_loss + JAMO_LOSS_WEIGHT * parts
        if (path != ALIGNMENT_IGNORE).any():
            frames = by_rows.permute(1, 0, 2).reshape(-1, by_rows.shape[-1])
            aligned = F.nll_loss(frames, path.reshape(-1), ignore_index=ALIGNMENT_IGNORE)
            row_parts = parts_loss(readings.row_parts, path, ALIGNMENT_IGNORE)
            total = total + ALIGNMENT_LOSS_WEIGHT * aligned + JAMO_LOSS_WEIGHT * row_parts
    optimiser.zero_grad(set_to_none=True)
    total.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimiser.step()
    return float(loss.detach())


def _as_items(train_set: TrainSet) -> list[LabelledImage]:
    return load_labelled(train_set) if isinstance(train_set, str | Path) else list(train_set)


@dataclass
class Recogniser:
    """A trained CRNN plus what it was trained on; `read` turns plate images into text."""

    model: CRNN
    recipe: dict[str, Any] = field(default_factory=dict)
    history: list[tuple[int, float]] = field(default_factory=list)

    def read(
        self,
        images: Sequence[ImageLike],
        batch_size: int = 128,
        decoding: Decoding = Decoding.VIEWS,
    ) -> list[str]:
        """Plate text for each image (PIL image, HxW/HxWxC uint8 array or path)."""
        arrays = np.stack([_prepare(image) for image in images]) if len(images) else None
        return self.read_arrays(arrays, batch_size, decoding) if arrays is not None else []

    def read_arrays(
        self, arrays: np.ndarray, batch_size: int = 128, decoding: Decoding = Decoding.VIEWS
    ) -> list[str]:
        """Plate text for (N, HEIGHT, WIDTH) uint8 greyscale arrays, already resized."""
        readings = self.readings(
            arrays,
            batch_size,
            grammar=decoding is not Decoding.GREEDY,
            views=decoding is Decoding.VIEWS,
        )
        return readings.of(decoding)

    def readings(
        self,
        arrays: np.ndarray,
        batch_size: int = 128,
        *,
        grammar: bool = True,
        views: bool = True,
    ) -> TextReadings:
        """The greedy, grammar and views readings of (N, HEIGHT, WIDTH) uint8 arrays
        (`kplate.evaluate.reading.read_texts`)."""
        from kplate.evaluate.reading import read_texts  # reading.py imports this module

        return read_texts(self.model, arrays, batch_size, grammar=grammar, views=views)

    def save(self, path: str | Path) -> None:
        """Weights and recipe in one torch file (loadable with weights_only=True)."""
        payload = {
            "format": FORMAT_VERSION,
            "charset": CHARSET,
            "size": [HEIGHT, WIDTH],
            "recipe": self.recipe,
            "history": [list(h) for h in self.history],
            "state_dict": self.model.state_dict(),
        }
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        torch.save(payload, tmp)
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> Recogniser:
        path = Path(path)
        if not path.is_file():
            raise KplateError(f"{path}: no such recogniser file")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
            made = payload.get("format")
            if made != FORMAT_VERSION:
                raise KplateError(
                    f"{path}: recogniser of format {made}, this kplate reads format "
                    f"{FORMAT_VERSION}; train it again with this kplate"
                )
            if payload.get("charset") != CHARSET or payload.get("size") != [HEIGHT, WIDTH]:
                raise KplateError(f"{path}: recogniser made for another alphabet or input size")
            model = CRNN(len(CHARSET) + 1)
            model.load_state_dict(payload["state_dict"])
        except KplateError:
            raise
        except Exception as error:  # pickle, zip and key errors all mean "not ours"
            raise KplateError(f"{path}: not a kplate recogniser ({type(error).__name__})") from None
        history = [(int(s), float(v)) for s, v in payload.get("history", [])]
        return cls(model.eval(), dict(payload.get("recipe", {})), history)


def _prepare(image: ImageLike) -> np.ndarray:
    if isinstance(image, str | Path):
        arrays, kept = load_arrays([Path(image)], HEIGHT, WIDTH)
        if not kept:
            raise KplateError(f"{image}: cannot read image")
        return arrays[0]
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    return resize_array(image.convert("L"), HEIGHT, WIDTH)


def warmup_share(steps: int) -> float:
    """The one-cycle warm-up share for a training of `steps`: WARMUP_SHARE up to the
    recipe's DEFAULT_STEPS, LONG_WARMUP_SHARE beyond (why: beside the constants). A
    warm-up of exactly one step (20 steps at 5 %) is made two: torch's OneCycleLR divides
    by zero on it."""
    share = WARMUP_SHARE if steps <= DEFAULT_STEPS else LONG_WARMUP_SHARE
    return 2 / steps if math.isclose(share * steps, 1.0) else share


def train_recogniser(
    train_sets: Sequence[TrainSet],
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    *,
    type_balance: float = RECOGNISER_TYPE_BALANCE,
    progress: Callable[[str], None] | None = None,
) -> Recogniser:
    """Train the fixed-recipe CRNN on the concatenated sets; deterministic for a seed on CPU.

    Recipe: batch 32, AdamW (lr peak 5e-3, weight decay 1e-2), one-cycle schedule (5 %
    warm-up; 15 % past DEFAULT_STEPS), CTC loss of the row-by-row reader plus 0.5 x that
    of the training-only column reader, plus, on images with character boxes
    (`character_maps`), 1.0 x the training-only cell classifier's cross-entropy and 1.0 x
    the row reader's on the boxes' path (`alignment`), and 1.0 x the Hangul-parts heads'
    (JAMO_LOSS_WEIGHT), gradient clipping at 5, the `augment` jitter (its shift and noise
    scaled by each image's grey spread where it has boxes); sampling without replacement
    in seeded epochs. A training still
    on CTC's plateau at a quarter of its steps, and not leaving it,
    starts again from other initial weights (PLATEAU_LOSS, PLATEAU_FALL). Where the CPU
    has bfloat16: from step 1 when every image has boxes, else float32 until the loss is
    below LOW_PRECISION_LOSS and bfloat16 after.

    `type_balance` (0 to 1; 0 samples every image alike) repeats each image in an epoch
    (largest type's count / its type's count) ** type_balance times, rounded: at 0.5, the
    recipe (RECOGNISER_TYPE_BALANCE), a type's share of the steps goes as the square root
    of its share of the set, so a rare layout is seen several times as often
    (docs/evaluate.md, sessions 27 and 36).
    """
    if steps < 1:
        raise OptionError("steps", f"{{option}} must be 1 or more, got {steps}")
    check_type_balance(type_balance)
    items = [item for train_set in train_sets for item in _as_items(train_set)]
    if not items:
        raise KplateError("no training images")
    started = time.monotonic()
    arrays, kept = load_arrays([item.path for item in items], HEIGHT, WIDTH)
    if not kept:
        raise KplateError("no readable training images")
    texts = [items[i].text for i in kept]
    images = torch.from_numpy(arrays)
    maps = character_maps([items[i] for i in kept])
    boxed = maps is not None and bool((maps != CELL_IGNORE).flatten(1).any(1).all())
    pool = balanced_pool([items[i].type for i in kept], type_balance)
    restarts = 0
    while True:  # the last restart is trained to the end, plateau or not
        init_seed = seed + RESTART_SEED_STRIDE * restarts
        check = restarts < MAX_RESTARTS
        model, history, low_from = _train_once(
            images, texts, maps, steps, init_seed, started, progress,
            check_plateau=check, low_from_start=boxed, pool=pool,
        )  # fmt: skip
        if model is not None:
            break
        restarts += 1
        if progress:
            step = plateau_check_step(steps)
            progress(f"still on the CTC plateau at step {step}: restart {restarts}")
    recipe = {
        "steps": steps,
        "seed": seed,
        "batch_size": BATCH_SIZE,
        "max_lr": MAX_LR,
        "warmup_share": warmup_share(steps),
        "column_loss_weight": COLUMN_LOSS_WEIGHT,
        "cell_loss_weight": CELL_LOSS_WEIGHT,
        "alignment_loss_weight": ALIGNMENT_LOSS_WEIGHT,
        "cell_labelled_images": sum(1 for i in kept if items[i].boxes),
        "plateau_restart": (
            f"loss above {PLATEAU_LOSS} at step {plateau_check_step(steps)}, unless it fell "
            f"by {PLATEAU_FALL} or more over the last {PLATEAU_FALL_STEPS} steps"
        ),
        "restarts": restarts,
        "init_seed": init_seed,
        "input": f"grey {HEIGHT}x{WIDTH}",
        "precision": _precision(low_from),
        "bfloat16_from_step": low_from,
        "train_images": len(kept),
        "type_balance": type_balance,
        "epoch_entries": len(kept) if pool is None else len(pool),
        "train_skipped": len(items) - len(kept),
        "train_seconds": round(time.monotonic() - started, 1),
    }
    return Recogniser(model.eval(), recipe, history)


def check_type_balance(power: float) -> None:
    """`type_balance` is a power from 0 (every image alike) to 1 (every type alike)."""
    if not 0.0 <= power <= 1.0:  # NaN fails too
        raise OptionError("type_balance", f"{{option}} must be 0 to 1, got {power}")


def balanced_pool(types: Sequence[str], power: float) -> list[int] | None:
    """One epoch's image indices, each repeated round((largest type count / its type's
    count) ** power) times (at least once); None at power 0 (every image once)."""
    if power == 0:
        return None
    counts = Counter(types)
    largest = max(counts.values())
    return [
        index
        for index, kind in enumerate(types)
        for _ in range(max(1, round((largest / counts[kind]) ** power)))
    ]


def _precision(low_from: int | None) -> str:
    if low_from is None:
        return "float32"
    if low_from == 1:
        return "bfloat16 autocast"
    return f"float32, bfloat16 autocast from step {low_from}"


def plateau_check_step(steps: int) -> int:
    """The step at which a training still on the CTC plateau is restarted: a quarter of
    its steps, at most PLATEAU_CHECK_MAX (0: never, for trainings shorter than
    PLATEAU_MIN_STEPS, the recipe's own length)."""
    return min(steps // 4, PLATEAU_CHECK_MAX) if steps >= PLATEAU_MIN_STEPS else 0


def still_on_plateau(history: Sequence[tuple[int, float]], step: int) -> bool:
    """Whether a training whose logged (step, loss) `history` reaches `step` is still on
    CTC's plateau: the mean of its last three logged losses is above PLATEAU_LOSS, and it
    fell by less than PLATEAU_FALL since the last loss logged PLATEAU_FALL_STEPS or more
    steps earlier (none logged then: on the plateau)."""
    recent = float(np.mean([loss for _, loss in history[-3:]]))
    if recent <= PLATEAU_LOSS:
        return False
    earlier = [loss for logged, loss in history if logged <= step - PLATEAU_FALL_STEPS]
    return not earlier or earlier[-1] - recent < PLATEAU_FALL


def _train_once(
    images: torch.Tensor,
    texts: list[str],
    maps: torch.Tensor | None,
    steps: int,
    seed: int,
    started: float,
    progress: Callable[[str], None] | None,
    *,
    check_plateau: bool = True,
    low_from_start: bool = False,
    pool: list[int] | None = None,
) -> tuple[CRNN | None, list[tuple[int, float]], int | None]:
    """One training from the initial weights of `seed`: (model, history, the first step
    trained in bfloat16 or None); the model is None when the training is still on the
    CTC plateau at `plateau_check_step` (and `check_plateau`). `maps`: the images'
    `character_maps`, or None (then the cell classifier is never trained).
    `low_from_start`: bfloat16 from step 1 where the CPU has it (every image has boxes),
    instead of from the step after the loss falls below LOW_PRECISION_LOSS. `pool`: one
    epoch's image indices with repeats (`balanced_pool`); None: every image once."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CRNN(len(CHARSET) + 1)
    optimiser = torch.optim.AdamW(model.parameters(), lr=MAX_LR, weight_decay=WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=MAX_LR, total_steps=steps, pct_start=warmup_share(steps)
    )
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    order: list[int] = []
    history: list[tuple[int, float]] = []
    running, every = 0.0, max(1, steps // 100)
    check = plateau_check_step(steps) if check_plateau else 0
    can_go_low = fast_bfloat16()
    low_from = 1 if can_go_low and low_from_start else None
    recent: deque[float] = deque(maxlen=LOW_PRECISION_WINDOW)
    model.train()
    for step in range(1, steps + 1):
        if len(order) < BATCH_SIZE:
            epoch = torch.randperm(len(texts) if pool is None else len(pool), generator=generator)
            shuffled = epoch.tolist() if pool is None else [pool[j] for j in epoch.tolist()]
            order += shuffled * max(1, math.ceil(BATCH_SIZE / len(shuffled)))
        batch, order = order[:BATCH_SIZE], order[BATCH_SIZE:]
        x = images[batch].float().div(255).unsqueeze(1)
        moved = None
        if maps is None:
            x = augment(x, generator)
        else:
            x, moved = augment_with_maps(x, maps[batch], generator)
        low = low_from is not None
        texts_in = [texts[i] for i in batch]
        loss = train_step(model, optimiser, x, texts_in, ctc, low_precision=low, maps=moved)
        schedule.step()
        if can_go_low and not low:  # the mean is needed only until the switch
            recent.append(loss)
            full = len(recent) == LOW_PRECISION_WINDOW
            if full and step < steps and np.mean(recent) < LOW_PRECISION_LOSS:
                low_from = step + 1
        running += loss
        if step % every == 0 or step == steps:
            count = step % every or every
            history.append((step, running / count))
            running = 0.0
            if progress and (step % max(1, steps // 10) == 0 or step == steps):
                elapsed = time.monotonic() - started
                progress(f"step {step}/{steps}  loss {history[-1][1]:.3f}  {elapsed:.0f} s")
        if step == check and still_on_plateau(history, step):
            return None, history, low_from
    return model, history, low_from
