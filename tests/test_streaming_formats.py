"""`--format webdataset` and `--format parquet`: shards of JPEGs and records that the
`webdataset` library and `datasets.load_dataset("webdataset"/"parquet")` read back as the
folder run's images and metadata.jsonl records, byte for byte; resumable shard by shard."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from PIL import Image

from helpers import VOLATILE, one_error_line, tree_bytes
from kplate.cli import main
from kplate.io.manifest import read_metadata

COUNT = 23
RUN = ["--count", str(COUNT), "--seed", "7", "--height", "40", "--augment", "light"]


def run_cli(*args: str) -> int:
    return main(["generate", *RUN, *args, "--progress", "False"])


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same run written as a folder: what every streaming shard must hold."""
    out = tmp_path_factory.mktemp("folder") / "out"
    assert run_cli("--out", str(out)) == 0
    return out


def expected(folder: Path) -> list[tuple[str, bytes, dict]]:
    """(key, image bytes, record as a shard holds it) per plate of the folder run."""
    rows = []
    for entry in read_metadata(folder / "metadata.jsonl"):
        image = (folder / entry["file_name"]).read_bytes()
        key = f"{entry['index']:06d}"
        rows.append((key, image, {**entry, "file_name": f"{key}.jpg"}))
    return rows


def test_webdataset_shards_hold_the_folder_run_read_by_the_webdataset_library(
    tmp_path: Path, folder_run: Path
) -> None:
    wds = pytest.importorskip("webdataset")
    out = tmp_path / "wds"
    assert run_cli("--format", "webdataset", "--shard-size", "10", "--out", str(out)) == 0
    shards = sorted(p.name for p in out.glob("shard-*.tar"))
    assert shards == ["shard-000000.tar", "shard-000001.tar", "shard-000002.tar"]
    assert not (out / "metadata.jsonl").exists() and not (out / "images").exists()
    urls = [str(out / name) for name in shards]
    samples = list(wds.WebDataset(urls, shardshuffle=False))
    got = [(s["__key__"], s["jpg"], json.loads(s["json"])) for s in samples]
    assert got == expected(folder_run)
    with tarfile.open(out / shards[2]) as tar:
        assert len(tar.getnames()) == 2 * (COUNT - 20)
        assert {(m.mtime, m.uid, m.gid, m.mode) for m in tar} == {(0, 0, 0, 0o644)}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] and summary["count"] == COUNT


def test_webdataset_shards_load_in_datasets(tmp_path: Path, folder_run: Path) -> None:
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "wds"
    assert run_cli("--format", "webdataset", "--shard-size", "10", "--out", str(out)) == 0
    loaded = datasets.load_dataset(
        "webdataset",
        data_files={"train": sorted(str(p) for p in out.glob("shard-*.tar"))},
        split="train",
        cache_dir=str(tmp_path / "cache"),
    )
    rows = expected(folder_run)
    assert len(loaded) == COUNT
    assert loaded["__key__"] == [key for key, _, _ in rows]
    for row, (_, image, record) in zip(loaded, rows, strict=True):
        # datasets types the json member from the first 5 samples and drops keys that
        # only later samples have (augmentation parameters vary; docs/scale.md): every
        # label key arrives whole.
        for key in ("file_name", "text", "type", "width", "height", "fields", "chars", "quad"):
            assert row["json"][key] == record[key], key
        assert (row["json"]["seed"], row["json"]["index"]) == (record["seed"], record["index"])
        assert row["jpg"].size == (record["width"], record["height"])
        assert row["jpg"].tobytes() == Image.open(io.BytesIO(image)).tobytes()


def test_parquet_shards_load_in_datasets_as_images_and_records(
    tmp_path: Path, folder_run: Path
) -> None:
    datasets = pytest.importorskip("datasets")
    pytest.importorskip("pyarrow")
    out = tmp_path / "pq"
    assert run_cli("--format", "parquet", "--shard-size", "8", "--out", str(out)) == 0
    files = sorted(str(p) for p in out.glob("shard-*.parquet"))
    assert len(files) == 3
    loaded = datasets.load_dataset(
        "parquet", data_files={"train": files}, split="train", cache_dir=str(tmp_path / "c")
    )
    assert isinstance(loaded.features["image"], datasets.Image)
    rows = expected(folder_run)
    assert len(loaded) == COUNT
    for row, (key, image, record) in zip(loaded, rows, strict=True):
        assert (row["key"], row["index"], row["text"], row["type"]) == (
            key,
            record["index"],
            record["text"],
            record["type"],
        )
        assert (row["width"], row["height"]) == (record["width"], record["height"])
        assert json.loads(row["json"]) == record
        assert row["image"].tobytes() == Image.open(io.BytesIO(image)).tobytes()
    raw = loaded.cast_column("image", datasets.Image(decode=False))
    assert [r["image"]["bytes"] for r in raw] == [image for _, image, _ in rows]


