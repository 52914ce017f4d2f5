"""Fixtures shared by the test modules."""

from __future__ import annotations

import pytest

from helpers import one_torch_thread


@pytest.fixture
def one_thread():
    """One torch thread for the test (see `helpers.one_torch_thread`)."""
    with one_torch_thread():
        yield
