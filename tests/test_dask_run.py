"""`kplate generate --scheduler ADDRESS`: a run on a dask.distributed cluster (here a
LocalCluster of 2 processes) writes the bytes of a one-machine run, recomputes the rounds
of a worker killed mid-run, and a re-run after an interruption makes only the missing
rounds."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sys
from collections import Counter
from pathlib import Path

import pytest

from helpers import VOLATILE, one_error_line, tree_bytes
from kplate.cli import main

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

# The worker plugins below travel to the workers by value: the workers need not import
# this test module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

RUN = ["--count", "36", "--seed", "3", "--height", "32", "--augment", "light"]


def run_cli(*args: str) -> int:
    return main(["generate", *RUN, *args, "--progress", "False"])


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes of one thread each, shared by the tests of this module."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as local:
        yield local


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as connected:
        yield connected


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The one-machine run every cluster run must equal, byte for byte."""
    out = tmp_path_factory.mktemp("local") / "out"
    assert run_cli("--out", str(out)) == 0
    return tree_bytes(out, VOLATILE)


class KillAtRound(distributed.WorkerPlugin):
    """Kills its worker process (SIGKILL, as the OOM killer would) when the task of round
    `number` starts on it; `once`: only the first time, anywhere (a marker file says)."""

    def __init__(self, number: int, marker: str, once: bool) -> None:
        self.key = f"kplate-round-{number:06d}-"
        self.marker, self.once = marker, once

    def transition(self, key, start, finish, **kwargs) -> None:
        if finish != "executing" or self.key not in str(key):
            return
        if self.once:
            try:
                open(self.marker, "x").close()
            except FileExistsError:
                return
        else:
            with open(self.marker, "a") as handle:
                handle.write("killed\n")
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("layout", ["folder", "webdataset", "parquet"])
def test_a_cluster_run_writes_the_bytes_of_a_one_machine_run(
    tmp_path: Path, cluster, local_run, layout: str
) -> None:
    if layout == "folder":
        out = tmp_path / "dask"
        assert run_cli("--scheduler", cluster.scheduler_address, "--out", str(out)) == 0
        assert tree_bytes(out, VOLATILE) == local_run
        assert not (out / ".rounds").exists()
        return
    if layout == "parquet":
        pytest.importorskip("pyarrow")
    args = ("--format", layout, "--shard-size", "5")
    one = tmp_path / "one"
    assert run_cli(*args, "--out", str(one)) == 0
    out = tmp_path / "dask"
    assert run_cli(*args, "--scheduler", cluster.scheduler_address, "--out", str(out)) == 0
    assert tree_bytes(out, VOLATILE) == tree_bytes(one, VOLATILE)
    assert len(list(out.glob("shard-*"))) == 8


def test_a_shard_of_a_job_array_on_a_cluster_equals_the_local_shard(
    tmp_path: Path, cluster
) -> None:
    args = ("--shard", "1/3", "--augment", "heavy")
    local = tmp_path / "local"
    assert run_cli(*args, "--out", str(local)) == 0
    out = tmp_path / "dask"
    assert run_cli(*args, "--scheduler", cluster.scheduler_address, "--out", str(out)) == 0
    assert tree_bytes(out, VOLATILE) == tree_bytes(local, VOLATILE)
    assert len((out / "metadata.jsonl").read_text().splitlines()) == 12


def test_threads_of_one_worker_write_the_same_bytes(tmp_path: Path, local_run) -> None:
    """A worker running two rounds at once: each thread has its own plate factory."""
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0"
    ) as threaded:
        out = tmp_path / "dask"
        assert run_cli("--scheduler", threaded.scheduler_address, "--out", str(out)) == 0
    assert tree_bytes(out, VOLATILE) == local_run


def test_a_worker_killed_mid_run_has_its_round_recomputed(
    tmp_path: Path, cluster, client, local_run
) -> None:
    marker = tmp_path / "killed"
    before = set(client.run(os.getpid).values())
    client.register_plugin(KillAtRound(4, str(marker), once=True), name="kill-once")
    try:
        out = tmp_path / "dask"
        assert run_cli("--scheduler", cluster.scheduler_address, "--out", str(out)) == 0
    finally:
        client.unregister_worker_plugin("kill-once")
    assert marker.exists()  # the worker did die, running round 4
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != before
    assert tree_bytes(out, VOLATILE) == local_run


def test_an_interrupted_cluster_run_resumes_only_its_missing_rounds(
    tmp_path: Path, cluster, client, local_run, capsys
) -> None:
    marker = tmp_path / "killed"
    allowed = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)

    def set_allowed(count: int) -> None:
        client.run_on_scheduler(
            lambda dask_scheduler, n=count: setattr(dask_scheduler, "allowed_failures", n)
        )

    out = tmp_path / "dask"
    set_allowed(0)  # the first death of round 6's worker stops the run
    client.register_plugin(KillAtRound(6, str(marker), once=False), name="kill-always")
    try:
        assert run_cli("--scheduler", cluster.scheduler_address, "--out", str(out)) == 2
        message = one_error_line(capsys, "generate")
        # round 6, or a round queued on the same worker, which died with it
        assert re.search(r"round \d+: the workers running it died too often", message)
        assert "re-run the same command to resume" in message
    finally:
        client.unregister_worker_plugin("kill-always")
        set_allowed(allowed)
    # The stopped run waited for the rounds its workers had started: none writes later.
    assert not any(client.run(lambda dask_worker: len(dask_worker.state.executing)).values())
    client.wait_for_workers(2, timeout=60)
    assert not (out / "summary.json").exists()
    done = sorted(p.name for p in (out / ".rounds").glob("*.jsonl"))
    assert "000006.jsonl" not in done
    plates = [json.loads(line) for name in done for line in (out / ".rounds" / name).open()]
    stamps = {e["file_name"]: (out / e["file_name"]).stat().st_mtime_ns for e in plates}
    capsys.readouterr()
    assert run_cli("--scheduler", cluster.scheduler_address, "--out", str(out)) == 0
    made = 36 - len(plates)
    assert f"36 plates in {out} ({len(plates)} already there, {made} made now)" in (
        capsys.readouterr().out
    )
    assert {name: (out / name).stat().st_mtime_ns for name in stamps} == stamps
    assert tree_bytes(out, VOLATILE) == local_run
    assert_summary_counts(out)


