"""Turning a CTC reader's per-step probabilities into plate text: greedy, or within the grammar.

Greedy (best-path) decoding can return strings that no plate carries: a dropped digit, a
doubled one, a syllable where a digit belongs. A plate reader knows the plate grammar, so
`grammar` decoding keeps the greedy reading when it is a valid plate number and otherwise
takes the most probable valid one among a CTC prefix beam search's candidates (the greedy
reading again when none is valid). Every real_dev label is valid under kplate's grammar,
so the constraint can only remove readings that are certainly wrong. `views` reads the
image under several small affine views as well and keeps the grammar reading most
probable over all of them (`kplate.evaluate.views`); it is what a `Recogniser` reads
unless told otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum

import numpy as np

from kplate.numbers import candidates

#: Prefixes kept per step by the beam search, and candidates it returns. Why 64: a
#: reader's invalid reading is often a doubled or dropped character in each of two or
#: three places, and the valid string it meant then ranks below a dozen invalid variants
#: at some step; 16 prefixes lost it there. With one scoreboard reader (mix, even types,
#: 2000 steps), 64 read 65 of the real split's 117 invalid greedy readings right against
#: 59 with 16 (74.6 % of the split against 73.1), and 40 of its own held-out plates' 57
#: against 38; 256 read no more, and in none of those readings was the label more
#: probable than the valid string read instead (docs/evaluate.md, session 33).
BEAM_WIDTH = 64
#: Classes below this log-probability at a step are not extended (e^-9 ~ 1e-4), nor
#: any but the most probable few (an untrained reader's flat outputs stay cheap).
PRUNE_LOG_PROB = -9.0
TOP_CLASSES = 8


class Decoding(StrEnum):
    """How a recogniser turns its outputs into text."""

    GREEDY = "greedy"
    GRAMMAR = "grammar"
    VIEWS = "views"


def is_plate_number(text: str) -> bool:
    """Whether `text` is a valid number for at least one plate type."""
    return bool(text) and bool(candidates(text))


def _log_add(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    high, low = (a, b) if a > b else (b, a)
    return high + math.log1p(math.exp(low - high))


Beams = dict[tuple[int, ...], tuple[float, float]]


def _add(beams: Beams, prefix: tuple[int, ...], p_blank: float, p_label: float) -> None:
    if p_blank == p_label == -math.inf:  # an impossible extension (a repeat with no blank)
        return
    old_blank, old_label = beams.get(prefix, (-math.inf, -math.inf))
    beams[prefix] = (_log_add(old_blank, p_blank), _log_add(old_label, p_label))


def ctc_beam_candidates(
    log_probs: np.ndarray,
    beam: int = BEAM_WIDTH,
    blank: int = 0,
    prune: float = PRUNE_LOG_PROB,
) -> list[tuple[tuple[int, ...], float]]:
    """CTC prefix beam search over one sequence's (T, classes) log-probabilities.

    Returns up to `beam` label sequences (class indices, blanks removed) with their log
    probabilities summed over every alignment, most probable first. Classes below
    `prune` at a step are not extended there (with -inf, none is pruned), nor any but
    the step's `TOP_CLASSES` most probable.
    """
    # Each prefix keeps (log P ending in blank, log P ending in its last label).
    beams: Beams = {(): (0.0, -math.inf)}
    for step in log_probs:
        likely = np.argsort(step)[::-1][:TOP_CLASSES]
        classes = [int(k) for k in likely if step[k] > prune and k != blank]
        blank_lp = float(step[blank])
        following: Beams = {}
        for prefix, (p_blank, p_label) in beams.items():
            total = _log_add(p_blank, p_label)
            _add(following, prefix, total + blank_lp, -math.inf)
            if prefix:  # the last label repeated without a blank stays one label
                _add(following, prefix, -math.inf, p_label + float(step[prefix[-1]]))
            for k in classes:
                lp = float(step[k])
                if prefix and prefix[-1] == k:  # a repeat needs a blank in between
                    _add(following, (*prefix, k), -math.inf, p_blank + lp)
                else:
                    _add(following, (*prefix, k), -math.inf, total + lp)
        ranked = sorted(following.items(), key=lambda kv: _log_add(*kv[1]), reverse=True)
        beams = dict(ranked[:beam])
    return [(prefix, _log_add(*scores)) for prefix, scores in beams.items()]  # ranked above


def grammar_decode(
    log_probs: np.ndarray,
    charset: str,
    greedy: str,
    valid: Callable[[str], bool] = is_plate_number,
    beam: int = BEAM_WIDTH,
) -> str:
    """The greedy reading if valid, else the most probable valid beam candidate, else greedy.

    `log_probs`: one sequence's (T, classes) log-probabilities, class k > 0 being
    `charset[k - 1]` and class 0 the CTC blank; `beam`: the prefixes the search keeps.
    """
    if valid(greedy):
        return greedy
    for prefix, _ in ctc_beam_candidates(log_probs, beam):
        text = "".join(charset[k - 1] for k in prefix)
        if valid(text):
            return text
    return greedy
