"""`kplate validate TEXT [--type T] [--json]`: check one plate number and show how it is
split, every type the text is valid for, and (without --type) which one was picked and why."""

from __future__ import annotations

import argparse
import json

from kplate.errors import InvalidPlateError, KplateError
from kplate.numbers import candidates, explain, validate
from kplate.spec.types import parse_plate_type


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "validate",
        help="check a plate number against the grammar",
        description=(
            "Validate one plate number and print its parts, or one error line (exit 2). "
            "Without --type the type is inferred from the number's shape; the output lists "
            "every type the number is valid for and says why the inferred one was picked "
            "(a text such as 경기06조7425 fits more than one plate)."
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
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of lines"
    )
    parser.set_defaults(handler=run)


def _one_line(text: str) -> str:
    """The user's text as it can be shown inside a one-line error (repr if blank or odd)."""
    return text if text.strip() and text.isprintable() else repr(text)


def _candidates_and_reason(args: argparse.Namespace) -> tuple[list[str], str]:
    """Every type the text is valid for, and why this one: the type given, or the
    inference's reason (one pass of the grammar over every type either way)."""
    if args.plate_type is not None:
        return [t.value for t in candidates(args.text)], "given by --type"
    inference = explain(args.text)
    return [t.value for t in inference.candidates], inference.reason


def run(args: argparse.Namespace) -> int:
    if args.plate_type is not None:
        parse_plate_type(args.plate_type)  # unknown names fail here with the valid list
    try:
        number = validate(args.text, args.plate_type)
    except InvalidPlateError as error:
        raise KplateError(f"{_one_line(error.text)}: {error.reason}") from None
    valid, picked = _candidates_and_reason(args)
    others = [t for t in valid if t != number.type.value]
    if args.plate_type is None and others:
        picked += f"; also valid for {', '.join(others)} (give --type to choose)"
    fields = {
        "type": number.type.value,
        "text": number.text,
        **number.fields(),
        "warnings": "; ".join(number.warnings),
    }
    if args.json:
        record = {**fields, "warnings": list(number.warnings), "candidates": valid,
                  "picked": picked}  # fmt: skip
        print(json.dumps(record, ensure_ascii=False))
        return 0
    rows = {**fields, "candidates": ", ".join(valid), "picked": picked}
    for key, value in rows.items():
        print(f"{key}: {value if value else '-'}")
    return 0
