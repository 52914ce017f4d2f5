"""Output bytes for fixed seeds, pinned by digests stored in `tests/data/output_digests.json`.

Structural changes (moving the generator, the worker pool, the writers) must not change a
single byte a user consumes: images, metadata.jsonl, labels.csv and gt.txt. Run
bookkeeping (run.json, summary.json, the lock) is left out. After a change that is
*meant* to alter the output, refresh the file with `python tests/test_output_digests.py`
and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from kplate.cli import main

STORED = Path(__file__).parent / "data" / "output_digests.json"
BOOKKEEPING = frozenset({"run.json", "summary.json", ".kplate.lock"})
BASE = ["--seed", "11", "--height", "40", "--progress", "False"]

CASES: dict[str, list[str]] = {
    "clean_png_all_types": ["--count", "45", "--format", "png"],
    "light_jpg": ["--count", "30", "--augment", "light"],
    "heavy_jpg_2_workers": ["--count", "30", "--augment", "heavy", "--workers", "2"],
    "cctv_label_names": ["--count", "20", "--augment", "cctv", "--filenames", "label"],
    "night_fixed_size": ["--count", "15", "--augment", "night", "--width", "150"],
}


def folder_digest(root: Path) -> str:
    """One SHA-256 over every consumed file's relative path and bytes, in path order."""
    total = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_file() and name not in BOOKKEEPING:
            total.update(name.encode("utf-8") + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return total.hexdigest()


def case_digest(case: str, tmp: Path) -> str:
    out = tmp / case
    assert main(["generate", *BASE, *CASES[case], "--out", str(out)]) == 0
    return folder_digest(out)


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_bytes_match_the_stored_digest(case: str, tmp_path: Path) -> None:
    stored = json.loads(STORED.read_text(encoding="utf-8"))
    assert case_digest(case, tmp_path) == stored[case]


if __name__ == "__main__":  # refresh the stored digests
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        digests = {case: case_digest(case, Path(tmp)) for case in sorted(CASES)}
    STORED.write_text(json.dumps(digests, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(digests, indent=1), file=sys.stdout)
