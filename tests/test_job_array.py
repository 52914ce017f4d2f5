"""`--shard auto`: the shard of a SLURM array task or a Kubernetes indexed Job, from the
environment the scheduler sets, with one-line errors for every malformed variable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import VOLATILE, tree_bytes
from kplate.cli import main
from kplate.errors import KplateError
from kplate.pipeline.job_array import AutoShard, parse_auto, resolve

VARIABLES = (
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX",
    "SLURM_ARRAY_TASK_STEP",
    "JOB_COMPLETION_INDEX",
)


@pytest.fixture(autouse=True)
def no_job_array(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test machine that itself runs under SLURM must not leak its array into these."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def run_cli(*args: str) -> int:
    return main(["generate", "--count", "11", "--seed", "5", "--height", "40", *args])


@pytest.mark.parametrize(
    ("environ", "flag", "expected"),
    [
        ({"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4"}, "auto", (2, 4)),
        ({"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "1"}, "auto", (0, 1)),
        # `#SBATCH --array=1-8`: IDs 1..8 are shards 0..7
        (
            {
                "SLURM_ARRAY_TASK_ID": "8",
                "SLURM_ARRAY_TASK_COUNT": "8",
                "SLURM_ARRAY_TASK_MIN": "1",
            },
            "auto",
            (7, 8),
        ),
        ({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"}, "auto/4", (3, 4)),
        (
            {
                "SLURM_ARRAY_TASK_ID": "5",
                "SLURM_ARRAY_TASK_COUNT": "4",
                "SLURM_ARRAY_TASK_MIN": "3",
                "SLURM_ARRAY_TASK_MAX": "6",
                "SLURM_ARRAY_TASK_STEP": "1",
            },
            "auto",
            (2, 4),
        ),
        ({"SLURM_ARRAY_TASK_ID": "3"}, "auto/5", (3, 5)),
        ({"JOB_COMPLETION_INDEX": "5"}, "auto/6", (5, 6)),
        ({"JOB_COMPLETION_INDEX": " 0\n"}, "auto/1", (0, 1)),
    ],
)
def test_resolve_reads_the_array_variables(environ, flag, expected) -> None:
    spec = parse_auto(flag)
    assert spec is not None
    assert resolve(spec, environ) == expected


@pytest.mark.parametrize(
    ("environ", "flag", "message"),
    [
        ({}, "auto", "not in a job array (SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX are unset)"),
        (
            {"SLURM_ARRAY_TASK_ID": "x1", "SLURM_ARRAY_TASK_COUNT": "4"},
            "auto",
            "SLURM_ARRAY_TASK_ID='x1' is not a whole number",
        ),
        (
            {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "-4"},
            "auto",
            "SLURM_ARRAY_TASK_COUNT='-4' is not a whole number",
        ),
        (
            {"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4"},
            "auto",
            "SLURM_ARRAY_TASK_ID=4 is not shard 0 to 3 of 4",
        ),
        (
            {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "0"},
            "auto",
            "a job array of 0 tasks has none to do",
        ),
        (
            {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"},
            "auto/8",
            "SLURM_ARRAY_TASK_COUNT=4 says the array has 4 tasks",
        ),
        ({"SLURM_ARRAY_TASK_ID": "1"}, "auto", "SLURM_ARRAY_TASK_COUNT is not"),
        # --array=0-7:2: IDs 0, 2, 4, 6 of 4 tasks; ID 2 must not pass for shard 2 of 4
        (
            {
                "SLURM_ARRAY_TASK_ID": "2",
                "SLURM_ARRAY_TASK_COUNT": "4",
                "SLURM_ARRAY_TASK_STEP": "2",
            },
            "auto",
            "SLURM_ARRAY_TASK_STEP=2; an array with a step leaves shards unmade",
        ),
        # --array=1,5,9: 3 tasks whose IDs are no range
        (
            {
                "SLURM_ARRAY_TASK_ID": "1",
                "SLURM_ARRAY_TASK_COUNT": "3",
                "SLURM_ARRAY_TASK_MIN": "1",
                "SLURM_ARRAY_TASK_MAX": "9",
            },
            "auto",
            "SLURM_ARRAY_TASK_MIN=1 to SLURM_ARRAY_TASK_MAX=9 is not 3 consecutive IDs",
        ),
        (
            {"JOB_COMPLETION_INDEX": "2"},
            "auto",
            "pass --shard auto/N with N = the Job's completions",
        ),
        (
            {"JOB_COMPLETION_INDEX": "2"},
            "auto/2",
            "JOB_COMPLETION_INDEX=2 is not shard 0 to 1 of 2",
        ),
        ({"JOB_COMPLETION_INDEX": ""}, "auto/2", "JOB_COMPLETION_INDEX='' is not a whole number"),
        (
            {"JOB_COMPLETION_INDEX": "1", "SLURM_ARRAY_TASK_ID": "1"},
            "auto/2",
            "both SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX are set",
        ),
    ],
)
def test_bad_environment_is_one_line_naming_the_variable(environ, flag, message) -> None:
    spec = parse_auto(flag)
    assert spec is not None
    with pytest.raises(KplateError) as caught:
        resolve(spec, environ)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_parse_auto_tells_auto_from_i_of_n() -> None:
    assert parse_auto("auto") == AutoShard()
    assert parse_auto("auto/12") == AutoShard(12)
    assert parse_auto("1/4") is None
    for bad in ("auto/0", "auto/x", "auto/-2", "auto/"):
        with pytest.raises(ValueError, match="expected auto or auto/N"):
            parse_auto(bad)


def test_slurm_array_run_equals_the_explicit_shard(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "1")
    monkeypatch.setenv("SLURM_ARRAY_TASK_COUNT", "3")
    auto = tmp_path / "auto"
    assert run_cli("--shard", "auto", "--out", str(auto), "--progress", "False") == 0
    monkeypatch.delenv("SLURM_ARRAY_TASK_ID")
    monkeypatch.delenv("SLURM_ARRAY_TASK_COUNT")
    explicit = tmp_path / "explicit"
    assert run_cli("--shard", "1/3", "--out", str(explicit), "--progress", "False") == 0
    assert json.loads((auto / "run.json").read_text())["shard"] == [1, 3]
    assert tree_bytes(auto, VOLATILE) == tree_bytes(explicit, VOLATILE)
    assert [json.loads(line)["index"] for line in (auto / "metadata.jsonl").open()] == [1, 4, 7, 10]


def test_kubernetes_indexed_job_shards_merge_into_the_single_run(
    tmp_path: Path, monkeypatch
) -> None:
    single = tmp_path / "single"
    assert run_cli("--out", str(single), "--progress", "False") == 0
    parts = []
    for index in range(2):
        monkeypatch.setenv("JOB_COMPLETION_INDEX", str(index))
        parts.append(str(tmp_path / f"part{index}"))
        assert run_cli("--shard", "auto/2", "--out", parts[-1], "--progress", "False") == 0
    merged = tmp_path / "merged"
    assert main(["merge", *parts, "--out", str(merged)]) == 0
    assert tree_bytes(merged, VOLATILE) == tree_bytes(single, VOLATILE)


@pytest.mark.parametrize(
    ("environ", "flag", "message"),
    [
        ({}, "auto", "--shard auto: not in a job array"),
        ({"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_COUNT": "2"}, "auto", "is not shard 0"),
        ({"JOB_COMPLETION_INDEX": "1"}, "auto/0", "expected auto or auto/N with N >= 1"),
    ],
)
def test_cli_refuses_in_one_line_before_touching_the_disk(
    tmp_path: Path, capsys, monkeypatch, environ, flag, message
) -> None:
    from helpers import one_error_line

    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "out"
    assert run_cli("--shard", flag, "--out", str(out)) == 2
    assert message in one_error_line(capsys, "generate")
    assert not out.exists()
