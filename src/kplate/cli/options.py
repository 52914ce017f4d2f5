"""Options and helpers that several commands share; each command module imports them
from here (the package's `__init__` imports the command modules, so they cannot live there).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kplate.errors import KplateError


def parse_bool(value: str) -> bool:
    """Parse True/False/true/1/0/yes/no: the earlier scripts' `type=bool` made every value True."""
    lowered = value.strip().lower()
    if lowered in {"true", "1", "yes", "y", "on"}:
        return True
    if lowered in {"false", "0", "no", "n", "off"}:
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got '{value}'")


def add_glyph_options(parser: argparse.ArgumentParser) -> None:
    """The renderer's glyph options, shared by every command that draws plates."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--font", metavar="PATH", help="draw with this TTF/OTF font")
    group.add_argument(
        "--glyph-dir",
        "--glyph_dir",
        dest="glyph_dir",
        metavar="DIR",
        help="draw with glyph images in DIR/digits, DIR/letters, DIR/regions",
    )


def make_output_folder(out: Path) -> None:
    """Create `out` (and its parents), or say in one line why it cannot be."""
    if out.exists() and not out.is_dir():
        raise KplateError(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise KplateError(
            f"--out {out}: cannot create the folder ({error.strerror or error})"
        ) from None
