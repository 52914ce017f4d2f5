"""`kplate types`: list the plate type ids, what each draws, and the old names they accept."""

from __future__ import annotations

import argparse

from kplate.spec.types import ALIASES, DESCRIPTIONS, PlateType


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "types",
        help="list the plate types",
        description="List every plate type id with its description and accepted aliases.",
    )
    parser.set_defaults(handler=run)


def type_lines() -> list[str]:
    """One line per type, so users can find the id to pass to --type without the docs."""
    aliases: dict[PlateType, list[str]] = {}
    for alias, plate_type in ALIASES.items():
        aliases.setdefault(plate_type, []).append(alias)
    width = max(len(t.value) for t in PlateType)
    lines = []
    for plate_type in PlateType:
        line = f"{plate_type.value:<{width}}  {DESCRIPTIONS[plate_type]}"
        if plate_type in aliases:
            line += f"  [aliases: {', '.join(aliases[plate_type])}]"
        lines.append(line)
    return lines


def run(args: argparse.Namespace) -> int:
    print("\n".join(type_lines()))
    return 0
