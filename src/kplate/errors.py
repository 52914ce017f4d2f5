"""Errors that reach the user as one line and exit code 2, never as a traceback."""


class KplateError(Exception):
    """A problem with the user's input or environment, reported as one line (exit code 2)."""

    exit_code = 2


class InvalidPlateError(KplateError, ValueError):
    """A plate string that the grammar rejects; `reason` says why in the spec's words."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"{text}: {reason}")


class MissingGlyphError(KplateError):
    """The chosen glyph source cannot draw a character that the plate needs."""


class OptionError(KplateError):
    """A bad value for one named option of the Python API. Its text names the parameter
    (`count must be 0 or more`); the command line names the flag instead (`--count ...`),
    so only the CLI speaks of `--flags`."""

    def __init__(self, option: str, template: str) -> None:
        self.option = option
        self.template = template  # with `{option}` where the name goes
        super().__init__(self.named(option))

    def named(self, flag: str) -> str:
        """The message with the option called `flag` (a plain replace: a value in the
        message may hold braces of its own, a path say)."""
        return self.template.replace("{option}", flag)
