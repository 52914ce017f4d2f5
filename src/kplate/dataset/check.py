"""Decode every image before it enters a dataroot, so the trainer never meets a bad file.

Pillow's `verify()` does not notice a truncated JPEG, so each file is fully `load()`ed.
Decompression bombs (a small file that claims a huge size) are refused by a pixel limit
of our own and by Pillow's warning, turned into an error here.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from kplate.limits import MAX_PIXELS, check_pixels

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


def to_rgb(image: Image.Image) -> Image.Image:
    """Upright RGB pixels; transparency is flattened onto white, as a plate's background."""
    image = ImageOps.exif_transpose(image) or image
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def decode(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Decoded:
    """Check `data` by decoding it fully; raises `CorruptImage` with a short reason."""
    if not data:
        raise CorruptImage("empty file")
    digest = content_hash(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                too_large = check_pixels(image.width, image.height, max_pixels)
                if too_large is not None:
                    raise CorruptImage(f"too large ({too_large})")
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
                return Decoded(digest, ".png", to_rgb(image))
        except CorruptImage:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise CorruptImage("decompression bomb (claims too many pixels)") from None
        except Exception as error:  # any decoder failure means "not usable", never a crash
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise CorruptImage(f"cannot decode: {reason}") from None
