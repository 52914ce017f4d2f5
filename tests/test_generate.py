"""`kplate generate`: deterministic, shardable, resumable datasets with exact manifests."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import VOLATILE, tree_bytes
from kplate.cli import main
from kplate.io.manifest import read_metadata
from kplate.numbers import validate
from kplate.pipeline import GenerateConfig, WriteOptions, generate, write_dataset
from kplate.spec import PlateType

REPO = Path(__file__).resolve().parents[1]


def generated_bytes(root: Path) -> dict[str, bytes]:
    """Every file a run wrote that must be identical between equivalent runs."""
    return tree_bytes(root, VOLATILE | {"run.json"})


def run_cli(*args: str) -> int:
    return main(["generate", *args, "--progress", "False"])


def test_manifest_is_imagefolder_compatible_and_labels_agree(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("--count", "30", "--seed", "3", "--out", str(out)) == 0
    entries = read_metadata(out / "metadata.jsonl")
    assert [e["index"] for e in entries] == list(range(30))
    required = {
        "file_name",
        "text",
        "type",
        "width",
        "height",
        "seed",
        "fields",
        "chars",
        "augment",
    }
    for entry in entries:
        assert required <= entry.keys()
        image = Image.open(out / entry["file_name"])
        assert image.format == "JPEG"
        assert (image.width, image.height) == (entry["width"], entry["height"])
        assert not Path(entry["file_name"]).is_absolute() and entry["file_name"].isascii()
        number = validate(entry["text"], entry["type"])
        assert number.text == entry["text"] and number.fields() == entry["fields"]
        assert "".join(c["char"] for c in entry["chars"]) == entry["text"]
        for char in entry["chars"]:
            x0, y0, x1, y1 = char["box"]
            assert 0 <= x0 < x1 <= entry["width"] and 0 <= y0 < y1 <= entry["height"]
    with open(out / "labels.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["file"], r["text"], r["type"]) for r in rows] == [
        (e["file_name"], e["text"], e["type"]) for e in entries
    ]
    gt = (out / "gt.txt").read_text(encoding="utf-8").splitlines()
    assert gt == [f"{e['file_name']}\t{e['text']}" for e in entries]
    # Every image is listed exactly once, and nothing else sits in images/.
    on_disk = sorted(p.relative_to(out).as_posix() for p in (out / "images").rglob("*.jpg"))
    assert on_disk == sorted(e["file_name"] for e in entries)


def test_imagefolder_loads_the_output(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "out"
    assert run_cli("--count", "5", "--seed", "9", "--out", str(out)) == 0
    loaded = datasets.load_dataset("imagefolder", data_dir=str(out), split="train")
    entries = read_metadata(out / "metadata.jsonl")
    assert len(loaded) == 5
    assert sorted(loaded["text"]) == sorted(e["text"] for e in entries)
    first = loaded[0]
    assert first["image"].size == (first["width"], first["height"])
    assert [c["char"] for c in first["chars"]] == list(first["text"])


def test_same_seed_same_bytes_whatever_the_worker_count(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_cli("--count", "40", "--seed", "11", "--out", str(one)) == 0
    assert run_cli("--count", "40", "--seed", "11", "--workers", "2", "--out", str(two)) == 0
    assert generated_bytes(one) == generated_bytes(two)
    other = tmp_path / "other"
    assert run_cli("--count", "40", "--seed", "12", "--out", str(other)) == 0
    assert generated_bytes(one)["metadata.jsonl"] != generated_bytes(other)["metadata.jsonl"]


@pytest.mark.parametrize(
    "args",
    [
        ["--workers", "3"],  # lanes of types, several rounds
        [
            "--workers",
            "2",
            "--types",
            "electric,military,diplomatic,corporate",
            "--weights",
            "3,0,1,2",
        ],
        ["--workers", "3", "--types", "electric,diplomatic"],  # fewer types: one shared pool
    ],
    ids=["lanes", "weighted-lanes", "shared-pool"],
)
def test_workers_owning_types_write_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    """Workers that each render their own types (to fill fewer caches) must still give
    the single-process run's bytes, in index order, across rounds of work."""
    import kplate.pipeline.pool as pool_module

    monkeypatch.setattr(pool_module, "LANE_ROUND", 7)
    common = ["--count", "40", "--seed", "3", *args[2:]]
    one, many = tmp_path / "one", tmp_path / "many"
    assert run_cli(*common, "--out", str(one)) == 0
    assert run_cli(*common, *args[:2], "--out", str(many)) == 0
    assert generated_bytes(one) == generated_bytes(many)


