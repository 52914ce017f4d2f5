"""How a run names its image files: by index, or by label as the earlier project did.

Used by whatever writes or merges a run folder, so a merged folder names its images exactly
as a one-machine run does.
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from typing import Any

IMAGES = "images"


class ImageFormat(StrEnum):
    JPEG = "jpg"
    PNG = "png"


class FileNaming(StrEnum):
    """`index`: ASCII names by position; `label`: the earlier project's `<text>__<type>`."""

    INDEX = "index"
    LABEL = "label"


def file_name_for(
    entry: dict[str, Any], naming: FileNaming, fmt: ImageFormat, digits: int, seen: Counter[str]
) -> str:
    """The image's path relative to the output folder."""
    if naming is FileNaming.INDEX:
        return f"{IMAGES}/{entry['index']:0{digits}d}.{fmt.value}"
    stem = f"{entry['text']}__{entry['type']}"
    previous = seen[stem]
    seen[stem] += 1
    suffix = f"_{previous}" if previous else ""
    return f"{IMAGES}/{entry['type']}/{stem}{suffix}.{fmt.value}"


def index_digits(total: int) -> int:
    return max(6, len(str(max(0, total - 1))))
