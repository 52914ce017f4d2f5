"""tools/measure_syllable_detail.py: how much of a use syllable a camera draw keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import tool
from kplate.cli import main
from kplate.errors import KplateError
from kplate.numbers import validate
from kplate.spec.types import PlateType


def _tool():
    return tool("measure_syllable_detail")


def _drawn(tmp_path: Path, name: str, camera: str) -> Path:
    config = tmp_path / f"{name}.yaml"
    config.write_text(f"camera:\n  {camera}\n", encoding="utf-8")
    out = tmp_path / name
    argv = ["generate", "--augment-config", str(config), "--types", "private_2digit",
            "--count", "4", "--seed", "1", "--height", "110", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    return out


def test_a_coarse_draw_keeps_less_of_the_syllable_than_a_fine_one(tmp_path) -> None:
    """The same plates: JPEG at quality 95 keeps nearly all of what tells each use
    syllable from its look-alike; a downscale to a 22 px plate keeps far less, on every
    plate. Each look-alike is another syllable that the plate's type takes there."""
    tool = _tool()
    fine = {
        d.file: d
        for d in tool.details(_drawn(tmp_path, "fine", "jpeg: {p: 1.0, quality: [95, 95]}"))
    }
    coarse = {
        d.file: d
        for d in tool.details(
            _drawn(tmp_path, "coarse", "downscale: {p: 1.0, plate_height: [22, 22]}")
        )
    }
    assert sorted(fine) == sorted(coarse) and len(fine) == 4
    for name, detail in fine.items():
        assert detail.kept > 0.9
        assert coarse[name].kept < 0.8 * detail.kept
        assert detail.look_alike != detail.syllable
        validate(f"12{detail.look_alike}3456", PlateType.PRIVATE_2DIGIT)  # a valid syllable


def test_a_reader_s_misses_are_counted_in_the_bins_of_their_plates() -> None:
    tool = _tool()
    Detail = tool.Detail
    found = [Detail("a.jpg", "t", "가", "라", 20.0, 0.05), Detail("b.jpg", "t", "가", "라", 20.0, 0.3),
             Detail("c.jpg", "t", "가", "라", 20.0, 0.32), Detail("d.jpg", "t", "가", "라", 20.0, 2.0)]  # fmt: skip
    lines = tool.table(found, {"a.jpg", "c.jpg"}).splitlines()
    assert lines[2] == "| 0.00-0.10 | 1 | 1 |"
    assert lines[5] == "| 0.25-0.40 | 2 | 1 |"
    assert lines[6] == "| 0.40 or more | 1 | 0 |"
    assert "missed" not in tool.table(found, None)


def test_a_run_without_augmentation_is_a_one_line_error(tmp_path) -> None:
    out = tmp_path / "clean"
    assert main(["generate", "--count", "1", "--height", "64", "--out", str(out)]) == 0
    with pytest.raises(KplateError, match="no augmentation to replay"):
        list(_tool().details(out))


def test_a_folder_that_is_not_a_run_exits_2_with_one_line(tmp_path, capsys) -> None:
    assert _tool().main([str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nothing" in err and "run.json" in err
