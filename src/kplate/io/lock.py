"""One writer per output folder: a second kplate process pointed at it refuses to start."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from kplate.errors import KplateError

LOCK_FILE = ".kplate.lock"


class DirectoryLock:
    """An advisory `flock` on `DIR/.kplate.lock`; the kernel drops it if the process dies,
    so a kill -9 never leaves a stale lock behind."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> DirectoryLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise KplateError(f"{self.path.parent}: cannot write here ({error.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise KplateError(
                f"{self.path.parent}: another kplate process is writing here; wait for it or "
                "choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
