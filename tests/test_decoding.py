"""Grammar-constrained CTC decoding: the beam search's probabilities and the valid pick."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from kplate.evaluate.decoding import ctc_beam_candidates, grammar_decode, is_plate_number
from kplate.evaluate.metrics import ctc_greedy_decode

CHARSET = "0123456789가"


def _collapse(path: tuple[int, ...]) -> tuple[int, ...]:
    out, previous = [], 0
    for k in path:
        if k != previous and k != 0:
            out.append(k)
        previous = k
    return tuple(out)


def _brute_force(log_probs: np.ndarray) -> dict[tuple[int, ...], float]:
    """Every alignment's probability, summed per collapsed label sequence."""
    totals: dict[tuple[int, ...], float] = {}
    probs = np.exp(log_probs)
    for path in itertools.product(range(log_probs.shape[1]), repeat=log_probs.shape[0]):
        p = math.prod(probs[t, k] for t, k in enumerate(path))
        key = _collapse(path)
        totals[key] = totals.get(key, 0.0) + p
    return totals


def test_beam_search_sums_every_alignment_like_brute_force() -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(5, 3)) * 2
    log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    exact = _brute_force(log_probs)
    beams = ctc_beam_candidates(log_probs, beam=1000, prune=-math.inf)
    assert len(beams) == len(exact)
    for prefix, score in beams:
        assert math.exp(score) == pytest.approx(exact[prefix], rel=1e-9)
    scores = [score for _, score in beams]
    assert scores == sorted(scores, reverse=True)
    assert beams[0][0] == max(exact, key=exact.get)
    pruned = {prefix for prefix, _ in ctc_beam_candidates(log_probs, beam=1000, prune=-5.0)}
    assert (1, 2, 1, 2, 1) not in pruned  # class 1 at step 0 is below e^-5


def _plate_log_probs(text: str, weak: dict[int, float]) -> np.ndarray:
    """Steps alternating character and blank; at character i its probability is
    weak.get(i, 0.97) and the rest goes to the blank."""
    classes = len(CHARSET) + 1
    rows = []
    for i, char in enumerate(text):
        row = np.full(classes, 1e-6)
        p = weak.get(i, 0.97)
        row[CHARSET.index(char) + 1] = p
        row[0] = 1 - p
        rows.append(row)
        blank = np.full(classes, 1e-6)
        blank[0] = 1.0
        rows.append(blank)
    probs = np.array(rows)
    return np.log(probs / probs.sum(1, keepdims=True))


def test_an_invalid_greedy_reading_gives_way_to_the_most_probable_valid_one() -> None:
    log_probs = _plate_log_probs("12가3456", {6: 0.4})  # the last digit is more blank than 6
    greedy = ctc_greedy_decode([log_probs.argmax(-1).tolist()], CHARSET)[0]
    assert greedy == "12가345" and not is_plate_number(greedy)
    assert grammar_decode(log_probs, CHARSET, greedy) == "12가3456"


def test_a_valid_greedy_reading_is_kept_even_when_another_is_close() -> None:
    log_probs = _plate_log_probs("12가3456", {6: 0.6})
    greedy = ctc_greedy_decode([log_probs.argmax(-1).tolist()], CHARSET)[0]
    assert greedy == "12가3456"
    assert grammar_decode(log_probs, CHARSET, greedy) == "12가3456"


def test_with_no_valid_candidate_the_greedy_reading_stands() -> None:
    log_probs = _plate_log_probs("1234", {})
    assert grammar_decode(log_probs, CHARSET, "1234") == "1234"
    assert grammar_decode(log_probs, CHARSET, "1234", valid=lambda text: False) == "1234"


def test_the_valid_reading_is_found_below_many_more_probable_invalid_ones() -> None:
    """Five uncertain characters (0.6 against 0.4): the valid text takes the less probable
    one at four of them, so 26 invalid texts outrank it and a 16-prefix beam loses it."""
    charset = "0123456789"
    rows = []
    for k in range(5):
        row = np.full(len(charset) + 1, 1e-6)
        row[charset.index(str(k)) + 1], row[charset.index(str(k + 5)) + 1] = 0.6, 0.4
        rows.append(row)
    probs = np.array(rows)
    log_probs = np.log(probs / probs.sum(1, keepdims=True))
    greedy = ctc_greedy_decode([log_probs.argmax(-1).tolist()], charset)[0]
    meant = "56784"

    def valid(text: str) -> bool:
        return text == meant

    narrow = {
        "".join(charset[k - 1] for k in p) for p, _ in ctc_beam_candidates(log_probs, beam=16)
    }
    assert greedy == "01234" and meant not in narrow
    assert grammar_decode(log_probs, charset, greedy, valid=valid) == meant
