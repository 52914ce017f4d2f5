"""Issue #9 for `kplate evaluate recognition|realism|preservation`: a missing folder, an
empty labels.csv, a label outside the plate alphabet and a manifest entry that points
outside its folder are one line with exit code 2 and no report; a corrupt image is
skipped and counted in the report. Training is cut to 1-2 steps: only the handling of
the input is under test here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from helpers import one_error_line
from kplate.cli import main
from kplate.io.manifest import read_metadata


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("evaluate") / "synthetic"
    assert main(["generate", "--count", "8", "--seed", "2", "--height", "32", "--out", str(out),
                 "--progress", "False"]) == 0  # fmt: skip
    return out


def copy_of(dataset: Path, target: Path) -> Path:
    shutil.copytree(dataset, target)
    return target


def csv_folder(dataset: Path, target: Path, rows: list[tuple[str, str]] | None = None) -> Path:
    """A labels.csv folder (file,text) with the dataset's images, or with the given rows."""
    target.mkdir(parents=True)
    entries = read_metadata(dataset / "metadata.jsonl")
    for entry in entries:
        source = dataset / entry["file_name"]
        shutil.copy(source, target / source.name)
    if rows is None:
        rows = [(Path(e["file_name"]).name, e["text"]) for e in entries]
    text = "file,text\n" + "".join(f"{f},{t}\n" for f, t in rows)
    (target / "labels.csv").write_text(text, encoding="utf-8")
    return target


def command(stage: str, good: Path, bad: Path, out: Path) -> list[str]:
    """The stage with `bad` in the place under test and `good` elsewhere."""
    if stage == "recognition":
        return ["evaluate", "recognition", "--train", str(good), "--test", str(bad),
                "--out", str(out), "--steps", "1"]  # fmt: skip
    if stage == "realism":
        return ["evaluate", "realism", "--generated", str(bad), "--real", str(good),
                "--out", str(out), "--steps", "1"]  # fmt: skip
    return ["evaluate", "preservation", "--source", str(bad), "--translated", str(good),
            "--out", str(out), "--steps", "1"]  # fmt: skip


STAGES = ["recognition", "realism", "preservation"]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("kind", ["missing", "a-file"])
def test_missing_folder_is_one_line_and_no_report(
    dataset: Path, tmp_path: Path, capsys, stage: str, kind: str
) -> None:
    bad = tmp_path / "nope"
    if kind == "a-file":
        bad.write_text("x")
    out = tmp_path / "report"
    assert main(command(stage, dataset, bad, out)) == 2
    line = one_error_line(capsys, "evaluate")
    expected = "no such folder" if kind == "missing" else "not a folder"
    assert line == f"kplate evaluate: error: {bad}: {expected}"
    assert not out.exists()


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("content", ["", "file,text\n", "\ufefffile,text\r\n"],
                         ids=["zero-byte", "header-only", "bom-header-only"])  # fmt: skip
def test_empty_labels_csv_is_one_line_and_no_report(
    dataset: Path, tmp_path: Path, capsys, stage: str, content: str
) -> None:
    bad = tmp_path / "empty"
    bad.mkdir()
    (bad / "labels.csv").write_text(content, encoding="utf-8")
    out = tmp_path / "report"
    assert main(command(stage, dataset, bad, out)) == 2
    line = one_error_line(capsys, "evaluate")
    if stage == "realism":  # no labels needed, but no images either
        assert line == f"kplate evaluate: error: {bad}: no images found"
    else:
        assert line == f"kplate evaluate: error: {bad / 'labels.csv'}: no labelled images"
    assert not out.exists()


@pytest.mark.parametrize("stage", ["recognition", "preservation"])
@pytest.mark.parametrize("label", ["12가3456X", "12가 3456", "１2가3456"])
def test_label_outside_the_alphabet_is_one_line_naming_file_and_value(
    dataset: Path, tmp_path: Path, capsys, stage: str, label: str
) -> None:
    entries = read_metadata(dataset / "metadata.jsonl")
    rows = [(Path(e["file_name"]).name, e["text"]) for e in entries]
    rows[3] = (rows[3][0], label)
    bad = csv_folder(dataset, tmp_path / "labelled", rows)
    out = tmp_path / "report"
    assert main(command(stage, dataset, bad, out)) == 2
    line = one_error_line(capsys, "evaluate")
    assert f"{bad / 'labels.csv'}: {rows[3][0]}: label '{label}' has characters outside" in line
    assert not out.exists()


