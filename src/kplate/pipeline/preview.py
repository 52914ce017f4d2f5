"""`kplate preview`'s sheet: one plate under many sampled augmentations, with real crops
beside it when given, so an augmentation can be judged against the camera."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from kplate.errors import KplateError
from kplate.io.images import IMAGE_SUFFIXES, UnreadableImage, is_image_name, open_image
from kplate.pipeline.factory import plate_seed
from kplate.render import Renderer
from kplate.render.sheet import contact_sheet


def real_crops(folder: Path, limit: int, seed: int = 0) -> list[Image.Image]:
    """Up to `limit` real crops below `folder`, an even-handed seeded pick of all of them."""
    if not folder.is_dir():
        raise KplateError(f"{folder}: not a folder")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and is_image_name(p))
    if not files:
        shown = ", ".join(sorted(s.lstrip(".") for s in IMAGE_SUFFIXES))
        raise KplateError(f"{folder}: no images ({shown}) found")
    if len(files) > limit:
        picks = np.random.default_rng(seed).choice(len(files), size=limit, replace=False)
        files = [files[i] for i in sorted(picks)]
    crops = []
    for path in files:
        try:
            crops.append(open_image(path, "RGB"))
        except UnreadableImage:
            continue  # an unreadable file is skipped, not fatal: the sheet is for looking
    return crops


def preview_sheet(
    spec: str,
    text: str,
    plate_type: str | None,
    *,
    count: int,
    seed: int,
    height: int,
    columns: int = 4,
    real: list[Image.Image] | None = None,
    renderer: Renderer | None = None,
) -> Image.Image:
    """The clean plate, `count` augmentations of it and (optionally) real crops."""
    from kplate.augment import build_augmenter

    augmenter = build_augmenter(spec)
    renderer = renderer or Renderer()
    plate = renderer.render(text, plate_type, height=height)
    items: list[tuple[np.ndarray | Image.Image, str]] = [(plate.image, "clean")]
    for index in range(count):
        rng = np.random.default_rng(plate_seed(seed, index))
        image, _, _ = augmenter(plate.image, plate.record, rng)
        items.append((image, f"{augmenter.name} #{index}"))
    # Real crops come after the synthetic ones, so the two can be compared row by row.
    items.extend((crop, "real") for crop in real or [])
    cell = min(height, 96)
    return contact_sheet(items, columns=columns, cell_height=cell)
