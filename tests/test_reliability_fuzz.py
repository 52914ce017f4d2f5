"""Issue #9, fuzzing the inputs: the plate grammar and the CSV reader under messy data.

Every CSV is built with a known expectation per row: a valid plate that only went through
harmless damage (spaces, zero-width characters, BOMs, NFD, a folder or an image extension,
a newline inside a quoted field) must be accepted with its canonical text; one that went
through harmful damage (full-width digit, lone jamo, Latin letter, wrong delimiter, a huge
field, an unknown type) must be rejected with a message naming its own `FILE:LINE:`.
Random Unicode rows have no expectation beyond "accepted and valid, or rejected with the
right line". Whole files in the wrong encoding or with the wrong delimiter are refused
with one line naming the file.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kplate.cli import main
from kplate.errors import InvalidPlateError, KplateError
from kplate.io.manifest import read_metadata
from kplate.io.naming import FileNaming, ImageFormat, file_name_for
from kplate.io.plate_csv import read_plate_csv
from kplate.numbers import normalize, sample, validate
from kplate.spec import PlateType

VALID = sorted(
    {(validate(sample(t, random.Random(i)), t).text, t.value) for t in PlateType for i in range(4)}
)
FULL_WIDTH = {str(d): chr(0xFF10 + d) for d in range(10)}
COMPAT_JAMO = [chr(c) for c in range(0x3131, 0x318F)]  # never compose with a syllable
INVISIBLE = ["\u200b", "\ufeff", "\u200d", "\u3000", "\xa0", "\t", " "]


@dataclass
class Row:
    cells: list[str]  # plate[, type]
    expected: str | None  # canonical text if it must be accepted; None if it must fail
    known: bool = True  # False: random content, no expectation on acceptance


def _insert(draw, text: str, piece: str) -> str:
    at = draw(st.integers(0, len(text)))
    return text[:at] + piece + text[at:]


@st.composite
def rows(draw, with_type: bool) -> Row:
    text, type_id = draw(st.sampled_from(VALID))
    kind = draw(st.sampled_from(["clean", "harmless", "harmful", "random", "blank"]))
    type_cell = draw(st.sampled_from([type_id, ""])) if with_type else None
    if kind == "blank":
        return Row(["", ""] if with_type else [""], None, known=False)
    if kind == "random":
        value = draw(st.text(max_size=30))
        return Row([value, type_cell] if with_type else [value], None, known=False)
    value = text
    expected: str | None = text
    if kind == "harmless":
        for _ in range(draw(st.integers(1, 3))):
            how = draw(st.sampled_from(["invisible", "newline", "nfd", "path", "pad"]))
            if how == "invisible":
                value = _insert(draw, value, draw(st.sampled_from(INVISIBLE)))
            elif how == "newline":
                value = _insert(draw, value, draw(st.sampled_from(["\n", "\r\n"])))
            elif how == "nfd":
                value = unicodedata.normalize("NFD", value)
            elif how == "pad":
                value = " " * draw(st.integers(0, 3)) + value + " " * draw(st.integers(0, 3))
        if draw(st.booleans()):
            folder = draw(st.sampled_from(["", "../../", "/abs/", "dir/sub/", "C:\\x\\"]))
            ext = draw(st.sampled_from(["", ".jpg", ".PNG", ".jpeg"]))
            value = folder + value.strip() + ext
    elif kind == "harmful":
        expected = None
        how = draw(
            st.sampled_from(["fullwidth", "jamo", "latin", "delimiter", "long", "huge", "quote"])
        )
        if how == "fullwidth":
            at = draw(st.sampled_from([i for i, c in enumerate(value) if c.isdigit()]))
            value = value[:at] + FULL_WIDTH[value[at]] + value[at + 1 :]
        elif how == "jamo":
            value = _insert(draw, value, draw(st.sampled_from(COMPAT_JAMO)))
        elif how == "latin":
            value = _insert(draw, value, draw(st.sampled_from("AbxZO")))
        elif how == "delimiter":
            value = value + draw(st.sampled_from([";", "; ", "|"])) + type_id
        elif how == "long":
            value = value + "0" * draw(st.integers(65, 3000))
        elif how == "huge":  # beyond the csv module's field limit: the file is refused
            value = value + "0" * 200_000
        elif how == "quote":
            value = _insert(draw, value, '"')
        if with_type and draw(st.integers(0, 4)) == 0:
            type_cell = "no_such_type"
    elif with_type and draw(st.integers(0, 6)) == 0:
        type_cell, expected = "no_such_type", None
    return Row([value, type_cell] if with_type else [value], expected)


def _cell(value: str) -> str:
    if value == "" or (not any(c in value for c in ',"\r\n') and value == value.strip()):
        return value
    return '"' + value.replace('"', '""') + '"'


def _line_breaks(text: str) -> int:
    """Line breaks as Python's universal newlines (and so csv's line_num) count them."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


