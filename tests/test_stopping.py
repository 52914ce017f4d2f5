"""The GAN's stopping rule: stops on a plateau, at the step cap or the time budget, keeps
the best check's generator, and reports the curve."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kplate.errors import KplateError
from kplate.gan.config import CUTConfig, TrainOptions
from kplate.gan.stopping import BEST_FILE, PlateauRule, StopReason, train_until_plateau
from test_text_loss import TINY, _labelled_dataroot


def test_rule_stops_after_patience_checks_without_improvement() -> None:
    rule = PlateauRule(every=10, patience=2, max_steps=1000, min_delta=0.01)
    assert rule.record(10, 0.9) and rule.reason(10, 0) is None
    assert rule.record(20, 0.8) and rule.reason(20, 0) is None
    assert not rule.record(30, 0.795)  # better, but by less than min_delta
    assert rule.reason(30, 0) is None
    assert not rule.record(40, 0.85)
    assert rule.reason(40, 0) is StopReason.PLATEAU
    assert rule.best == (20, 0.8) and rule.curve[-1] == (40, 0.85)


def test_rule_cap_and_time_budget() -> None:
    rule = PlateauRule(every=5, patience=3, max_steps=20, seconds=60.0)
    rule.record(5, 0.9)
    assert rule.reason(19, 10.0) is None
    assert rule.reason(20, 10.0) is StopReason.STEP_CAP
    assert rule.reason(7, 61.0) is StopReason.TIME


@pytest.mark.parametrize("field", ["every", "patience", "max_steps"])
def test_rule_refuses_bad_numbers(field: str) -> None:
    values = {"every": 5, "patience": 2, "max_steps": 10, field: 0}
    with pytest.raises(KplateError, match=f"{field} must be a whole number"):
        PlateauRule(**values)


def test_training_stops_on_a_plateau_and_keeps_the_best_generator(tmp_path: Path) -> None:
    root = _labelled_dataroot(tmp_path / "data")
    options = TrainOptions(root, "plateau", tmp_path / "ck", batch_size=2, progress=False,
                           tensorboard=False, image_every=1000, log_every=1)  # fmt: skip
    scores = {2: 0.9, 4: 0.7, 6: 0.75, 8: 0.8, 10: 0.6}  # best at 4, then two worse checks
    seen: list[int] = []
    heads: dict[int, torch.Tensor] = {}

    def score(generator: Path, step: int) -> float:
        seen.append(step)
        state = torch.load(generator, weights_only=True)
        heads[step] = next(iter(state["G"].values())).clone()
        return scores[step]

    rule = PlateauRule(every=2, patience=2, max_steps=10)
    config = CUTConfig.for_mode("cut", "lite", **TINY)
    result = train_until_plateau(config, options, rule, score)
    assert seen == [2, 4, 6, 8]
    assert (result.stopped_at, result.reason) == (8, StopReason.PLATEAU)
    assert (result.best_step, result.best_score) == (4, 0.7)
    assert result.curve == [(2, 0.9), (4, 0.7), (6, 0.75), (8, 0.8)]
    best = torch.load(tmp_path / "ck" / "plateau" / BEST_FILE, weights_only=True)
    assert best["step"] == 4 and torch.equal(next(iter(best["G"].values())), heads[4])
    assert not torch.equal(heads[4], heads[8])
    assert result.to_dict()["reason"] == "plateau"
