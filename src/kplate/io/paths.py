"""Where an output folder may go: never onto, into or around one of the command's inputs.

An output that overlaps an input is how `--overwrite` ends up deleting the data it was
about to read (`kplate translate --input D --out D`), and how a dataroot ends up holding
links into itself. Every command asks here, with all of its inputs, before it touches
the disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from kplate.errors import option_error


def real_path(path: Path) -> Path:
    """The absolute path with every existing link followed (a missing tail kept as given)."""
    return Path(os.path.realpath(os.path.abspath(path)))


def refuse_overlap(
    out: Path, inputs: Iterable[tuple[str, Path | None]], out_flag: str = "out"
) -> None:
    """Refuse an output that equals, lies inside or contains any input.

    `inputs` pairs each input's parameter name (or, from the CLI, its `--flag`) with its
    path (None for an option not given), so the one-line error names both options and
    both paths.
    """
    target = real_path(out)
    for flag, given in inputs:
        if given is None:
            continue
        source = real_path(given)
        if target == source:
            relation = "is"
        elif target.is_relative_to(source):
            relation = "lies inside"
        elif source.is_relative_to(target):
            relation = "contains"
        else:
            continue
        raise option_error(
            f"{{out}} {out}: {relation} the input {{input}} {given}; choose an output folder "
            "apart from every input",
            out=out_flag,
            input=flag,
        )
