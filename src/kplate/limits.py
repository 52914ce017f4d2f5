"""Every size limit on what kplate reads, and the one way each input is opened.

A hostile or mistaken input (a decompression bomb, `/dev/zero`, a FIFO that never ends, a
YAML alias bomb, a 10 GB "CSV") must give one line, never a hang or a MemoryError. So
files are stat()ed before they are opened: only regular files are opened at all, and only
up to a size limit; images are opened through `open_image`, which refuses more than
`MAX_PIXELS` before any pixel is decoded. docs/limits.md lists these limits.

`open_image` and `IMAGE_SUFFIXES` are the lowest level of image reading, here because
`render` (the glyph dir) comes before `io`; everything after `io` reads images through
`kplate.io.images`, which builds its one decoding policy on them.
"""

from __future__ import annotations

import contextlib
import os
import stat
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from kplate.errors import KplateError

MIB = 1 << 20

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
#: The file name endings of a YAML augmentation config that `kplate fit` writes.
YAML_SUFFIXES = (".yaml", ".yml")
"""The file names read as images, in any letter case (why no .tif: see kplate.io.images)."""

MAX_PIXELS = 40_000_000
"""Largest image decoded anywhere in kplate (width x height); plate crops are far smaller."""

MAX_IMAGE_BYTES = 256 * MIB
"""Largest image file read into memory whole (a 40 Mpixel uncompressed BMP is 120 MB)."""

MAX_CONFIG_BYTES = 1 * MIB
"""Largest YAML config file (the presets written out are about 2 KB)."""

MAX_CONFIG_NODES = 10_000
"""Most YAML nodes a config may hold once its aliases are expanded (a preset has ~200)."""

MAX_CSV_BYTES = 32 * MIB
"""Largest `--csv` plate list (about a million plates)."""

MAX_MANIFEST_LINE_BYTES = 1 * MIB
"""Longest metadata.jsonl line read (an entry with every augmentation is about 2 KB)."""

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFile(OSError):
    """A path that is not a regular file (or a link to one); it was not opened.

    An OSError, so that code which already reports unreadable files reports it too;
    `kind` says what it is ('a FIFO (named pipe)', 'a folder', ...)."""

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        super().__init__(0, f"{kind}, not a regular file; not opened", str(path))
        self.kind = kind


def describe_mode(mode: int) -> str:
    """'a FIFO (named pipe)', 'a character device', ... for a stat mode."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def regular_file_stat(path: str | os.PathLike[str]) -> os.stat_result:
    """stat() following links; raises NotRegularFile for anything but a regular file,
    and the OSError of stat() itself (missing, a link loop, no permission)."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise NotRegularFile(path, describe_mode(info.st_mode))
    return info


def read_limited(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or an OSError.

    Checked before opening (a FIFO or device is never opened) and again on the open file
    (it may have been swapped), and never reads more than `limit` + 1 bytes.
    """
    size = regular_file_stat(path).st_size
    if size > limit:
        raise _too_large(path, size, limit)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # swapped for something else since the stat above
            raise NotRegularFile(path, describe_mode(mode))
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise _too_large(path, len(data), limit)
    return data


def _too_large(path: str | os.PathLike[str], size: int, limit: int) -> OSError:
    return OSError(0, f"{size:,} bytes, over the {format_bytes(limit)} limit", str(path))


def format_bytes(count: int) -> str:
    return f"{count // MIB} MiB" if count >= MIB and count % MIB == 0 else f"{count:,} bytes"


def read_user_file(path: str | os.PathLike[str], limit: int, what: str) -> bytes:
    """`read_limited` for a file the user named: every failure is one KplateError line
    `PATH: ...` that says what was expected (`what`, e.g. "a CSV file")."""
    try:
        return read_limited(path, limit)
    except FileNotFoundError:
        raise KplateError(f"{path}: file not found") from None
    except NotRegularFile as error:
        raise KplateError(f"{path}: is {error.kind}, not {what}; not opened") from None
    except OSError as error:
        if error.errno == 0:  # over a limit
            raise KplateError(f"{path}: {error.strerror} for {what}") from None
        raise KplateError(f"{path}: cannot read ({error.strerror})") from None


def is_image_name(name: str | os.PathLike[str]) -> bool:
    """Whether a file name has one of the IMAGE_SUFFIXES (any letter case)."""
    return os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


class UnreadableImage(KplateError):
    """An image that cannot be used: missing, not a regular file, a bomb or undecodable.

    `kind` says which: "unreadable" (missing, not a regular file, no permission),
    "too large" (over the pixel limit; `detail` is "WxH pixels, limit N"), "bomb"
    (Pillow's own bomb check) or "undecodable" (`detail` is the decoder's reason)."""

    def __init__(
        self, path: str | os.PathLike[str], reason: str, kind: str = "unreadable", detail: str = ""
    ) -> None:
        self.path = Path(path)
        self.reason = reason
        self.kind = kind
        self.detail = detail or reason
        super().__init__(f"{path}: cannot read image ({reason})")


def utf8_text(raw: bytes, where: Callable[[int], str]) -> str:
    """`raw` as UTF-8 text (a byte-order mark is dropped); otherwise one line naming the
    line of the first bad byte, placed by `where(line)` (a CSV says `FILE:LINE`, a YAML
    config `FILE (line LINE)`)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise KplateError(
            f"{where(line)}: not UTF-8 text (byte 0x{raw[error.start]:02x})"
        ) from None


def check_pixels(width: int, height: int, limit: int = MAX_PIXELS) -> str | None:
    """Why an image of this size is refused, or None."""
    if width * height > limit:
        return f"{width}x{height} pixels, limit {limit}"
    return None


@contextlib.contextmanager
def open_image(
    source: str | os.PathLike[str] | BinaryIO, max_pixels: int = MAX_PIXELS
) -> Iterator[Image.Image]:
    """Image.open, refusing before any decoding what must not be read: a path that is not
    a regular file, and more than `max_pixels`. `source` may be bytes already read within
    a limit (a file object). Every decoding failure inside the block (truncated data, a
    decoder error) is an UnreadableImage naming the file."""
    if isinstance(source, str | os.PathLike):
        try:
            regular_file_stat(source)
        except OSError as error:
            raise UnreadableImage(source, error.strerror or type(error).__name__) from None
    name = source if isinstance(source, str | os.PathLike) else "<bytes>"
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(source) as image:
                reason = check_pixels(image.width, image.height, max_pixels)
                if reason is not None:
                    raise UnreadableImage(name, f"claims {reason}", "too large", reason)
                yield image
        except UnreadableImage:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            bomb = "decompression bomb (claims too many pixels)"
            raise UnreadableImage(name, bomb, "bomb") from None
        except (OSError, ValueError, SyntaxError, EOFError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise UnreadableImage(name, reason, "undecodable") from None
