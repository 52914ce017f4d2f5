"""Labelled and unlabelled image folders for the evaluation stage, and the fixed resize.

Every command here reads the same three kinds of folder: a kplate dataset
(`metadata.jsonl`), a folder with `labels.csv` (`file,text[,style|type]`) and, where no
labels are needed, a plain image folder. Bad input is a `KplateError` (one line, exit 2).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from kplate.errors import KplateError
from kplate.io.manifest import LABELS_CSV, METADATA, iter_labelled_images
from kplate.limits import UnreadableImage
from kplate.limits import open_image as open_checked_image
from kplate.spec.alphabet import grammar_alphabet

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
UNKNOWN_STYLE = "unknown"


@dataclass(frozen=True)
class LabelledImage:
    """One test or training image: `key` is its path relative to the dataset root."""

    path: Path
    text: str
    style: str
    key: str


def _csv_styles(root: Path) -> dict[str, str]:
    """file -> style from labels.csv (`style`, else `type` column); empty when neither."""
    with open(root / LABELS_CSV, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        column = next((c for c in ("style", "type") if c in (reader.fieldnames or [])), None)
        if column is None:
            return {}
        return {row["file"]: (row[column] or UNKNOWN_STYLE) for row in reader}


def _check_folder(root: Path) -> None:
    if not root.exists():
        raise KplateError(f"{root}: no such folder")
    if not root.is_dir():
        raise KplateError(f"{root}: not a folder")


def _inside(root: Path, manifest: str, path: Path, name: str) -> Path:
    """`path` (root / a manifest's file entry), refused when the entry leads outside `root`:
    an absolute path, a `..` part or a NUL would make an evaluation read other files."""
    if (
        not name.strip()
        or "\x00" in name
        or Path(name).is_absolute()
        or ".." in Path(name).parts
        or not path.is_relative_to(root)
    ):
        raise KplateError(f"{root / manifest}: file name {name!r} points outside {root}")
    return path


def _listed(root: Path) -> list[tuple[Path, str, dict | None]]:
    """iter_labelled_images, every entry checked to stay inside `root`."""
    manifest = METADATA if (root / METADATA).is_file() else LABELS_CSV
    rows = []
    try:
        for path, text, entry in iter_labelled_images(root):
            if entry is not None:
                name = str(entry.get("file_name", ""))
            else:  # labels.csv: the path is root / the entry, `..` parts kept
                name = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
            rows.append((_inside(root, manifest, path, name), text, entry))
    except (KeyError, csv.Error, ValueError) as error:  # ValueError: bad JSON, not UTF-8
        raise KplateError(f"{root / manifest}: missing column or bad row ({error})") from None
    return rows


def load_labelled(root: str | Path, alphabet: Iterable[str] | None = None) -> list[LabelledImage]:
    """The labelled images of a kplate dataset or labels.csv folder, checked against the alphabet.

    A label with a character no plate can contain would silently poison training and
    CER, so it stops the run and names the file and the value.
    """
    root = Path(root)
    _check_folder(root)
    allowed = frozenset(alphabet) if alphabet is not None else grammar_alphabet()
    manifest = METADATA if (root / METADATA).is_file() else LABELS_CSV
    try:
        rows = _listed(root)
        styles = _csv_styles(root) if manifest == LABELS_CSV else {}
    except (KeyError, csv.Error) as error:
        raise KplateError(f"{root / manifest}: missing column or bad row ({error})") from None
    items: list[LabelledImage] = []
    for path, text, entry in rows:
        key = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        text = (text or "").strip()
        if not text:
            raise KplateError(f"{root / manifest}: {key}: empty label")
        bad = sorted(set(text) - allowed)
        if bad:
            raise KplateError(
                f"{root / manifest}: {key}: label '{text}' has characters outside the plate "
                f"alphabet: {''.join(bad)!r}"
            )
        style = str(entry.get("type") or UNKNOWN_STYLE) if entry else styles.get(key, UNKNOWN_STYLE)
        items.append(LabelledImage(path, text, style, key))
    if not items:
        raise KplateError(f"{root / manifest}: no labelled images")
    return items


def image_files(root: str | Path) -> list[Path]:
    """Images of any folder: a dataset's listed files, else every image below it (any case)."""
    root = Path(root)
    _check_folder(root)
    if (root / METADATA).is_file() or (root / LABELS_CSV).is_file():
        files = [path for path, _, _ in _listed(root)]
    else:
        files = sorted(
            p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
    if not files:
        raise KplateError(f"{root}: no images found")
    return files


def open_image(path: Path, mode: str = "L") -> Image.Image | None:
    """The image converted to `mode`, or None when it is missing, not a regular file, over
    the pixel limit or cannot be decoded (the caller counts it as unreadable)."""
    try:
        with open_checked_image(path) as image:
            return ImageOps.exif_transpose(image).convert(mode)
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
