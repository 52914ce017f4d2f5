"""Decode every image before it enters a dataroot, so the trainer never meets a bad file.

Pillow's `verify()` does not notice a truncated JPEG, so each file is fully `load()`ed.
Decompression bombs (a small file that claims a huge size) are refused before decoding by
`kplate.limits.open_image`, the opener every image reader shares; pixels that must be
converted are made upright and flattened by `kplate.io.images.upright`.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image

from kplate.io.images import upright
from kplate.limits import MAX_PIXELS, UnreadableImage, open_image

KEPT_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "BMP": ".bmp", "WEBP": ".webp"}
"""Formats whose bytes are kept (copied or linked) when the pixels are already plain RGB."""

_EXIF_ORIENTATION = 0x0112


class CorruptImage(Exception):
    """A file that cannot become a training image; `str()` is the reason for the report."""


@dataclass(frozen=True)
class Decoded:
    """A checked image: its content hash and either 'keep the bytes' or converted pixels."""

    sha256: str
    suffix: str
    converted: Image.Image | None = None

    @property
    def keep_bytes(self) -> bool:
        return self.converted is None


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _reason(error: UnreadableImage) -> str:
    """The dataset report's wording of why an image was skipped."""
    if error.kind == "too large":
        return f"too large ({error.detail})"
    if error.kind == "bomb":
        return error.reason
    return f"cannot decode: {error.detail}"


def decode(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Decoded:
    """Check `data` by decoding it fully; raises `CorruptImage` with a short reason."""
    if not data:
        raise CorruptImage("empty file")
    digest = content_hash(data)
    try:
        with open_image(io.BytesIO(data), max_pixels) as image:
            image.load()
            orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
            plain = (
                image.mode == "RGB"
                and image.format in KEPT_FORMATS
                and orientation == 1
                and getattr(image, "n_frames", 1) == 1
            )
            if plain:
                return Decoded(digest, KEPT_FORMATS[str(image.format)])
            return Decoded(digest, ".png", upright(image, "RGB"))
    except UnreadableImage as error:
        raise CorruptImage(_reason(error)) from None
    except Exception as error:  # any decoder failure means "not usable", never a crash
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CorruptImage(f"cannot decode: {reason}") from None
