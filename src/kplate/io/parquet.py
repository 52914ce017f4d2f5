"""Parquet shards: one row per plate with the encoded image and its record, the layout
`datasets.load_dataset("parquet")`, pandas, Spark and DuckDB read.

Columns: `key`, `index`, `text`, `type`, `width`, `height` (what a trainer filters on),
`image` as the `{bytes, path}` struct that Hugging Face's `Image` feature decodes (the
schema carries that feature, so `datasets` hands out PIL images), and `json`: the whole
metadata.jsonl record, whose nested fields (boxes, augmentation) vary too much between
presets for one fixed column type.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kplate.errors import KplateError
from kplate.io.files import atomic_writer
from kplate.io.layout import Sample
from kplate.io.manifest import dumps_line

#: Rows per row group: a reader holds at most this many images at once.
ROW_GROUP = 1000

_FEATURES = {
    "key": {"dtype": "string", "_type": "Value"},
    "index": {"dtype": "int64", "_type": "Value"},
    "text": {"dtype": "string", "_type": "Value"},
    "type": {"dtype": "string", "_type": "Value"},
    "width": {"dtype": "int32", "_type": "Value"},
    "height": {"dtype": "int32", "_type": "Value"},
    "image": {"_type": "Image"},
    "json": {"dtype": "string", "_type": "Value"},
}


def _schema() -> Any:
    import pyarrow as pa

    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    fields = [
        ("key", pa.string()),
        ("index", pa.int64()),
        ("text", pa.string()),
        ("type", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("image", image),
        ("json", pa.string()),
    ]
    metadata = {"huggingface": json.dumps({"info": {"features": _FEATURES}})}
    return pa.schema(fields, metadata=metadata)


def write_parquet_shard(path: Path, samples: Iterable[Sample]) -> Counter[str]:
    """Stream `samples` into the Parquet file at `path`, a row group at a time (renamed
    into place when complete)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema()
    per_type: Counter[str] = Counter()
    rows: list[dict[str, Any]] = []
    with atomic_writer(path, "wb") as raw, pq.ParquetWriter(raw, schema) as writer:
        for key, image, entry in samples:
            rows.append(
                {
                    "key": key,
                    "index": entry["index"],
                    "text": entry["text"],
                    "type": entry["type"],
                    "width": entry["width"],
                    "height": entry["height"],
                    "image": {"bytes": image, "path": entry["file_name"]},
                    "json": dumps_line(entry).rstrip("\n"),
                }
            )
            per_type[entry["type"]] += 1
            if len(rows) == ROW_GROUP:
                writer.write_table(pa.Table.from_pylist(rows, schema))
                rows.clear()
        if rows:
            writer.write_table(pa.Table.from_pylist(rows, schema))
    return per_type


def parquet_shard_types(path: Path) -> Counter[str]:
    """Plates per type of a finished shard, from its `type` column alone."""
    import pyarrow.parquet as pq

    try:
        column = pq.read_table(path, columns=["type"]).column("type").to_pylist()
    except (OSError, ValueError, KeyError) as error:
        raise KplateError(
            f"{path}: not a readable kplate shard ({error}); move it away and re-run"
        ) from None
    return Counter(column)
