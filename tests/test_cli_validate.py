"""`kplate types` and `kplate validate`: fields on success, one error line and exit 2 otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kplate.cli import main
from kplate.spec.types import PlateType

SRC = Path(__file__).resolve().parents[1] / "src"


def test_types_lists_every_id_with_description_and_aliases(capsys) -> None:
    assert main(["types"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert [line.split()[0] for line in lines] == [t.value for t in PlateType]
    assert len(lines) == len(PlateType) == 17
    private = next(line for line in lines if line.startswith("private_2digit "))
    assert "basic_europe" in private and "12가3456" in private
    assert "green_old" in next(line for line in lines if line.startswith("green_regional "))


def test_validate_prints_fields(capsys) -> None:
    assert main(["validate", "12가3456"]) == 0
    captured = capsys.readouterr()
    fields = dict(line.split(": ", 1) for line in captured.out.strip().splitlines())
    assert fields == {
        "type": "private_2digit",
        "text": "12가3456",
        "region": "-",
        "class_code": "12",
        "use": "가",
        "serial": "3456",
        "warnings": "-",
        "candidates": "private_2digit, private_short, electric, large_private, green_national",
        "picked": "a 2-digit class code with the syllable '가' and no region; also valid for "
        "private_short, electric, large_private, green_national (give --type to choose)",
    }
    assert captured.err == ""


def test_validate_with_type_alias_and_warning(capsys) -> None:
    assert main(["validate", "123가4567", "--type", "basic_europe"]) == 0
    assert "type: private_3digit" in capsys.readouterr().out
    assert main(["validate", "서울 52 바 3108", "--type", "large_commercial"]) == 0
    out = capsys.readouterr().out
    assert "region: 서울" in out and "text: 서울52바3108" in out
    assert "large-vehicle" in out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["validate", "12가0000"], "12가0000: serial 0000 is never issued"),
        (["validate", "12바3456"], "commercial syllable '바' needs a region"),
        (["validate", "12가3456", "--type", "diplomatic"], "diplomatic numbers start with"),
        (["validate", "12가3456", "--type", "nope"], "unknown plate type 'nope'"),
        (["validate", "   "], "'   ': empty plate number"),
    ],
)
def test_validate_errors_are_one_line_exit_2(capsys, argv: list[str], fragment: str) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("kplate validate: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in captured.err


def test_unknown_type_lists_valid_names(capsys) -> None:
    assert main(["validate", "12가3456", "--type", "nope"]) == 2
    err = capsys.readouterr().err
    assert all(t.value in err for t in PlateType)


def test_subprocess_exit_codes() -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONIOENCODING": "utf-8"}
    ok = subprocess.run(
        [sys.executable, "-m", "kplate", "validate", "외교005003"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "text: 외교005-003" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "kplate", "validate", "12A3456"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.splitlines() == [
        "kplate validate: error: 12A3456: character 'A' (U+0041) is not allowed on Korean "
        "plates (Latin letters never appear on them)"
    ]
