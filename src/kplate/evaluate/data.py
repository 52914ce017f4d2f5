"""Labelled and unlabelled image folders for the evaluation stage, and the fixed resize.

Every command here reads the same three kinds of folder: a kplate dataset
(`metadata.jsonl`), a folder with `labels.csv` (`file,text[,type]`, `style` accepted as the
older name of `type`) and, where no labels are needed, a plain image folder, all read
through `kplate.io.images`. Bad input is a `KplateError` (one line, exit 2).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from kplate.errors import KplateError
from kplate.io import images
from kplate.io.images import LABELS_CSV, METADATA, Labelled, UnreadableImage, is_image_name
from kplate.spec.alphabet import grammar_alphabet

UNKNOWN_TYPE = "unknown"


@dataclass(frozen=True)
class CharacterBox:
    """One character's ink box, as fractions of the image's width and height, so that it
    holds at whatever size the image is read."""

    char: str
    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class LabelledImage:
    """One test or training image: `key` is its path relative to the dataset root.

    `boxes`: each character's box, in the label's order, from a kplate dataset's
    `metadata.jsonl`; None where the manifest has none (labels.csv, real crops)."""

    path: Path
    text: str
    type: str  # the plate type id, or 'unknown'
    key: str
    boxes: tuple[CharacterBox, ...] | None = None


def _check_folder(root: Path) -> None:
    if not root.exists():
        raise KplateError(f"{root}: no such folder")
    if not root.is_dir():
        raise KplateError(f"{root}: not a folder")


def _listed(root: Path) -> list[Labelled]:
    """The manifest's entries (each checked by io.images to stay inside `root`)."""
    manifest = images.label_manifest(root) or root / LABELS_CSV
    try:
        return list(images.iter_labels(root))
    except (KeyError, TypeError, csv.Error, ValueError) as error:  # bad JSON, not UTF-8
        raise KplateError(f"{manifest}: missing column or bad row ({error})") from None


def load_labelled(root: str | Path, alphabet: Iterable[str] | None = None) -> list[LabelledImage]:
    """The labelled images of a kplate dataset or labels.csv folder, checked against the alphabet.

    A label with a character no plate can contain would silently poison training and
    CER, so it stops the run and names the file and the value.
    """
    root = Path(root)
    _check_folder(root)
    allowed = frozenset(alphabet) if alphabet is not None else grammar_alphabet()
    manifest = METADATA if (root / METADATA).is_file() else LABELS_CSV
    items: list[LabelledImage] = []
    for row in _listed(root):
        path = row.path
        key = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        text = (row.text or "").strip()
        if not text:
            raise KplateError(f"{root / manifest}: {key}: empty label")
        bad = sorted(set(text) - allowed)
        if bad:
            raise KplateError(
                f"{root / manifest}: {key}: label '{text}' has characters outside the plate "
                f"alphabet: {''.join(bad)!r}"
            )
        boxes = character_boxes(row.entry, text, f"{root / manifest}: {key}")
        items.append(LabelledImage(path, text, str(row.type or UNKNOWN_TYPE), key, boxes))
    if not items:
        raise KplateError(f"{root / manifest}: no labelled images")
    return items


def character_boxes(
    entry: dict[str, Any] | None, text: str, where: str
) -> tuple[CharacterBox, ...] | None:
    """The character boxes of a metadata.jsonl entry (`chars`, `width`, `height`) as
    fractions of the image, or None where it has none or they no longer spell the label
    (a label edited by hand: the text is what is read, the boxes are only a help).

    A `chars` field that is not a list of {char, box: [x0, y0, x1, y1]} is a KplateError
    naming `where` and the value.
    """
    chars = (entry or {}).get("chars")
    if not chars:
        return None
    try:
        width, height = float(entry["width"]), float(entry["height"])  # type: ignore[index]
        boxes = tuple(
            CharacterBox(
                str(c["char"]),
                *(float(v) / size for v, size in zip(c["box"], (width, height) * 2, strict=True)),
            )
            for c in chars
        )
        if width <= 0 or height <= 0:
            raise ValueError("a size of 0")
    except (KeyError, TypeError, ValueError) as error:
        raise KplateError(f"{where}: bad character boxes {str(chars)[:80]!r} ({error})") from None
    return boxes if "".join(b.char for b in boxes) == text else None


def image_files(root: str | Path) -> list[Path]:
    """Images of any folder: a dataset's listed files, else every image below it (any case)."""
    root = Path(root)
    _check_folder(root)
    if (root / METADATA).is_file() or (root / LABELS_CSV).is_file():
        files = [row.path for row in _listed(root)]
    else:
        files = sorted(p for p in root.rglob("*") if p.is_file() and is_image_name(p))
    if not files:
        raise KplateError(f"{root}: no images found")
    return files


def open_image(path: Path, mode: str = "L") -> Image.Image | None:
    """The image converted to `mode`, or None when it is missing, not a regular file, over
    the pixel limit or cannot be decoded (the caller counts it as unreadable)."""
    try:
        return images.open_image(path, mode)
    except UnreadableImage:
        return None


def resize_array(image: Image.Image, height: int, width: int) -> np.ndarray:
    """The image squeezed to exactly height x width (aspect ratio not kept), as uint8."""
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR), dtype=np.uint8)


def load_arrays(
    paths: Sequence[Path], height: int, width: int, mode: str = "L"
) -> tuple[np.ndarray, list[int]]:
    """Decode and resize every path; returns (stacked uint8 arrays, indices kept).

    Corrupt or missing images are skipped; the caller reports how many.
    """
    arrays: list[np.ndarray] = []
    kept: list[int] = []
    for index, path in enumerate(paths):
        image = open_image(path, mode)
        if image is None:
            continue
        arrays.append(resize_array(image, height, width))
        kept.append(index)
    channels = (height, width) if mode == "L" else (height, width, len(mode))
    stacked = np.stack(arrays) if arrays else np.zeros((0, *channels), dtype=np.uint8)
    return stacked, kept
