"""Reading plate strings from a CSV: `plate` (or the earlier project's `filename`) column and
an optional `type` (or `style`) column. Every problem names the file, the line and the value."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from kplate.errors import InvalidPlateError, KplateError
from kplate.limits import MAX_CSV_BYTES, read_user_file, utf8_text
from kplate.numbers import PlateNumber, validate

TEXT_COLUMNS = ("plate", "filename", "text")
MAX_FIELD = 64


@dataclass(frozen=True)
class CsvRow:
    line: int
    number: PlateNumber


@dataclass(frozen=True)
class BadRow:
    line: int
    value: str
    reason: str

    def message(self, path: Path) -> str:
        """One printable line: control characters (a newline in a quoted field or in the
        file's name) are escaped so the report stays one `FILE:LINE:` line per row."""
        return f"{_printable(str(path))}:{self.line}: '{_printable(self.value)}': {_printable(self.reason)}"


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _plate_text(value: str) -> str:
    """The earlier project stored plates as file names: strip folders and an image extension."""
    text = value.strip().replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = text.rpartition(".")
    if dot and ext.lower() in {"jpg", "jpeg", "png", "bmp", "webp"}:
        text = stem
    return text


def read_plate_csv(path: str | Path) -> tuple[list[CsvRow], list[BadRow]]:
    """Parse and validate every row; returns the good rows and the bad ones, in file order."""
    path = Path(path)
    # A regular file of at most MAX_CSV_BYTES: /dev/zero or a FIFO is refused, never read.
    raw = read_user_file(path, MAX_CSV_BYTES, "a CSV file")
    content = utf8_text(raw, lambda line: f"{path}:{line}")
    if "\x00" in content:
        line = content[: content.index("\x00")].count("\n") + 1
        raise KplateError(f"{path}:{line}: contains a NUL byte; not a text CSV")
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise KplateError(f"{path}: empty CSV (expected a header with a 'plate' column)") from None
    except csv.Error as error:
        raise KplateError(f"{path}:1: {error}") from None
    names = [h.strip().lower() for h in header]
    text_col = next((names.index(c) for c in TEXT_COLUMNS if c in names), None)
    if text_col is None:
        shown = ",".join(h.strip() for h in header)[:80]
        raise KplateError(f"{path}:1: no 'plate' or 'filename' column in the header '{shown}'")
    # `style` is the older name of `type` (real_dev's labels.csv), as in io.images.
    type_col = next((names.index(c) for c in ("type", "style") if c in names), None)
    good: list[CsvRow] = []
    bad: list[BadRow] = []
    last_line = reader.line_num
    try:
        for fields in reader:
            # A quoted field can span lines: report the line where the row starts.
            line, last_line = last_line + 1, reader.line_num
            if not any(f.strip() for f in fields):
                continue
            value = fields[text_col] if text_col < len(fields) else ""
            shown = value if len(value) <= MAX_FIELD else value[:MAX_FIELD] + "…"
            if len(value) > MAX_FIELD:
                bad.append(BadRow(line, shown, f"value is {len(value)} characters long"))
                continue
            type_name = (
                fields[type_col].strip() if type_col is not None and type_col < len(fields) else ""
            )
            try:
                number = validate(_plate_text(value), type_name or None)
            except InvalidPlateError as error:
                bad.append(BadRow(line, shown, error.reason))
                continue
            except KplateError as error:
                bad.append(BadRow(line, shown, str(error)))
                continue
            good.append(CsvRow(line, number))
    except csv.Error as error:
        raise KplateError(f"{path}:{reader.line_num}: {error}") from None
    if not good and not bad:
        raise KplateError(f"{path}: no plate rows after the header")
    return good, bad
