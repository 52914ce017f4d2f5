"""Fixtures shared by the test modules."""

from __future__ import annotations

import pytest

from helpers import one_torch_thread


@pytest.fixture
def one_thread():
    """One torch thread for the test (see `helpers.one_torch_thread`)."""
    with one_torch_thread():
        yield


def pytest_collection_modifyitems(config, items) -> None:
    """The Dask tests run last. A dask.distributed Client leaves threads running in the
    test process after it closes; a later test that forks generate's worker pool from
    that process could deadlock a worker on a lock one of those threads held at the fork
    (in the full suite, `test_a_worker_failing_mid_run_stops_the_run` hung so, twice).
    kplate itself never forks after starting a Client: a `--scheduler` run uses no local
    pool."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/test_dask_run.py"))
