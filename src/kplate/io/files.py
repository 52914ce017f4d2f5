"""Atomic file writes: write to a temporary name in the same folder, then rename.

A reader (or a resumed run) therefore sees either the whole file or none of it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image

from kplate.errors import KplateError

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask: from /proc, where it can be read without changing it, else by
    setting and restoring it once (the only portable way), under a lock."""
    with (
        contextlib.suppress(OSError, ValueError),
        open("/proc/self/status", encoding="ascii", errors="replace") as status,
    ):
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return _umask_by_setting()


@functools.cache
def _umask_by_setting() -> int:
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a plain `open()` would give a new file: 0o666 less the umask."""
    return 0o666 & ~current_umask()


def folder_mode() -> int:
    """The mode a plain `mkdir()` would give a new folder: 0o777 less the umask."""
    return 0o777 & ~current_umask()


@contextlib.contextmanager
def atomic_writer(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Stream into a temporary beside `path`, renamed over it only when the block succeeds.

    Any OSError (a full disk, say) removes the temporary and becomes a one-line
    KplateError naming `path`; any other exception removes it and propagates. The file
    gets the mode the user's umask gives any new file (mkstemp alone would make it 0600).
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise KplateError(f"{path.parent}: cannot write here ({error.strerror})") from None
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as raw:
            if "b" in mode:
                yield raw
            else:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                yield text
                text.flush()
                text.detach()
        os.replace(tmp, path)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise KplateError(f"{path}: write failed ({error.strerror or error})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` so that `path` is never seen half-written."""
    with atomic_writer(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def encode_image(image: np.ndarray | Image.Image, fmt: str, quality: int = 95) -> bytes:
    """Encode RGB pixels as JPEG or PNG bytes."""
    pil = Image.fromarray(image) if isinstance(image, np.ndarray) else image
    buffer = io.BytesIO()
    if fmt.lower() in {"jpg", "jpeg"}:
        pil.save(buffer, format="JPEG", quality=quality)
    else:
        pil.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def atomic_save_image(image: np.ndarray | Image.Image, path: str | Path, quality: int = 95) -> None:
    """Save an image atomically; the format follows the file extension."""
    path = Path(path)
    atomic_write_bytes(path, encode_image(image, path.suffix.lstrip(".") or "png", quality))


def discard_stdout() -> None:
    """Point stdout at /dev/null, so later prints (and the flush at exit) do not fail once
    whoever read it has gone (`kplate generate | head -1`)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file descriptor (a test's capture): nothing to redirect
