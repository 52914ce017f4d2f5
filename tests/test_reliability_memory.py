"""Issue #9, resources: `kplate generate` must run in memory that does not grow with --count.

Peak RSS is the kernel's figure for one child process (`os.wait4`), never a timing. The
full table (1,000 / 10,000 / 100,000 plates) is `benchmarks/memory_generate.py`.

The manifests are streamed (metadata.jsonl is appended, and labels.csv, gt.txt, the LMDB,
resuming and shard merging read it line by line), so nothing is held per plate. Before
that fix the final pass held about 6.6 KB of Python objects per plate (729 MiB peak at
100,000 plates against 71 MiB at 1,000).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from memory_generate import measure  # noqa: E402


def peak_rss_mib(count: int) -> float:
    """The child's own VmHWM: ru_maxrss would count the pytest process it forked from."""
    row = measure(count, workers=1, height=32)
    assert row["exit_code"] == 0, row["error"]
    return row["peak_rss_mib"]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs /proc VmHWM")
def test_peak_memory_does_not_grow_with_count() -> None:
    small = peak_rss_mib(500)
    large = peak_rss_mib(8000)
    # 16x the plates; a streaming run stays within noise (a few MiB), the list costs ~50.
    assert large - small < 20, f"peak RSS {small:.0f} MiB at 500 plates, {large:.0f} at 8000"
