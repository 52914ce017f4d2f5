"""The `kplate` command line: a thin layer over the Python API, one module per command.

Every command module exposes `register(subparsers)`, which adds its parser and sets
`handler` to a function `(args) -> int`. Errors the user can fix are `KplateError`s:
`main` prints them as one line on stderr and returns exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from types import FrameType, ModuleType

from kplate import __version__
from kplate.errors import KplateError, OptionError
from kplate.extras import missing_extra


def _command_modules() -> list[ModuleType]:
    # Imported here, not at module level, so that `kplate --help` stays fast.
    from kplate.cli import (
        dataset_cmd,
        evaluate_cmd,
        fit_cmd,
        generate_cmd,
        preview_cmd,
        samples_cmd,
        train_cmd,
        translate_cmd,
        types_cmd,
        validate_cmd,
    )

    return [
        types_cmd,
        validate_cmd,
        samples_cmd,
        generate_cmd,
        preview_cmd,
        dataset_cmd,
        train_cmd,
        translate_cmd,
        evaluate_cmd,
        fit_cmd,
    ]


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"kplate {self.prog.split(' ', 1)[-1]}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kplate", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"kplate {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for module in _command_modules():
        module.register(subparsers)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (`docker stop`, `kill`): stops a command the way Ctrl-C does, so the same
    clean-up runs (workers stopped, no half-written file), then exit code 143."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM raises Terminated in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:  # --help, --version and usage errors
        return int(exit_request.code or 0)
    try:
        with _sigterm_as_interrupt():
            return int(args.handler(args) or 0)
    except KplateError as error:
        message = str(error)
        if isinstance(error, OptionError):
            message = error.named(lambda name: flag_of(parser, args.command, name))
        print(f"kplate {args.command}: error: {one_line(message)}", file=sys.stderr)
        return error.exit_code
    except Terminated:
        print(f"kplate {args.command}: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"kplate {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`kplate ... | head -1`): nothing to report.
        from kplate.io.files import discard_stdout  # only now: `kplate --help` stays light

        discard_stdout()
        return 0
    except ModuleNotFoundError as error:
        missing = missing_extra(error)
        if missing is None:
            raise
        print(f"kplate {args.command}: error: {missing}", file=sys.stderr)
        return missing.exit_code


def flag_of(parser: argparse.ArgumentParser, command: str, option: str) -> str:
    """The flag by which `command` takes the API's parameter `option` (its argparse dest),
    in its first spelling (`--count`, not `--number_of_plates`), searched through the
    command's own sub-commands too; a positional argument, or a parameter no flag sets,
    keeps its name."""
    pending = [_subparser(parser, command)]
    while pending:
        current = pending.pop()
        for action in current._actions if current is not None else []:
            if action.dest == option:  # a positional argument keeps its name
                return action.option_strings[0] if action.option_strings else option
            if isinstance(action.choices, dict):  # the command's own sub-commands
                pending.extend(action.choices.values())
    return option


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser | None:
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        if isinstance(action.choices, dict) and command in action.choices:
            return action.choices[command]
    return None


def one_line(message: str, limit: int = 400) -> str:
    """Errors from libraries can span lines; the user gets one line, cut to a sane length."""
    flat = re.sub(r"\s*[\r\n]+\s*", " ", message).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
