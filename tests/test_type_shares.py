"""`--types realistic`: plate types drawn by their share of the traffic, not evenly."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from helpers import one_error_line
from kplate.cli import main
from kplate.numbers.type_shares import REALISTIC_SHARES, realistic_types
from kplate.spec.types import PlateType


def test_every_type_has_a_share_and_they_sum_to_one() -> None:
    assert set(REALISTIC_SHARES) == set(PlateType)
    assert sum(REALISTIC_SHARES.values()) == pytest.approx(1.0)
    assert min(REALISTIC_SHARES.values()) >= 0.002
    private = [t for t in PlateType if t.value.startswith("private")]
    assert sum(REALISTIC_SHARES[t] for t in private) > 0.7  # most of the traffic
    types, weights = realistic_types()
    assert dict(zip(types, weights, strict=True)) == REALISTIC_SHARES


def test_realistic_run_draws_types_by_their_shares(tmp_path) -> None:
    out = tmp_path / "run"
    args = ["generate", "--count", "1000", "--types", "realistic", "--height", "20"]
    assert main([*args, "--out", str(out), "--progress", "False"]) == 0
    lines = (out / "metadata.jsonl").read_text(encoding="utf-8").splitlines()
    drawn = Counter(json.loads(line)["type"] for line in lines)
    for plate_type, share in REALISTIC_SHARES.items():
        expected = 1000 * share
        assert abs(drawn[plate_type.value] - expected) < 4 * expected**0.5 + 3, plate_type


def test_realistic_with_weights_is_a_one_line_error(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    code = main(["generate", "--types", "realistic", "--weights", "1,2", "--out", str(out)])
    assert code == 2 and not out.exists()
    assert "--types realistic sets the weights itself" in one_error_line(capsys, "generate")
