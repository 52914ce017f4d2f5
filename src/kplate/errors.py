"""Errors that reach the user as one line and exit code 2, never as a traceback."""

from __future__ import annotations

from collections.abc import Callable


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
    """A bad value for a named option of the Python API. Its text names the parameter
    (`count must be 0 or more`); the command line names the flag instead (`--count ...`),
    so only the CLI speaks of `--flags`.

    `template` holds `{option}` where the option's name goes, and `{NAME}` for each other
    option it mentions (`also`)."""

    def __init__(self, option: str, template: str, also: tuple[str, ...] = ()) -> None:
        self.option, self.template, self.also = option, template, also
        super().__init__(self.named(lambda name: name))

    def named(self, flag_of: Callable[[str], str]) -> str:
        """The message with each option called by `flag_of(name)` (a plain replace: a
        value in the message may hold braces of its own, a path say)."""
        text = self.template.replace("{option}", flag_of(self.option))
        for name in self.also:
            text = text.replace("{" + name + "}", flag_of(name))
        return text


def option_error(template: str, **labels: str) -> KplateError:
    """An error whose `template` names options by `{key}`: each label is a parameter name
    (the CLI shows its flag) or, when a caller already speaks in flags, a `--flag` kept as
    it is. The first label is the option the error is about."""
    names = {key: label for key, label in labels.items() if not label.startswith("--")}
    text = template
    for key, label in labels.items():
        if label.startswith("--"):
            text = text.replace("{" + key + "}", label)
    if not names:
        return KplateError(text)
    primary = next(iter(names))
    text = text.replace("{" + primary + "}", "{option}")
    for key in list(names)[1:]:
        text = text.replace("{" + key + "}", "{" + names[key] + "}")
    return OptionError(names[primary], text, also=tuple(names[k] for k in list(names)[1:]))
