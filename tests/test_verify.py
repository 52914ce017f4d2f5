"""`--verify`: a translated plate not read as its label is written as its source plate;
nothing the check found untrue is kept; the summary counts each outcome; bad use is one line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from kplate.cli import main
from kplate.evaluate.recogniser import CHARSET, CRNN, Recogniser
from kplate.gan.translate import translate_dataset
from kplate.gan.translator import Translator
from kplate.gan.verify import Verdict, Verifier
from kplate.io.manifest import read_metadata
from test_translate import make_model


class ScriptedReader:
    """Reads what it is told to, in call order (a stand-in for a recogniser)."""

    charset, height, width, module = CHARSET, 64, 128, torch.nn.Identity()

    def __init__(self, readings: list[str]) -> None:
        self.readings = list(readings)
        self.seen: list[np.ndarray] = []

    def read(self, images: Sequence[np.ndarray]) -> list[str]:
        self.seen.extend(images)
        out, self.readings = self.readings[: len(images)], self.readings[len(images) :]
        return out


def test_policy_keeps_what_reads_true_and_writes_the_source_otherwise() -> None:
    sources = [np.full((4, 8, 3), v, np.uint8) for v in (10, 20, 30, 40)]
    outputs = [np.full((4, 8, 3), v, np.uint8) for v in (11, 21, 31, 41)]
    entries = [{"text": "12가3456"}, {"text": "39나2764"}, {"text": None}, {"text": "11라2222"}]
    reader = ScriptedReader(["12가3456", "39나2769", "11라2222"])
    verifier = Verifier(reader)
    result = verifier.apply(sources, outputs, entries)
    assert len(reader.seen) == 3  # the unlabelled plate is not read
    assert [int(image[0, 0, 0]) for image, _ in result] == [11, 20, 31, 41]
    assert [record["kept"] for _, record in result] == [
        "translated", "source", "unchecked", "translated"
    ]  # fmt: skip
    assert result[1][1]["read"] == "39나2769"
    assert verifier.counts.to_dict() == {"translated": 2, "source": 1, "unchecked": 1}
    line = verifier.counts.line()
    assert "2 of 3 checked" in line and "1 replaced by their source" in line
    assert "1 unlabelled" in line


@pytest.fixture()
def synthetic(tmp_path: Path) -> Path:
    out = tmp_path / "synthetic"
    args = ["generate", "--count", "6", "--seed", "5", "--height", "32", "--out", str(out),
            "--progress", "False", "--format", "png",
            "--types", "private_2digit,commercial_two_row"]  # fmt: skip
    assert main(args) == 0
    return out


def untrained_reader(path: Path) -> Path:
    """A recogniser file whose reading matches no label: every plate fails the check."""
    torch.manual_seed(0)
    Recogniser(CRNN(len(CHARSET) + 1)).save(path)
    return path


def test_translate_dataset_never_keeps_a_label_its_check_found_untrue(
    tmp_path: Path, synthetic: Path
) -> None:
    checkpoint = make_model(tmp_path / "ckpt")
    labels = [e["text"] for e in read_metadata(synthetic / "metadata.jsonl")]
    readings = [text if i % 2 == 0 else "misread" for i, text in enumerate(labels)]
    translator, model = Translator.from_checkpoint(checkpoint, "cpu", batch_size=4)
    summary = translate_dataset(
        synthetic, tmp_path / "out", translator, model,
        verifier=Verifier(ScriptedReader(readings), "scripted"),
    )  # fmt: skip
    assert summary.verify.to_dict() == {"translated": 3, "source": 3, "unchecked": 0}
    assert "3 replaced by their source plate" in summary.lines()[-1]
    entries = read_metadata(tmp_path / "out" / "metadata.jsonl")
    direct = translator.translate(
        [np.asarray(Image.open(synthetic / e["file_name"])) for e in entries]
    )
    for i, entry in enumerate(entries):
        check = entry["translation"]["verify"]
        written = np.asarray(Image.open(tmp_path / "out" / entry["file_name"]).convert("RGB"))
        source = np.asarray(Image.open(synthetic / entry["file_name"]).convert("RGB"))
        if i % 2 == 0:
            assert check == {"kept": "translated", "read": entry["text"]}
            assert np.array_equal(written, direct[i])
        else:
            assert check["kept"] == "source" and check["read"] != entry["text"]
            assert np.array_equal(written, source)  # png: the source's own pixels
    summary_json = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary_json["verify"] == {"translated": 3, "source": 3, "unchecked": 0}
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["verify"] == {"reader": "scripted", "policy": "source"}


def test_cli_translate_verify_with_a_reader_that_reads_nothing_right(
    tmp_path: Path, synthetic: Path, capsys: pytest.CaptureFixture
) -> None:
    make_model(tmp_path / "ckpt")
    reader = untrained_reader(tmp_path / "reader.pt")
    args = ["translate", "--name", "tiny", "--checkpoints-dir", str(tmp_path / "ckpt"),
            "--input", str(synthetic), "--out", str(tmp_path / "out"), "--device", "cpu",
            "--verify", "--reader", str(reader)]  # fmt: skip
    assert main(args) == 0
    assert "verify: 0 of 6 checked plates" in capsys.readouterr().out
    for entry in read_metadata(tmp_path / "out" / "metadata.jsonl"):
        assert entry["translation"]["verify"]["kept"] == Verdict.SOURCE
        written = Image.open(tmp_path / "out" / entry["file_name"]).convert("RGB")
        source = Image.open(synthetic / entry["file_name"]).convert("RGB")
        assert np.array_equal(np.asarray(written), np.asarray(source))


def test_generate_translate_verify_falls_back_to_the_plain_plates(tmp_path: Path, capsys) -> None:
    """Every plate failing the check: the output is the untranslated run, byte for byte."""
    checkpoint = make_model(tmp_path / "ckpt")
    reader = untrained_reader(tmp_path / "reader.pt")
    common = ["generate", "--count", "5", "--seed", "3", "--height", "32", "--progress", "False"]
    assert main([*common, "--out", str(tmp_path / "plain")]) == 0
    verified = [*common, "--out", str(tmp_path / "v"), "--translate", str(checkpoint),
                "--device", "cpu", "--verify", "--reader", str(reader)]  # fmt: skip
    assert main(verified) == 0
    assert "verify: 0 of 5 checked plates" in capsys.readouterr().out
    plain = read_metadata(tmp_path / "plain" / "metadata.jsonl")
    for a, b in zip(plain, read_metadata(tmp_path / "v" / "metadata.jsonl"), strict=True):
        assert a["text"] == b["text"] and b["translation"]["verify"]["kept"] == "source"
        assert (tmp_path / "plain" / a["file_name"]).read_bytes() == (
            tmp_path / "v" / b["file_name"]
        ).read_bytes()
    run = json.loads((tmp_path / "v" / "run.json").read_text())
    assert run["config"]["verify"] == str(reader.resolve())
    plain_run = json.loads((tmp_path / "plain" / "run.json").read_text())
    assert "verify" not in plain_run["config"]


@pytest.mark.parametrize(
    ("command", "extra", "message"),
    [
        ("translate", ["--verify"], "--verify needs a plate reader: give --reader FILE"),
        ("translate", ["--verify", "--reader", "MISSING"], "--reader MISSING: no such recogniser"),
        ("translate", ["--verify", "--reader", "JUNK"], "not a kplate recogniser"),
        ("translate", ["--reader", "JUNK"], "--reader is used by --verify only"),
        ("generate", ["--verify"], "--verify checks translated plates: add --translate"),
        ("generate", ["--verify", "--translate", "MODEL"], "--verify needs a plate reader"),
        ("generate", ["--verify", "--translate", "MODEL", "--reader", "JUNK"], "not a kplate"),
    ],
)
def test_bad_verify_options_are_one_line_and_write_nothing(
    tmp_path: Path, synthetic: Path, capsys, command: str, extra: list[str], message: str
) -> None:
    checkpoint = make_model(tmp_path / "ckpt")
    (tmp_path / "JUNK").write_bytes(b"junk")
    names = {"MISSING": tmp_path / "MISSING", "JUNK": tmp_path / "JUNK", "MODEL": checkpoint}
    extra = [str(names.get(e, e)) for e in extra]
    message = message.replace("MISSING", str(tmp_path / "MISSING"))
    args = [command, "--out", str(tmp_path / "out")]
    if command == "translate":
        args += ["--name", "tiny", "--checkpoints-dir", str(tmp_path / "ckpt"), "--input",
                 str(synthetic)]  # fmt: skip
    else:
        args += ["--count", "2"]
    capsys.readouterr()
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_verify_finds_the_reader_beside_the_checkpoint(
    tmp_path: Path, synthetic: Path, capsys
) -> None:
    """A model trained with the text loss keeps its reader.pt; --verify uses it by default."""
    checkpoint = make_model(tmp_path / "ckpt")
    untrained_reader(checkpoint.parent / "reader.pt")
    args = ["translate", "--checkpoint", str(checkpoint), "--input", str(synthetic),
            "--out", str(tmp_path / "out"), "--device", "cpu", "--verify"]  # fmt: skip
    assert main(args) == 0
    assert "verify: 0 of 6 checked plates" in capsys.readouterr().out
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["verify"]["reader"] == str(checkpoint.parent / "reader.pt")
