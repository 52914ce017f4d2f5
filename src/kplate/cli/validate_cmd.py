"""`kplate validate TEXT [--type T]`: check one plate number and show how it is split."""

from __future__ import annotations

import argparse

from kplate.errors import InvalidPlateError, KplateError
from kplate.numbers import validate
from kplate.spec.types import parse_plate_type


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "validate",
        help="check a plate number against the grammar",
        description=(
            "Validate one plate number and print its parts, or one error line (exit 2). "
            "Without --type the type is inferred from the number's shape."
        ),
    )
    parser.add_argument("text", metavar="TEXT", help="plate number, e.g. 12가3456")
    parser.add_argument(
        "--type",
        dest="plate_type",
        metavar="T",
        default=None,
        help="plate type id or alias (see `kplate types`)",
    )
    parser.set_defaults(handler=run)


def _one_line(text: str) -> str:
    """The user's text as it can be shown inside a one-line error (repr if blank or odd)."""
    return text if text.strip() and text.isprintable() else repr(text)


def run(args: argparse.Namespace) -> int:
    if args.plate_type is not None:
        parse_plate_type(args.plate_type)  # unknown names fail here with the valid list
    try:
        number = validate(args.text, args.plate_type)
    except InvalidPlateError as error:
        raise KplateError(f"{_one_line(error.text)}: {error.reason}") from None
    rows = {
        "type": number.type.value,
        "text": number.text,
        **number.fields(),
        "warnings": "; ".join(number.warnings),
    }
    for key, value in rows.items():
        print(f"{key}: {value if value else '-'}")
    return 0