@dataclass
class CsvCase:
    data: bytes
    rows: list[tuple[int, Row]]  # (line where the row starts, row), blank rows excluded
    whole_file_error: str | None  # a regex the single error must match, if the file is refused


@st.composite
def csv_files(draw) -> CsvCase:
    with_type = draw(st.booleans())
    header_name = draw(st.sampled_from(["plate", "Plate", " plate ", "filename", "text"]))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    header = header_name + (",type" if with_type else "")
    lines = [header]
    placed: list[tuple[int, Row]] = []
    line = 1 + _line_breaks(header)
    for row in draw(st.lists(rows(with_type), min_size=1, max_size=6)):
        if draw(st.integers(0, 4)) == 0:  # stray empty line
            lines.append("")
            line += 1
        serial = ",".join(_cell(c) for c in row.cells)
        lines.append(serial)
        if any(c.strip() for c in row.cells):
            placed.append((line + 1, row))
        line += 1 + _line_breaks(serial)
    text = eol.join(lines) + (eol if draw(st.booleans()) else "")
    encoding = draw(
        st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "cp949", "euc-kr", "utf-16"])
    )
    delimiter = draw(st.sampled_from([",", ",", ",", ";", "\t"])) if with_type else ","
    # The reader's order of checks: encoding, NUL, header, then the rows.
    if delimiter != ",":
        text = text.replace(",type", delimiter + "type", 1)
    encoding_error = False
    if encoding in {"cp949", "euc-kr", "utf-16"}:
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            data = text.encode("utf-8")
        else:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                encoding_error = True
            else:  # legacy bytes that happen to be valid UTF-8: no per-row expectation
                placed = [(line, Row(r.cells, None, known=False)) for line, r in placed]
    else:
        data = text.encode(encoding)
    whole: str | None = None
    if encoding_error:
        whole = r":\d+: not UTF-8 text"
    elif "\x00" in text:
        whole = r":\d+: contains a NUL byte"
    elif delimiter != ",":
        whole = r":1: no 'plate' or 'filename' column"
    elif any(len(c) > 131072 for _, r in placed for c in r.cells):
        whole = r":\d+: field larger than field limit"
    elif not placed:
        whole = r": no plate rows after the header"
    return CsvCase(data, placed, whole)


def _check_rows(path: Path, case: CsvCase, good, bad) -> None:
    """Each expected row lands on the right side, with its own line; none lost or doubled."""
    by_line = {row.line: row for row in good}
    bad_by_line = {row.line: row for row in bad}
    assert len(by_line) == len(good) and len(bad_by_line) == len(bad)
    assert sorted([*by_line, *bad_by_line]) == [line for line, _ in case.rows]
    for line, row in case.rows:
        if line in by_line:
            number = by_line[line].number
            assert row.known is False or row.expected == number.text, (line, row)
            assert validate(number.text, number.type) == number  # canonical, re-validates
            assert normalize(number.text) == number.text
        else:
            assert row.known is False or row.expected is None, (line, row, bad_by_line[line])
            message = bad_by_line[line].message(path)
            assert message.startswith(f"{path}:{line}: '")
            assert message.isprintable(), message  # one line, whatever the value held


@settings(max_examples=400, deadline=None)
@given(case=csv_files())
def test_csv_reader_accepts_or_rejects_every_row_by_line(case: CsvCase) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plates.csv"
        path.write_bytes(case.data)
        try:
            good, bad = read_plate_csv(path)
        except KplateError as error:
            assert case.whole_file_error is not None, str(error)
            assert re.match(re.escape(str(path)) + case.whole_file_error, str(error)), str(error)
            return
        assert case.whole_file_error is None, (case.whole_file_error, good, bad)
        _check_rows(path, case, good, bad)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=csv_files())
