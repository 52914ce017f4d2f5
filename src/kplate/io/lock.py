"""One writer per output: a second kplate process pointed at it refuses to start.

The lock is an advisory `flock` on a small file: `DIR/.kplate.lock` for an output folder,
or a hidden file beside an output that is replaced by a rename (a dataroot). The kernel
drops the lock when its process dies, so a kill -9 never leaves a stale lock behind.

The lock file is removed when the lock is let go, so a finished output holds only what
the command wrote. That is safe because a taker checks, once it holds the lock, that the
file it locked is still the one at the path (not one a finishing writer just unlinked);
if not, it tries again on the new file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from kplate.errors import KplateError, OptionError

LOCK_FILE = ".kplate.lock"
BUSY = "another kplate process is writing here; wait for it or choose another {option}"


class PathLock:
    """An exclusive, non-blocking `flock` on the file `path` (created if missing); `shown`
    is the output the lock stands for, as named in the one-line errors."""

    def __init__(self, path: Path, shown: Path | None = None, option: str = "out") -> None:
        self.path = Path(path)
        self.shown = Path(shown) if shown is not None else self.path.parent
        self.option = option  # the parameter that names the output, for the message
        self._fd: int | None = None

    def __enter__(self) -> PathLock:
        while self._fd is None:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise OptionError(self.option, f"{self.shown}: {BUSY}") from None
            if self._still_at_path(fd):
                self._fd = fd
            else:  # a finishing writer unlinked it between our open and our flock
                os.close(fd)
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"{os.getpid()}\n".encode())
        return self

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        except OSError as error:
            raise KplateError(f"{self.shown}: cannot write here ({error.strerror})") from None

    def _still_at_path(self, fd: int) -> bool:
        try:
            here = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        held = os.fstat(fd)
        return (here.st_dev, here.st_ino) == (held.st_dev, held.st_ino)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)  # still ours: takers re-check the path after locking
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class DirectoryLock(PathLock):
    """The lock of an output folder: `DIR/.kplate.lock`."""

    def __init__(self, folder: Path, option: str = "out") -> None:
        super().__init__(Path(folder) / LOCK_FILE, Path(folder), option)


def is_locked(path: Path) -> bool:
    """Whether a live process holds the lock file `path`; never creates it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def refuse_if_busy(folder: Path, option: str = "out") -> None:
    """The one-line refusal for a folder a live kplate process is writing, checked
    without creating anything there (so a refused folder gains no lock file)."""
    if is_locked(Path(folder) / LOCK_FILE):
        raise OptionError(option, f"{folder}: {BUSY}")


@contextlib.contextmanager
def claimed_folder(folder: Path, option: str = "out") -> Iterator[Path]:
    """Create `folder` when missing and hold its lock for the block.

    A folder this call created and that is still empty when the block fails is removed,
    so a refusal after the claim leaves no trace.
    """
    folder = Path(folder)
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise KplateError(f"{folder}: cannot create output folder ({error.strerror})") from None
    try:
        with DirectoryLock(folder, option):
            yield folder
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty: never removes what was written
        raise