def test_type_lanes_cover_every_drawn_type_once() -> None:
    from kplate.pipeline import random_type
    from kplate.pipeline.pool import _type_lanes

    for workers in (2, 3):
        config = GenerateConfig(count=200, seed=4, weights=tuple(range(len(PlateType))))
        lanes = _type_lanes(config, workers)
        assert lanes is not None
        owned = [t for lane in lanes[0] for t in lane]
        members = owned + ([lanes[1]] if lanes[1] is not None else [])
        drawn = [t for t, w in zip(config.types, config.weights, strict=True) if w > 0]
        assert sorted(members, key=str) == sorted(drawn, key=str)
        assert len(owned) == len(set(owned)) and lanes[1] not in owned
    made = [e["type"] for _, e in generate(config, range(60))]
    assert made == [random_type(config, i).value for i in range(60)]
    # One type outweighing all the others cannot be balanced: one shared pool instead.
    skewed = GenerateConfig(
        count=10,
        types=(PlateType.ELECTRIC, PlateType.DIPLOMATIC, PlateType.CORPORATE),
        weights=(10.0, 1.0, 1.0),
    )
    assert _type_lanes(skewed, 2) is None


def test_iterator_api_matches_the_written_dataset(tmp_path: Path) -> None:
    config = GenerateConfig(count=6, seed=5, types=(PlateType.ELECTRIC, PlateType.DIPLOMATIC))
    write_dataset(config, WriteOptions(out=tmp_path / "out", progress=False))
    written = read_metadata(tmp_path / "out" / "metadata.jsonl")
    for (image, entry), on_disk in zip(generate(config), written, strict=True):
        assert image.shape == (entry["height"], entry["width"], 3)
        assert entry["text"] == on_disk["text"] and entry["chars"] == on_disk["chars"]
        assert entry["type"] in {"electric", "diplomatic"}


def test_shards_merge_into_the_single_run(tmp_path: Path) -> None:
    single = tmp_path / "single"
    assert (
        run_cli("--count", "25", "--seed", "4", "--filenames", "label", "--out", str(single)) == 0
    )
    shards = []
    for index in range(3):
        shard = tmp_path / f"shard{index}"
        shards.append(str(shard))
        assert (
            run_cli(
                "--count",
                "25",
                "--seed",
                "4",
                "--filenames",
                "label",
                "--shard",
                f"{index}/3",
                "--out",
                str(shard),
            )
            == 0
        )
        assert len(read_metadata(shard / "metadata.jsonl")) == len(range(index, 25, 3))
    merged = tmp_path / "merged"
    assert main(["merge", *shards, "--out", str(merged)]) == 0
    assert generated_bytes(merged) == generated_bytes(single)


