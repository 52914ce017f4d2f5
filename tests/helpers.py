"""Helpers the test modules share (imported as `helpers`, like `killpoint`)."""

from __future__ import annotations

import importlib
import struct
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

#: The repository's tools/ folder: scripts, not a package, imported by file name.
TOOLS = Path(__file__).resolve().parents[1] / "tools"

#: What differs between equivalent runs: timings, and the pid of the last writer.
VOLATILE = frozenset({"summary.json", ".kplate.lock"})


def tree_bytes(root: Path, skip: frozenset[str] = VOLATILE) -> dict[str, bytes]:
    """Every file under `root` by relative path, but those in `skip`: what must be
    identical between equivalent runs."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).as_posix() not in skip
    }


def one_error_line(capsys, command: str, ignore: tuple[str, ...] = ()) -> str:
    """The single `kplate COMMAND: error: ...` line on stderr, with no traceback anywhere;
    lines starting with one of `ignore` (a start-up banner, say) are let through."""
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    lines = [line for line in captured.err.splitlines() if not line.startswith(ignore)]
    assert len(lines) == 1 and captured.err.endswith("\n"), captured.err
    assert lines[0].startswith(f"kplate {command}: error: ")
    return lines[0]


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """One torch thread: faster than two on a busy 2-core machine, and the same numbers
    every run."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def png_header(width: int, height: int) -> bytes:
    """A tiny valid PNG that claims width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


#: A tiny `kplate train` run (lite, height 24, 4 steps, a checkpoint every 2), for the
#: reliability tests that kill, lock or refuse training.
TINY_TRAIN = [
    "--profile", "lite", "--height", "24", "--batch-size", "2", "--num-patches", "16",
    "--steps", "4", "--save-every", "2", "--seed", "3", "--device", "cpu",
    "--log-every", "1", "--image-every", "100", "--no-progress",
]  # fmt: skip
#: The start-up line (model, data, steps) that `kplate train` prints before an error line.
TRAIN_STARTUP = ("cut (", "fastcut (")


def tool(name: str) -> ModuleType:
    """The script tools/NAME.py as a module, with sys.path left as it was."""
    sys.path.insert(0, str(TOOLS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(TOOLS))