def test_generate_csv_exit_0_with_every_plate_or_exit_2_writing_nothing(
    case: CsvCase, capsys
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path, out = Path(folder) / "plates.csv", Path(folder) / "out"
        path.write_bytes(case.data)
        capsys.readouterr()
        code = main(["generate", "--csv", str(path), "--out", str(out), "--height", "24"])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err + captured.out
        assert code in (0, 2)
        try:
            expected_good, expected_bad = read_plate_csv(path)
        except KplateError:
            expected_good, expected_bad = None, None
        if code == 2:
            assert captured.err.count("\n") == 1 and captured.err.startswith("kplate generate:")
            assert not out.exists(), "a refused CSV must write nothing"
            assert expected_good is None or expected_bad, "refused a CSV with only good rows"
            for row in expected_bad or []:
                assert f"kplate generate: {row.message(path)}\n" in captured.out
            return
        assert expected_good and not expected_bad and captured.err == ""
        entries = read_metadata(out / "metadata.jsonl")
        assert [(e["text"], e["type"]) for e in entries] == [
            (r.number.text, r.number.type.value) for r in expected_good
        ]
        assert all((out / e["file_name"]).is_file() for e in entries)


# -- the grammar: whatever it accepts is a canonical plate that cannot become a path ----------

HOSTILE = st.sampled_from(["../", "..", "/", "\\", "\x00", ".", "~", "\n", ":", "*", "%2e"])


@settings(max_examples=500, deadline=None)
@given(
    base=st.sampled_from(VALID),
    pieces=st.lists(st.tuples(st.integers(0, 12), HOSTILE | st.text(max_size=3)), max_size=3),
    naming_type=st.none() | st.sampled_from(list(PlateType)),
)
def test_grammar_output_is_canonical_and_never_a_path(base, pieces, naming_type) -> None:
    text = base[0]
    for at, piece in pieces:
        text = text[:at] + piece + text[at:]
    try:
        number = validate(text, naming_type)
    except InvalidPlateError as error:
        assert error.reason and error.reason.isprintable(), repr(error.reason)
        return
    assert re.fullmatch(r"[0-9\uac00-\ud7a3-]+", number.text), number.text
    entry = {"text": number.text, "type": number.type.value, "index": 0}
    for naming in FileNaming:
        name = file_name_for(entry, naming, ImageFormat.JPEG, 6, Counter())
        parts = name.split("/")
        assert parts[0] == "images" and ".." not in parts and "" not in parts
        assert os.path.normpath(name) == name and not os.path.isabs(name)


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("../../12가3456", "12가3456"),  # the earlier project's paths: only the name is read
        ("/abs/12가3456", "12가3456"),
        ("C:\\data\\12가3456.jpg", "12가3456"),
        ("12가3456\x00x", None),
    ],
)
def test_path_like_csv_values_become_plain_labels_inside_out(
    tmp_path: Path, capsys, value: str, accepted: str | None
) -> None:
    path, out = tmp_path / "plates.csv", tmp_path / "deep" / "out"
    path.write_text(f"plate\n{_cell(value)}\n", encoding="utf-8")
    code = main(["generate", "--csv", str(path), "--out", str(out), "--filenames", "label"])
    before = {p for p in tmp_path.rglob("*") if not p.is_relative_to(out)}
    if accepted is None:
        assert code == 2 and ":2: contains a NUL byte" in capsys.readouterr().err
        assert not out.exists()
        return
    assert code == 0
    entries = read_metadata(out / "metadata.jsonl")
    assert [e["text"] for e in entries] == [accepted]
    assert entries[0]["file_name"] == f"images/private_2digit/{accepted}__private_2digit.jpg"
    assert {p for p in tmp_path.rglob("*") if not p.is_relative_to(out)} == before
    assert not (tmp_path / "12가3456").exists() and not Path("/abs").exists()


def test_bad_row_report_stays_on_one_line_per_row(tmp_path: Path, capsys) -> None:
    """Regression: a quoted value with a newline printed a report line that split in two,
    and the reported line was the row's last line, not the one where it starts."""
    path = tmp_path / "plates.csv"
    path.write_bytes('plate\n"12가\nXYZ"\n12가3456\n"ab\r\ncd"\n'.encode())
    assert main(["generate", "--csv", str(path), "--out", str(tmp_path / "out")]) == 2
    out_lines = capsys.readouterr().out.splitlines()
    assert out_lines == [
        f"kplate generate: {path}:2: '12가\\nXYZ': character 'X' (U+0058) is not allowed on "
        "Korean plates (Latin letters never appear on them)",
        f"kplate generate: {path}:5: 'ab\\r\\ncd': character 'a' (U+0061) is not allowed on "
        "Korean plates (Latin letters never appear on them)",
    ]
