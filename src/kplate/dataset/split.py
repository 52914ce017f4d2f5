"""Deterministic train/test split by plate text (or content hash), stable as images are added.

Each group's side is decided by hashing the group key with the seed, never by position, so
adding images never moves an existing plate across the split, and the same plate text falls
on the same side in both domains.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import TypeVar

from kplate.errors import OptionError

T = TypeVar("T")


class Phase(StrEnum):
    TRAIN = "train"
    TEST = "test"


def normalise_text(text: str | None) -> str | None:
    """The label as recorded: NFC, trimmed; empty means unlabelled."""
    if text is None:
        return None
    text = unicodedata.normalize("NFC", text).strip()
    return text or None


def group_key(text: str | None, sha256: str) -> str:
    """What must stay on one side: the plate text (spaces ignored), else the file content."""
    text = normalise_text(text)
    if text is not None:
        return "text:" + "".join(text.split())
    return "sha256:" + sha256


def _unit(*parts: str) -> float:
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def phase_of(key: str, seed: int, test_fraction: float) -> Phase:
    """Test when the seeded hash of the key falls below the fraction."""
    return Phase.TEST if _unit("split", str(seed), key) < test_fraction else Phase.TRAIN


def selection_order(items: Iterable[T], name_of: Callable[[T], str], seed: int) -> list[T]:
    """A seeded shuffle keyed on each item's name, so `--max-images` takes a fair sample
    (not the first N by name) and the sample only grows when images are added."""
    return sorted(items, key=lambda item: (_unit("pick", str(seed), name_of(item)), name_of(item)))


def require_training_images(counts: dict[str, int], test_fraction: float) -> None:
    """Refuse a build whose trainA or trainB came out empty (a --test-fraction near 1, or
    a set so small that every plate hashed to the test side): training could not start.

    `counts` maps the splits built (trainA, trainB, ...) to their image counts.
    """
    for split in ("trainA", "trainB"):
        if split in counts and counts[split] == 0:
            tested = counts.get(f"test{split[-1]}", 0)
            raise OptionError(
                "test_fraction",
                f"{{option}} {test_fraction}: {split} would be empty ({tested} images "
                "all went to the test side); use a smaller {option} or more images",
            )
