"""One way to read images and labelled image folders: every stage that reads an image or a
label folder from disk goes through here.

* `IMAGE_SUFFIXES`: the files read as images (jpg, jpeg, png, bmp, webp, any letter case).
  `.tif`/`.tiff` are not among them: kplate never writes them, `kplate dataset` only keeps
  these five formats in a dataroot, and TIFF's many codecs are a wide decoder surface for
  a crop format nobody sends. The set is defined in `kplate.limits` (the glyph-dir reader
  in `render` needs it and `render` comes before `io`) and re-exported here as its home.
* `open_image(path, mode, max_pixels)`: the one decoding policy. Only a regular file is
  opened, the pixel count is checked on the header before any pixel is decoded, the image
  is fully decoded, turned upright by its EXIF orientation, and transparency is laid onto
  white (a plate's background) before it becomes `mode`. Every failure is one
  `UnreadableImage` line naming the file. It builds on `kplate.limits.open_image`, the
  lowest-level opener (regular file, pixel limit, errors as `UnreadableImage`), which
  `render` uses directly because it may not import `io`.
* `inside(root, name, manifest)`: whether a manifest's file entry names a file inside
  its folder, judged on the spelling alone (links are not resolved): no `..` that leaves
  the folder, no absolute path elsewhere, no NUL.
* `iter_labels(root)`: the one reader of `metadata.jsonl` and `labels.csv`
  (`file,text[,type]`; `style` is accepted as the older name of `type`), every entry
  checked by `inside`.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from kplate import limits
from kplate.errors import KplateError
from kplate.io.manifest import LABELS_CSV, METADATA, iter_metadata
from kplate.limits import IMAGE_SUFFIXES, MAX_PIXELS, UnreadableImage, is_image_name

__all__ = [
    "IMAGE_SUFFIXES",
    "LABELS_CSV",
    "METADATA",
    "TYPE_COLUMNS",
    "Labelled",
    "UnreadableImage",
    "inside",
    "is_image_name",
    "iter_labels",
    "label_manifest",
    "open_image",
    "upright",
]

TYPE_COLUMNS = ("type", "style")
"""labels.csv columns naming a plate's type: the first one filled in a row counts
(`style` is the older name of `type`)."""

WHITE = (255, 255, 255)


def upright(image: Image.Image, mode: str = "RGB") -> Image.Image:
    """The decoded image turned by its EXIF orientation, transparency laid onto white,
    as `mode` (a transparent plate crop shows its background, not hidden colour)."""
    image = ImageOps.exif_transpose(image) or image
    has_alpha = image.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha and mode not in {"RGBA", "LA", "PA"}:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    return image if image.mode == mode else image.convert(mode)


def open_image(
    path: str | os.PathLike[str], mode: str = "RGB", max_pixels: int = MAX_PIXELS
) -> Image.Image:
    """The image at `path`, decoded in full and `upright` as `mode`; raises UnreadableImage
    (one line naming the file) for anything but a regular file, more than `max_pixels`
    and any decoding failure."""
    with limits.open_image(path, max_pixels) as image:
        image.load()
        return upright(image, mode)


def inside(root: Path, name: str, manifest: Path) -> Path:
    """`root / name` for a manifest's file entry `name`, refused (a KplateError) unless it
    names a file inside `root`: checked on the spelling, not by resolving links, so a
    manifest can never make kplate read outside its folder."""
    base = os.path.abspath(root)  # normalised, links not followed
    spelled = os.path.abspath(os.path.join(base, name))
    if "\x00" in name or not spelled.startswith(os.path.join(base, "")):
        raise KplateError(
            f"{manifest}: file name {name!r} points outside {root}; "
            "an entry that is outside the folder is never read"
        )
    return root / name


@dataclass(frozen=True)
class Labelled:
    """One manifest entry: `name` as written, `path` = root / name (checked inside root),
    `type` the plate type or None, `entry` the whole metadata.jsonl line (None for CSV)."""

    path: Path
    name: str
    text: str
    type: str | None
    entry: dict[str, Any] | None


def label_manifest(root: Path) -> Path | None:
    """The folder's manifest: metadata.jsonl (a kplate dataset), else labels.csv, else None."""
    return next((root / n for n in (METADATA, LABELS_CSV) if (root / n).is_file()), None)


def iter_labels(root: str | Path) -> Iterator[Labelled]:
    """The entries of a kplate dataset or a labels.csv folder, in manifest order.

    A missing column or field is a KeyError (a non-string file name a TypeError) for the
    caller to word; an entry outside the folder is a KplateError."""
    root = Path(root)
    manifest = label_manifest(root)
    if manifest is None:
        raise KplateError(f"{root}: no {METADATA} or {LABELS_CSV} found")
    if manifest.name == METADATA:
        for entry in iter_metadata(manifest):
            name = _string(entry["file_name"])
            path = inside(root, name, manifest)
            yield Labelled(path, name, entry["text"], entry.get("type") or None, entry)
        return
    with open(manifest, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            name = _string(row["file"])
            kind = next((row[c] for c in TYPE_COLUMNS if row.get(c)), None)
            yield Labelled(inside(root, name, manifest), name, row["text"], kind, None)


def _string(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"file name {name!r} is not a string")
    return name