def assert_summary_counts(out: Path) -> None:
    """summary.json counts every plate once: those of the earlier part and the new ones."""
    types = Counter(json.loads(line)["type"] for line in (out / "metadata.jsonl").open())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["per_type"] == dict(types) and summary["count"] == 36


def test_a_local_rerun_finishes_a_cluster_run(tmp_path: Path, cluster, local_run) -> None:
    """The folder a cluster run stopped in is the same run to a local re-run (run.json
    has no scheduler in it): it finishes it, and drops the cluster's manifest parts."""
    out = tmp_path / "dask"
    assert run_cli("--scheduler", cluster.scheduler_address, "--out", str(out)) == 0
    (out / "summary.json").unlink()
    (out / "metadata.jsonl").write_bytes(b"")
    (out / ".rounds").mkdir()
    (out / ".rounds" / "000003.jsonl").write_text("left by a stopped cluster run\n")
    assert run_cli("--workers", "2", "--out", str(out)) == 0
    assert tree_bytes(out, VOLATILE) == local_run
    assert not (out / ".rounds").exists()


def test_a_damaged_round_part_is_refused_in_one_line(tmp_path: Path, cluster, capsys) -> None:
    out = tmp_path / "dask"
    assert run_cli("--scheduler", cluster.scheduler_address, "--out", str(out)) == 0
    lines = (out / "metadata.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (out / "summary.json").unlink()
    (out / "metadata.jsonl").write_text("".join(lines[:2]), encoding="utf-8")
    (out / ".rounds").mkdir()
    (out / ".rounds" / "000003.jsonl").write_text(lines[4], encoding="utf-8")  # not plate 3
    capsys.readouterr()
    assert run_cli("--scheduler", cluster.scheduler_address, "--out", str(out)) == 2
    message = one_error_line(capsys, "generate")
    assert "000003.jsonl: is not round 3's 1 plates in order; delete it and re-run" in message
    (out / ".rounds" / "000003.jsonl").unlink()
    assert run_cli("--scheduler", cluster.scheduler_address, "--out", str(out)) == 0
    assert (out / "metadata.jsonl").read_text(encoding="utf-8") == "".join(lines)
    assert_summary_counts(out)


def test_a_manifest_cut_inside_a_round_resumes_each_plate_once(tmp_path: Path, cluster) -> None:
    """130 plates make rounds of 3: metadata.jsonl cut after 4 lines ends inside round 1,
    whose part is still there; the re-run keeps both and recomputes the rest."""
    out = tmp_path / "dask"
    args = ("--count", "130", "--scheduler", cluster.scheduler_address, "--out", str(out))
    assert run_cli(*args) == 0
    done = (out / "metadata.jsonl").read_text(encoding="utf-8")
    lines = done.splitlines(keepends=True)
    (out / "summary.json").unlink()
    (out / "metadata.jsonl").write_text("".join(lines[:4]), encoding="utf-8")
    (out / ".rounds").mkdir()
    (out / ".rounds" / "000001.jsonl").write_text("".join(lines[3:6]), encoding="utf-8")
    assert run_cli(*args) == 0
    assert (out / "metadata.jsonl").read_text(encoding="utf-8") == done
    types = Counter(json.loads(line)["type"] for line in lines)
    assert json.loads((out / "summary.json").read_text())["per_type"] == dict(types)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scheduler", "tcp://127.0.0.1:{port}"], "cannot reach the scheduler"),
        (["--scheduler", "tcp://no such host"], "not a scheduler address such as tcp://HOST"),
        (["--scheduler", "tcp://h:1", "--workers", "2"], "--workers counts local processes"),
        (
            ["--scheduler", "tcp://h:1", "--filenames", "label"],
            "--filenames label names depend on every earlier plate; with --scheduler",
        ),
        (["--scheduler", "tcp://h:1", "--save", "False"], "--scheduler writes a run"),
    ],
)
def test_bad_scheduler_options_are_one_line_before_the_disk_is_touched(
    tmp_path: Path, capsys, monkeypatch, args: list[str], message: str
) -> None:
    monkeypatch.setattr("kplate.pipeline.dask_run.CONNECT_SECONDS", 1.0)
    out = tmp_path / "out"
    args = [a.format(port=free_port()) for a in args]
    assert run_cli(*args, "--out", str(out)) == 2
    assert message in one_error_line(capsys, "generate")
    assert not out.exists()
