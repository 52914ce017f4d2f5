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
