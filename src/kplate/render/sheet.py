"""Contact sheets: a grid of labelled images, for samples, previews and documentation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

LABEL_HEIGHT = 22
PAD = 8


def contact_sheet(
    items: Sequence[tuple[np.ndarray | Image.Image, str]],
    *,
    columns: int = 3,
    cell_height: int = 110,
    background: tuple[int, int, int] = (250, 250, 250),
) -> Image.Image:
    """Lay images out in a grid, each scaled to `cell_height` and captioned with its label."""
    if not items:
        raise ValueError("contact_sheet needs at least one image")
    images = [Image.fromarray(i) if isinstance(i, np.ndarray) else i for i, _ in items]
    scaled = [
        im.convert("RGB").resize((max(1, round(im.width * cell_height / im.height)), cell_height))
        for im in images
    ]
    cell_w = max(im.width for im in scaled)
    columns = max(1, min(columns, len(scaled)))
    rows = (len(scaled) + columns - 1) // columns
    sheet = Image.new(
        "RGB",
        (PAD + columns * (cell_w + PAD), PAD + rows * (cell_height + LABEL_HEIGHT + PAD)),
        background,
    )
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    for index, (image, (_, label)) in enumerate(zip(scaled, items, strict=True)):
        row, col = divmod(index, columns)
        x = PAD + col * (cell_w + PAD)
        y = PAD + row * (cell_height + LABEL_HEIGHT + PAD)
        draw.text((x, y), label, fill=(20, 20, 20), font=font)
        sheet.paste(image, (x + (cell_w - image.width) // 2, y + LABEL_HEIGHT))
    return sheet