@pytest.mark.parametrize("layout", ["webdataset", "parquet"])
def test_workers_and_a_resumed_run_write_the_same_bytes(tmp_path: Path, layout: str) -> None:
    if layout == "parquet":
        pytest.importorskip("pyarrow")
    args = ("--format", layout, "--shard-size", "6")
    one = tmp_path / "one"
    assert run_cli(*args, "--out", str(one)) == 0
    two = tmp_path / "two"
    assert run_cli(*args, "--workers", "2", "--out", str(two)) == 0
    assert tree_bytes(two, VOLATILE) == tree_bytes(one, VOLATILE)
    # An interrupted run (say a cluster run): shards 0, 2 and 3 never finished (a
    # temporary left), no summary; the re-run makes them in two stretches.
    ext = "tar" if layout == "webdataset" else "parquet"
    for number in (0, 2, 3):
        (two / f"shard-00000{number}.{ext}").unlink()
    (two / "summary.json").unlink()
    (two / f".shard-000001.{ext}.abc123.tmp").write_bytes(b"half")
    kept = {p.name: p.stat().st_ino for p in two.glob("shard-*")}
    assert main(["generate", *RUN, *args, "--out", str(two), "--progress", "False"]) == 0
    assert tree_bytes(two, VOLATILE) == tree_bytes(one, VOLATILE)
    assert {p.name: p.stat().st_ino for p in two.glob("shard-*") if p.name in kept} == kept
    assert json.loads((two / "summary.json").read_text())["count"] == COUNT


def test_resume_reports_the_finished_shards(tmp_path: Path, capsys) -> None:
    out = tmp_path / "wds"
    args = ("--format", "webdataset", "--shard-size", "10", "--out", str(out))
    assert run_cli(*args) == 0
    (out / "shard-000002.tar").unlink()
    (out / "summary.json").unlink()
    capsys.readouterr()
    assert run_cli(*args) == 0
    assert f"{COUNT} plates in {out} (20 already there, 3 made now)" in capsys.readouterr().out


def test_overwrite_replaces_only_the_earlier_runs_shards(tmp_path: Path) -> None:
    out = tmp_path / "wds"
    assert run_cli("--format", "webdataset", "--shard-size", "5", "--out", str(out)) == 0
    assert len(list(out.glob("shard-*.tar"))) == 5
    assert (
        run_cli("--format", "webdataset", "--shard-size", "20", "--overwrite", "--out", str(out))
        == 0
    )
    assert sorted(p.name for p in out.glob("shard-*")) == ["shard-000000.tar", "shard-000001.tar"]


def test_a_folder_with_another_file_is_refused(tmp_path: Path, capsys) -> None:
    out = tmp_path / "wds"
    out.mkdir()
    (out / "shard-000000.tar").write_bytes(b"mine")
    assert run_cli("--format", "webdataset", "--out", str(out)) == 2
    assert "which kplate did not write" in one_error_line(capsys, "generate")
    assert (out / "shard-000000.tar").read_bytes() == b"mine"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--format", "webdataset", "--lmdb"],
            "--format webdataset writes no image files for --lmdb",
        ),
        (
            ["--format", "parquet", "--filenames", "label"],
            "--format parquet keys samples by index; --filenames label applies to folder",
        ),
        (["--shard-size", "5"], "--shard-size applies to --format webdataset or parquet only"),
        (["--format", "webdataset", "--shard-size", "0"], "--shard-size must be 1 to"),
    ],
)
def test_options_a_format_cannot_honour_are_one_line(
    tmp_path: Path, capsys, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    assert run_cli(*args, "--out", str(out)) == 2
    assert message in one_error_line(capsys, "generate")
    assert not out.exists()


def test_merge_refuses_streaming_shards(tmp_path: Path, capsys) -> None:
    parts = []
    for index in range(2):
        parts.append(str(tmp_path / f"p{index}"))
        args = ("--format", "webdataset", "--shard", f"{index}/2", "--out", parts[-1])
        assert run_cli(*args) == 0
    assert main(["merge", *parts, "--out", str(tmp_path / "m")]) == 2
    assert "a --format 'webdataset' run needs no merge" in one_error_line(capsys, "merge")
    assert not (tmp_path / "m").exists()
