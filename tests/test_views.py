"""Reading over views: the views' geometry, CTC likelihoods, and the candidate chosen."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kplate.evaluate.decoding import is_plate_number
from kplate.evaluate.views import (
    READING_VIEWS,
    choose,
    log_likelihoods,
    read_over_views,
    view_of,
)

CHARSET = "0123456789가"
CLASS_OF = {c: i + 1 for i, c in enumerate(CHARSET)}


def _centroid(image: torch.Tensor) -> tuple[float, float]:
    """(row, column) of an (H, W) image's mass."""
    rows, cols = torch.meshgrid(
        torch.arange(image.shape[0], dtype=torch.float64),
        torch.arange(image.shape[1], dtype=torch.float64),
        indexing="ij",
    )
    mass = image.double()
    return float((rows * mass).sum() / mass.sum()), float((cols * mass).sum() / mass.sum())


def test_the_first_view_is_the_image_itself() -> None:
    batch = torch.rand(2, 1, 80, 160)
    assert view_of(batch, READING_VIEWS[0]) is batch


def test_views_shift_turn_and_scale_the_content_as_documented() -> None:
    spot = torch.zeros(1, 1, 80, 160)
    spot[..., 38:42, 98:102] = 1.0  # a spot right of the centre (centre column 79.5)
    row, col = _centroid(spot[0, 0])
    right = _centroid(view_of(spot, (0.0, 1.0, 0.02, 0.0))[0, 0])
    assert right[1] - col == pytest.approx(0.02 * 80, abs=0.05) and right[0] == pytest.approx(row)
    down = _centroid(view_of(spot, (0.0, 1.0, 0.0, 0.04))[0, 0])
    assert down[0] - row == pytest.approx(0.04 * 40, abs=0.05)
    smaller = _centroid(view_of(spot, (0.0, 0.95, 0.0, 0.0))[0, 0])
    assert smaller[1] - 79.5 == pytest.approx(0.95 * (col - 79.5), abs=0.05)
    turned = _centroid(view_of(spot, (1.5, 1.0, 0.0, 0.0))[0, 0])
    assert abs(turned[0] - row) > 0.1  # a spot off the centre moves up or down when turned
    assert float(view_of(spot, (1.5, 1.0, 0.0, 0.0)).sum()) == pytest.approx(16.0, rel=0.02)


def test_log_likelihoods_sum_every_alignment() -> None:
    """Two steps over {blank, 1, 2}: P("1") = p(1,1) + p(1,-) + p(-,1), by hand."""
    probs = np.array([[[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]], [[0.1, 0.1, 0.8], [0.3, 0.3, 0.4]]])
    log_probs = torch.tensor(np.log(probs), dtype=torch.float32)  # (V=2, T=2, classes)
    scores = log_likelihoods(log_probs, ["0", "01", ""], {"0": 1, "1": 2})
    assert scores.shape == (3, 2)
    for v in range(2):
        p = probs[v]
        one = p[0, 1] * p[1, 1] + p[0, 1] * p[1, 0] + p[0, 0] * p[1, 1]
        assert math.exp(scores[0, v]) == pytest.approx(one, rel=1e-5)
        assert math.exp(scores[1, v]) == pytest.approx(p[0, 1] * p[1, 2], rel=1e-5)
        assert math.exp(scores[2, v]) == pytest.approx(p[0, 0] * p[1, 0], rel=1e-5)


def test_choose_takes_a_valid_reading_before_a_more_probable_invalid_one() -> None:
    scores = np.array([[-1.0, -1.0], [-5.0, -0.5], [-0.1, -0.1]])
    candidates = ["12가3456", "12가3457", "12가345"]
    assert choose(candidates, scores, is_plate_number) == "12가3456"  # -2.0 against -5.5
    assert choose(candidates, scores, lambda text: False) == "12가345"  # most probable of all
    assert choose(candidates[:2], np.array([[-1.0], [-1.0]]), is_plate_number) == "12가3456"


def _plate(text: str, strength: float) -> np.ndarray:
    """(T, classes) log-probabilities: each character at `strength`, blank between."""
    rows = []
    for char in text:
        row = np.full(len(CHARSET) + 1, 1e-4)
        row[CLASS_OF[char]], row[0] = strength, 1 - strength
        rows += [row, np.eye(len(CHARSET) + 1)[0] + 1e-4]
    probs = np.array(rows)
    return np.log(probs / probs.sum(1, keepdims=True))


def test_the_reading_most_probable_over_the_views_wins_over_the_first_views() -> None:
    """The image as it is reads 12가3457 a little more probably than 12가3456; three other
    views read 12가3456 with confidence: over all four views 12가3456 is the more probable
    plate, and that is the reading. Where every view agrees, that reading stands."""
    first = np.logaddexp(_plate("12가3457", 0.55), _plate("12가3456", 0.45)) - np.log(2)
    others = [_plate("12가3456", 0.9)] * 3
    by_view = torch.tensor(np.stack([first, *others])[:, None], dtype=torch.float32)
    readings = [["12가3457"], ["12가3456"], ["12가3456"], ["12가3456"]]
    assert read_over_views(by_view, readings, CLASS_OF) == ["12가3456"]
    agreed = [["12가3457"]] * 4
    assert read_over_views(by_view, agreed, CLASS_OF) == ["12가3457"]
