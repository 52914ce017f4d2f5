"""The labels a dataroot's dataset.json records per split: what the GAN's text loss reads."""

from __future__ import annotations

import json
from pathlib import Path

from kplate.dataset.build import DATASET_JSON
from kplate.errors import KplateError


def split_labels(dataroot: Path, split: str) -> dict[str, str]:
    """File name -> plate text of `split`'s labelled images ({} when none is recorded).

    `kplate dataset` writes each file's label (or null) into dataset.json; a damaged
    record is one line naming the file.
    """
    record = dataroot / DATASET_JSON
    if not record.is_file():
        return {}
    try:
        document = json.loads(record.read_text(encoding="utf-8"))
        entries = (document.get("splits") or {}).get(split) or []
    except (OSError, ValueError, AttributeError) as error:
        raise KplateError(f"{record}: cannot read its labels ({error})") from None
    labels = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        name, text = entry.get("file"), entry.get("text")
        if isinstance(name, str) and isinstance(text, str) and text.strip():
            labels[Path(name).name] = text.strip()
    return labels
