"""`--types realistic` and `region-rich`: plate types drawn by share, not evenly."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from helpers import one_error_line
from kplate.cli import main
from kplate.numbers import sample, validate
from kplate.numbers.type_shares import (
    REALISTIC_SHARES,
    REGION_FACTOR,
    REGION_RICH_BOOSTED,
    REGION_TYPES,
    realistic_types,
    region_rich_types,
)
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


def test_region_types_are_the_types_whose_numbers_carry_a_region() -> None:
    rng = random.Random(5)
    for plate_type in PlateType:
        numbers = [validate(sample(plate_type, rng), plate_type) for _ in range(20)]
        regions = {number.region is not None for number in numbers}
        assert regions == {plate_type in REGION_TYPES}, plate_type


def test_region_rich_draws_region_types_four_times_as_often() -> None:
    types, weights = region_rich_types()
    rich = dict(zip(types, weights, strict=True))
    assert set(rich) == set(PlateType) and sum(weights) == pytest.approx(1.0)
    for plate_type, share in rich.items():
        factor = REGION_FACTOR if plate_type in REGION_RICH_BOOSTED else 1.0
        # every ratio to the realistic share is the same up to the factor
        assert share / REALISTIC_SHARES[plate_type] / factor == pytest.approx(
            rich[PlateType.PRIVATE_2DIGIT] / REALISTIC_SHARES[PlateType.PRIVATE_2DIGIT]
        )
    assert 0.40 < sum(rich[t] for t in REGION_TYPES) < 0.45
    assert max(rich, key=rich.__getitem__) is PlateType.PRIVATE_2DIGIT


def test_region_rich_run_draws_its_shares(tmp_path) -> None:
    out = tmp_path / "run"
    args = ["generate", "--count", "600", "--types", "Region-Rich", "--height", "20"]
    assert main([*args, "--out", str(out), "--progress", "False"]) == 0
    lines = (out / "metadata.jsonl").read_text(encoding="utf-8").splitlines()
    regional = sum(json.loads(line)["type"] in REGION_TYPES for line in lines)
    assert abs(regional - 600 * 0.432) < 4 * (600 * 0.432 * 0.568) ** 0.5


def test_region_rich_with_weights_is_a_one_line_error(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    code = main(["generate", "--types", "region-rich", "--weights", "1", "--out", str(out)])
    assert code == 2 and not out.exists()
    assert "--types region-rich sets the weights itself" in one_error_line(capsys, "generate")


def test_region_rich_keeps_the_share_of_two_row_plates_without_a_region() -> None:
    """green_national is boosted with the region types: a two-row top row is a region name
    no more often than at realistic shares (8.5 to 1), or a reader learns to invent one."""
    two_row_regional = {
        PlateType.COMMERCIAL_TWO_ROW,
        PlateType.LARGE_COMMERCIAL,
        PlateType.GREEN_REGIONAL,
        PlateType.CONSTRUCTION_REGIONAL_TWO_ROW,
    }
    assert two_row_regional < REGION_TYPES and PlateType.GREEN_NATIONAL not in REGION_TYPES
    assert set(REGION_RICH_BOOSTED - REGION_TYPES) == {PlateType.GREEN_NATIONAL}
    rich = dict(zip(*region_rich_types(), strict=True))
    for shares in (REALISTIC_SHARES, rich):
        regional = sum(shares[t] for t in two_row_regional)
        assert regional / shares[PlateType.GREEN_NATIONAL] == pytest.approx(8.5)
