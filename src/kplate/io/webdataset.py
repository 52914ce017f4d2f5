"""WebDataset shards: POSIX tar files in which each sample is `KEY.jpg` followed by
`KEY.json` (the sample's metadata.jsonl record), the layout the `webdataset` library and
`datasets.load_dataset("webdataset")` read. Written with the standard library's tarfile,
as WebDataset's format documentation describes: no extra package is needed to write.

Every header field that could vary (time, owner, permissions) is fixed, so the same
samples always give the same bytes, whichever machine writes them.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from kplate.errors import KplateError
from kplate.io.files import atomic_writer
from kplate.io.layout import Sample
from kplate.io.manifest import dumps_line


def _member(name: str, data: bytes) -> tuple[tarfile.TarInfo, io.BytesIO]:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info, io.BytesIO(data)


def write_tar_shard(path: Path, samples: Iterable[Sample]) -> Counter[str]:
    """Stream `samples` into the tar at `path` (renamed into place when complete)."""
    per_type: Counter[str] = Counter()
    with (
        atomic_writer(path, "wb") as raw,
        tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar,
    ):
        for key, image, entry in samples:
            extension = entry["file_name"].rsplit(".", 1)[-1]
            tar.addfile(*_member(f"{key}.{extension}", image))
            tar.addfile(*_member(f"{key}.json", dumps_line(entry).encode("utf-8")))
            per_type[entry["type"]] += 1
    return per_type


def tar_shard_types(path: Path) -> Counter[str]:
    """Plates per type of a finished shard, from its `.json` members."""
    per_type: Counter[str] = Counter()
    try:
        with tarfile.open(path, mode="r:") as tar:
            for member in tar:
                if member.name.endswith(".json"):
                    handle = tar.extractfile(member)
                    assert handle is not None
                    per_type[json.loads(handle.read())["type"]] += 1
    except (OSError, tarfile.TarError, ValueError, KeyError) as error:
        raise KplateError(
            f"{path}: not a readable kplate shard ({error}); move it away and re-run"
        ) from None
    return per_type