def test_label_file_names_with_duplicate_suffix(tmp_path: Path) -> None:
    plates = tmp_path / "plates.csv"
    plates.write_text("filename\n102가3456\n102가3456\n인천89바4871\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli("--csv", str(plates), "--filenames", "label", "--out", str(out)) == 0
    names = [e["file_name"] for e in read_metadata(out / "metadata.jsonl")]
    assert names == [
        "images/private_3digit/102가3456__private_3digit.jpg",
        "images/private_3digit/102가3456__private_3digit_1.jpg",
        "images/commercial_two_row/인천89바4871__commercial_two_row.jpg",
    ]


def test_csv_rows_give_one_image_each_with_the_full_text(tmp_path: Path) -> None:
    plates = tmp_path / "plates.csv"
    plates.write_text(
        "\ufeffplate,type\n12가3456,\n서울52바3108,commercial_long\n123가4568,basic_europe\n"
        "05육2107,military\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert run_cli("--csv", str(plates), "--out", str(out), "--format", "png") == 0
    entries = read_metadata(out / "metadata.jsonl")
    assert [(e["text"], e["type"]) for e in entries] == [
        ("12가3456", "private_2digit"),
        ("서울52바3108", "commercial_long"),
        ("123가4568", "private_3digit"),
        ("05육2107", "military"),
    ]
    assert all(e["file_name"].endswith(".png") for e in entries)


def test_earlier_project_flags_verbatim(tmp_path: Path, capsys) -> None:
    plates = tmp_path / "sample_lps.csv"
    plates.write_text("filename\n102가3456\n인천89바4871\n98마2478\n", encoding="utf-8")
    out = tmp_path / "from_csv"
    code = main(
        [
            "generate",
            "--data_path",
            str(plates),
            "--save_path",
            str(out),
            "--random=False",
            "--transformations=False",
            "--save=True",
        ]
    )
    assert code == 0
    entries = read_metadata(out / "metadata.jsonl")
    assert [e["text"] for e in entries] == ["102가3456", "인천89바4871", "98마2478"]
    assert all(e["augment"] is None for e in entries)
    out2 = tmp_path / "random"
    code = main(
        [
            "generate",
            "--save_path",
            str(out2),
            "--random=True",
            "--transformations=False",
            "--number_of_plates",
            "7",
        ]
    )
    assert code == 0
    assert len(read_metadata(out2 / "metadata.jsonl")) == 7
    # --save=False is a dry run: nothing is written.
    out3 = tmp_path / "dry"
    assert (
        main(["generate", "--save_path", str(out3), "--number_of_plates", "3", "--save=false"]) == 0
    )
    assert not out3.exists()
    # Unlike the old script's type=bool, 'False' really means False.
    assert main(["generate", "--save_path", str(tmp_path / "x"), "--random=False"]) == 2
    assert "needs --csv" in capsys.readouterr().err


def test_types_and_weights(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        run_cli(
            "--count", "60", "--types", "electric,green_old", "--weights", "1,0", "--out", str(out)
        )
        == 0
    )
    assert {e["type"] for e in read_metadata(out / "metadata.jsonl")} == {"electric"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--csv", "{missing}"], "file not found"),
        (["--count", "-3"], "--count must be 0 or more"),
        (["--types", "private_2digit,nonsense"], "unknown plate type 'nonsense'"),
        (["--weights", "1,2", "--types", "electric"], "--weights has 2 values for 1 types"),
        (["--workers", "0"], "--workers must be 1 or more"),
        (["--shard", "3/2"], "need 0 <= I < N"),
        (["--csv", "{csv}", "--count", "3"], "--count does not apply"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, capsys, args, message) -> None:
    good_csv = tmp_path / "ok.csv"
    good_csv.write_text("plate\n12가3456\n", encoding="utf-8")
    args = [a.format(missing=tmp_path / "nope.csv", csv=good_csv) for a in args]
    assert run_cli(*args, "--out", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out" / "metadata.jsonl").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty CSV"),
        (b"number,type\n12\xea\xb0\x803456,\n", "no 'plate' or 'filename' column"),
        (b"plate\n12\xb0\xa13456\n", ":2: not UTF-8 text"),
        (b"plate\n\n", "no plate rows"),
    ],
)
def test_bad_csv_files(tmp_path: Path, capsys, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    assert run_cli("--csv", str(path), "--out", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err and err.count("\n") == 1


def test_invalid_rows_are_all_reported_then_nothing_is_written(tmp_path: Path, capsys) -> None:
    path = tmp_path / "plates.csv"
    path.write_text("plate\n12가3456\n12가0000\n서룰12바3456\n12A3456\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli("--csv", str(path), "--out", str(out)) == 2
    captured = capsys.readouterr()
    assert f"{path}:3: '12가0000'" in captured.out and "serial 0000" in captured.out
    assert f"{path}:4: '서룰12바3456'" in captured.out and "서룰" in captured.out
    assert f"{path}:5: '12A3456'" in captured.out
    assert "3 invalid row(s)" in captured.err
    assert not out.exists()
    assert run_cli("--csv", str(path), "--out", str(out), "--skip-invalid") == 0
    assert [e["text"] for e in read_metadata(out / "metadata.jsonl")] == ["12가3456"]


def test_refuses_a_different_run_unless_overwrite(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert run_cli("--count", "3", "--out", str(out)) == 0
    assert run_cli("--count", "3", "--out", str(out)) == 0  # same run: already complete
    assert run_cli("--count", "4", "--out", str(out)) == 2
    assert "different kplate run" in capsys.readouterr().err
    assert run_cli("--count", "4", "--out", str(out), "--overwrite") == 0
    assert len(read_metadata(out / "metadata.jsonl")) == 4


def test_refuses_a_non_empty_foreign_folder(tmp_path: Path, capsys) -> None:
    (tmp_path / "mine.txt").write_text("user data")
    assert run_cli("--count", "2", "--out", str(tmp_path)) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "mine.txt").read_text() == "user data"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_out(tmp_path: Path, capsys) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    assert run_cli("--count", "2", "--out", str(locked / "out")) == 2
    assert "cannot create" in capsys.readouterr().err


def test_out_that_is_a_file(tmp_path: Path, capsys) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert run_cli("--count", "2", "--out", str(target)) == 2
    assert "cannot create output folder" in capsys.readouterr().err


def test_resume_after_torn_manifest_and_missing_image(tmp_path: Path) -> None:
    reference, broken = tmp_path / "reference", tmp_path / "broken"
    assert run_cli("--count", "20", "--seed", "8", "--out", str(reference)) == 0
    assert run_cli("--count", "20", "--seed", "8", "--out", str(broken)) == 0
    # Simulate a crash: torn last line, an image deleted mid-way, a stray temp file.
    manifest = broken / "metadata.jsonl"
    lines = manifest.read_bytes().split(b"\n")
    manifest.write_bytes(b"\n".join(lines[:12]) + b"\n" + lines[12][:25])
    (broken / read_metadata(manifest)[7]["file_name"]).unlink()
    (broken / "images" / ".000013.jpg.tmp").write_bytes(b"partial")
    (broken / "summary.json").unlink()
    (broken / "labels.csv").unlink()
    assert run_cli("--count", "20", "--seed", "8", "--out", str(broken)) == 0
    assert generated_bytes(broken) == generated_bytes(reference)


def test_second_process_on_the_same_folder_refuses(tmp_path: Path, capsys) -> None:
    from kplate.io.lock import DirectoryLock

    out = tmp_path / "out"
    out.mkdir()
    with DirectoryLock(out):
        assert run_cli("--count", "2", "--out", str(out)) == 2
    assert "another kplate process" in capsys.readouterr().err


def test_lmdb_holds_the_same_samples(tmp_path: Path) -> None:
    lmdb = pytest.importorskip("lmdb")
    out = tmp_path / "out"
    assert run_cli("--count", "5", "--out", str(out), "--lmdb") == 0
    entries = read_metadata(out / "metadata.jsonl")
    env = lmdb.open(str(out / "lmdb"), readonly=True, lock=False)
    with env.begin() as txn:
        assert int(txn.get(b"num-samples")) == 5
        for number, entry in enumerate(entries, start=1):
            assert txn.get(f"label-{number:09d}".encode()).decode() == entry["text"]
            assert (
                txn.get(f"image-{number:09d}".encode()) == (out / entry["file_name"]).read_bytes()
            )


def test_summary_reports_counts_per_type(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert run_cli("--count", "12", "--types", "electric,corporate", "--out", str(out)) == 0
    printed = capsys.readouterr().out
    assert "12 plates" in printed and "plates/s" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["count"] == 12 and sum(summary["per_type"].values()) == 12


def test_default_height_and_fixed_size(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        run_cli(
            "--count",
            "4",
            "--types",
            "private_short",
            "--height",
            "64",
            "--width",
            "160",
            "--out",
            str(out),
        )
        == 0
    )
    for entry in read_metadata(out / "metadata.jsonl"):
        image = np.asarray(Image.open(out / entry["file_name"]))
        assert image.shape == (64, 160, 3)