def _break(folder: Path, entries: list[dict], which: list[int]) -> list[str]:
    """Make some listed images unreadable: zero bytes, then truncated."""
    names = []
    for k, index in enumerate(which):
        path = folder / entries[index]["file_name"]
        path.write_bytes(b"" if k % 2 == 0 else path.read_bytes()[:50])
        names.append(entries[index]["file_name"])
    return names


def test_recognition_skips_and_counts_corrupt_test_images(
    dataset: Path, tmp_path: Path, capsys, one_thread
) -> None:
    broken = copy_of(dataset, tmp_path / "broken")
    entries = read_metadata(broken / "metadata.jsonl")
    _break(broken, entries, [1, 4])
    out = tmp_path / "report"
    assert main(command("recognition", dataset, broken, out)) == 0
    report = json.loads((out / "recognition.json").read_text(encoding="utf-8"))
    assert report["skipped"] == 2 and report["count"] == len(entries) - 2
    assert "(2 unreadable skipped)" in capsys.readouterr().out


def test_realism_skips_and_counts_corrupt_images(
    dataset: Path, tmp_path: Path, capsys, one_thread
) -> None:
    broken = copy_of(dataset, tmp_path / "broken")
    _break(broken, read_metadata(broken / "metadata.jsonl"), [0, 5, 6])
    out = tmp_path / "report"
    assert main(command("realism", dataset, broken, out)) == 0
    report = json.loads((out / "realism.json").read_text(encoding="utf-8"))
    assert report["skipped"] == {"generated": 3, "real": 0}
    assert report["images"] == {"generated": 5, "real": 8}


def test_preservation_skips_and_counts_corrupt_translated_images(
    dataset: Path, tmp_path: Path, capsys, one_thread
) -> None:
    translated = copy_of(dataset, tmp_path / "translated")
    _break(translated, read_metadata(translated / "metadata.jsonl"), [2])
    out = tmp_path / "report"
    assert main(["evaluate", "preservation", "--source", str(dataset), "--translated",
                 str(translated), "--out", str(out), "--steps", "1"]) == 0  # fmt: skip
    report = json.loads((out / "preservation.json").read_text(encoding="utf-8"))
    assert report["unreadable_pairs"] == 1 and report["pairs"] == 7


OUTSIDE = {
    "csv-dotdot": ("labels.csv", "file,text\n{good},12가3456\n../secret.png,12가3456\n"),
    "csv-inner-dotdot": ("labels.csv", "file,text\n{good},12가3456\nsub/../../secret.png,12가3456\n"),
    "csv-absolute": ("labels.csv", "file,text\n{good},12가3456\n{secret},12가3456\n"),
    "csv-nul": ("labels.csv", "file,text\n{good},12가3456\nsecret.png\x00,12가3456\n"),
    "jsonl-dotdot": ("metadata.jsonl",
                     '{{"file_name": "{good}", "text": "12가3456"}}\n'
                     '{{"file_name": "../secret.png", "text": "12가3456"}}\n'),
    "jsonl-absolute": ("metadata.jsonl",
                       '{{"file_name": "{good}", "text": "12가3456"}}\n'
                       '{{"file_name": "{secret}", "text": "12가3456"}}\n'),
}  # fmt: skip


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("case", sorted(OUTSIDE))
def test_manifest_entry_outside_the_folder_is_refused_and_never_read(
    dataset: Path, tmp_path: Path, capsys, monkeypatch, stage: str, case: str
) -> None:
    """Was: labels.csv `../secret.png` or an absolute path was read (and trained on, or
    scored) as if it were part of the dataset."""
    secret = tmp_path / "secret.png"
    Image.open(dataset / read_metadata(dataset / "metadata.jsonl")[0]["file_name"]).save(secret)
    folder = tmp_path / "folder"
    folder.mkdir()
    shutil.copy(secret, folder / "good.png")
    name, text = OUTSIDE[case]
    (folder / name).write_text(text.format(good="good.png", secret=secret), encoding="utf-8")
    opened: list[str] = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda fp, *a, **k: opened.append(str(fp)) or real_open(fp, *a, **k))  # fmt: skip
    out = tmp_path / "report"
    assert main(command(stage, dataset, folder, out)) == 2
    line = one_error_line(capsys, "evaluate")
    assert f"{folder / name}: file name " in line and f"points outside {folder}" in line, line
    assert not any("secret" in path for path in opened), "a file outside the folder was read"
    assert not out.exists()


def test_manifest_without_a_file_column_is_one_line(dataset: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "labels.csv").write_text("name,text\na.png,12가3456\n", encoding="utf-8")
    for stage in STAGES:
        assert main(command(stage, dataset, folder, tmp_path / "report")) == 2
        line = one_error_line(capsys, "evaluate")
        assert f"{folder / 'labels.csv'}: missing column or bad row" in line, line
