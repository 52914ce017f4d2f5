"""How a generate run lays out its output: a folder of image files with manifests (the
default), or streaming shards that training clusters read sequentially.

`webdataset`: POSIX tar files of `KEY.jpg` + `KEY.json` pairs (io/webdataset.py);
`parquet`: Parquet files of image bytes and records (io/parquet.py). Shard `K` of a run
holds the run's plates at positions `K*S` to `K*S + S - 1` (S: the shard size), so its
content depends only on the run, never on which process or machine wrote it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

#: Samples per streaming shard unless --shard-size says otherwise: ~200 MB of 110 px JPEGs
#: and records, within the 100 MB to 1 GB that WebDataset's documentation suggests.
DEFAULT_SHARD_SIZE = 10_000
MAX_SHARD_SIZE = 10_000_000


class Layout(StrEnum):
    FOLDER = "folder"
    WEBDATASET = "webdataset"
    PARQUET = "parquet"

    @property
    def extension(self) -> str:
        return {Layout.WEBDATASET: "tar", Layout.PARQUET: "parquet"}[self]

    def shard_name(self, number: int) -> str:
        """`shard-000012.tar`: numbered by position, so `shard-*.tar` lists them in order."""
        return f"shard-{number:06d}.{self.extension}"


#: A streaming shard's name, or the temporary it is written under before its rename.
SHARD_FILE = re.compile(r"shard-\d{6,}\.(?:tar|parquet)")
SHARD_TEMPORARY = re.compile(r"\.shard-\d{6,}\.(?:tar|parquet)\.[^/]+\.tmp")

#: One sample of a streaming shard: its key, its encoded image, its manifest entry.
Sample = tuple[str, bytes, dict[str, Any]]


def write_shard(layout: Layout, path: Path, samples: Iterable[Sample]) -> Counter[str]:
    """Write one shard atomically; returns its plates per type."""
    if layout is Layout.WEBDATASET:
        from kplate.io.webdataset import write_tar_shard

        return write_tar_shard(path, samples)
    from kplate.io.parquet import write_parquet_shard

    return write_parquet_shard(path, samples)


def shard_types(layout: Layout, path: Path) -> Counter[str]:
    """The plates per type of a finished shard (what a resumed run counts again)."""
    if layout is Layout.WEBDATASET:
        from kplate.io.webdataset import tar_shard_types

        return tar_shard_types(path)
    from kplate.io.parquet import parquet_shard_types

    return parquet_shard_types(path)
