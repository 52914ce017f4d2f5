"""`kplate dataset` from the command line: new and old flags, summaries, and one-line errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kplate.cli import main
from kplate.pipeline import GenerateConfig, WriteOptions, write_dataset

REAL_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_dev"


def make_plain(root: Path, count: int, seed: int = 0, suffix: str = ".jpg") -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        pixels = rng.integers(0, 256, (12, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f"img{index:03d}{suffix}", format="JPEG")
    return root


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("syn") / "kplate-out"
    write_dataset(GenerateConfig(count=25, seed=5), WriteOptions(out=out, progress=False))
    return out


def load(out: Path) -> dict:
    return json.loads((out / "dataset.json").read_text(encoding="utf-8"))


def test_builds_dataroot_and_prints_summary(tmp_path: Path, synthetic: Path, capsys) -> None:
    real = make_plain(tmp_path / "real", 10)
    (real / "broken.jpg").write_bytes(b"\xff\xd8\xff")
    out = tmp_path / "root"
    assert (
        main(["dataset", "--synthetic", str(synthetic), "--real", str(real), "--out", str(out)])
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"dataroot {out}: trainA ")
    assert lines[1].startswith("skipped 1 unreadable files")
    assert sorted(p.name for p in out.iterdir()) == [
        "dataset.json",
        "skipped.txt",
        "testA",
        "testB",
        "trainA",
        "trainB",
    ]
    document = load(out)
    real_sources = {str(p.resolve()) for p in real.iterdir()}
    for split in ("trainB", "testB"):  # the old script filled testB with synthetic images
        assert all(e["source"] in real_sources for e in document["splits"][split])
    for split in ("trainA", "testA"):
        assert all(
            e["source"].startswith(str(synthetic.resolve())) for e in document["splits"][split]
        )

    assert (
        main(["dataset", "--synthetic", str(synthetic), "--real", str(real), "--out", str(out)])
        == 0
    )
    assert capsys.readouterr().out.strip() == f"{out}: up to date"


OLD_README_COMMAND = (
    'python make_dataset.py --in_im_paths "path/to/generated/synthetic_lps" '
    '--out_im_paths "path/to/real-life/images" --trainA "path/to/copy/synthetic/images" '
    '--trainB "path/to/copy/real-life/images" --type train'
)


def test_the_earlier_make_dataset_command_works_verbatim(
    tmp_path: Path, synthetic: Path, monkeypatch, capsys
) -> None:
    """The earlier README's line: --in_im_paths synthetic and --out_im_paths real sources,
    --trainA/--trainB the folders each domain is copied into (was: exit 2)."""
    import shlex
    import shutil

    monkeypatch.chdir(tmp_path)
    shutil.copytree(synthetic, "path/to/generated/synthetic_lps")
    make_plain(tmp_path / "path/to/real-life/images", 7, suffix=".JPG")
    argv = shlex.split(OLD_README_COMMAND)[2:]
    assert main(["dataset", *argv]) == 0
    copied_a = tmp_path / "path/to/copy/synthetic/images"
    copied_b = tmp_path / "path/to/copy/real-life/images"
    images_a = sorted(p.name for p in copied_a.glob("*.jpg"))
    assert images_a == [f"{i:06d}.jpg" for i in range(25)]
    assert len(list(copied_b.glob("*.jpg"))) == 7
    # Labels come along from the kplate output; the real crops had none.
    with open(copied_a / "labels.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    manifest = [json.loads(line) for line in (synthetic / "metadata.jsonl").open(encoding="utf-8")]
    assert sorted(r["text"] for r in rows) == sorted(e["text"] for e in manifest)
    assert not (copied_b / "labels.csv").exists()
    record = json.loads((copied_b / "domain.json").read_text(encoding="utf-8"))
    assert record["options"]["type"] == "train"
    assert record["source"] == str((tmp_path / "path/to/real-life/images").resolve())
    # Every copied real image is one of the sources, byte for byte.
    sources = {p.read_bytes() for p in (tmp_path / "path/to/real-life/images").iterdir()}
    assert {p.read_bytes() for p in copied_b.glob("*.jpg")} == sources
    capsys.readouterr()
    assert main(["dataset", *argv]) == 0
    assert capsys.readouterr().out.count("up to date") == 2
    # The same command for the test phase needs --overwrite on these folders...
    test_argv = [*argv[:-1], "test"]
    assert main(["dataset", *test_argv]) == 2
    # ...and --num_imgs is obeyed, as a seeded sample.
    assert main(["dataset", *test_argv, "--num_imgs", "3", "--overwrite"]) == 0
    assert len(list(copied_a.glob("*.jpg"))) == 3 and len(list(copied_b.glob("*.jpg"))) == 3
    # Nothing is left beside the destinations: no build copy, no old copy, no lock.
    assert sorted(p.name for p in copied_a.parent.iterdir()) == ["images"]
    assert sorted(p.name for p in copied_b.parent.iterdir()) == ["images"]


def test_old_copy_form_never_replaces_a_folder_kplate_did_not_write(
    tmp_path: Path, synthetic: Path
) -> None:
    real = make_plain(tmp_path / "real", 4)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "photo.jpg").write_bytes(b"user data")
    argv = ["dataset", "--in_im_paths", str(synthetic), "--out_im_paths", str(real)]
    argv += ["--trainA", str(mine), "--trainB", str(tmp_path / "b"), "--overwrite"]
    assert main(argv) == 2
    assert [p.name for p in mine.iterdir()] == ["photo.jpg"]
    assert not (tmp_path / "b").exists()
    inside = ["--trainA", str(real / "copy"), "--trainB", str(tmp_path / "b")]
    assert main([*argv[:5], *inside]) == 2
    assert not (real / "copy").exists()
    assert main([*argv[:5], "--trainA", str(tmp_path / "a")]) == 2  # --trainB missing


def test_old_source_flags_are_aliases_of_the_new_ones(
    tmp_path: Path, synthetic: Path, capsys
) -> None:
    real = make_plain(tmp_path / "real", 12, suffix=".JPG")
    out = tmp_path / "root"
    argv = ["dataset", "--in_im_paths", str(synthetic), "--out_im_paths", str(real)]
    argv += ["--out", str(out), "--num_imgs", "6", "--type", "train"]
    assert main(argv) == 0
    counts = load(out)["counts"]
    assert (counts["trainA"], counts["trainB"], counts["testA"], counts["testB"]) == (6, 6, 0, 0)
    assert load(out)["options"]["type"] == "train"
    assert load(out)["options"]["synthetic"] == str(synthetic.resolve())
    assert load(out)["options"]["real"] == str(real.resolve())


def test_help_documents_the_old_flags(capsys) -> None:
    try:
        code = main(["dataset", "--help"])
    except SystemExit as exit_request:  # older `main` let argparse exit
        code = exit_request.code
    assert code in (0, None)
    text = capsys.readouterr().out
    for flag in ("--trainA", "--trainB", "--in_im_paths", "--out_im_paths", "--num_imgs", "--type"):
        assert flag in text
    assert "`--in_im_paths DIR` is the synthetic source" in " ".join(text.split())


def test_link_mode_from_the_command_line(tmp_path: Path, synthetic: Path) -> None:
    real = make_plain(tmp_path / "real", 5)
    out = tmp_path / "root"
    argv = ["dataset", "--synthetic", str(synthetic), "--real", str(real), "--out", str(out)]
    assert main([*argv, "--mode", "link"]) == 0
    entries = load(out)["splits"]["trainB"] + load(out)["splits"]["testB"]
    assert entries and all((out / e["file"]).is_symlink() for e in entries)
    assert all((out / e["file"]).resolve() == Path(e["source"]) for e in entries)


def _bad_inputs(tmp: Path, synthetic: Path) -> dict[str, tuple[list[str], str]]:
    real = make_plain(tmp / "real", 4)
    empty = tmp / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images here")
    junk = tmp / "junk"
    junk.mkdir()
    (junk / "a.jpg").write_bytes(b"")
    (junk / "b.png").write_bytes(b"not a png")
    a_file = tmp / "a_file"
    a_file.write_text("x")
    foreign = tmp / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    existing = tmp / "existing"
    assert (
        main(
            ["dataset", "--synthetic", str(synthetic), "--real", str(real), "--out", str(existing)]
        )
        == 0
    )
    syn, rl = ["--synthetic", str(synthetic)], ["--real", str(real)]
    out = ["--out", str(tmp / "new")]
    return {
        "missing synthetic": (["--synthetic", str(tmp / "nope"), *rl, *out], "no such folder"),
        "synthetic is a file": (["--synthetic", str(a_file), *rl, *out], "not a folder"),
        "empty real": ([*syn, "--real", str(empty), *out], "no images"),
        "unreadable real": ([*syn, "--real", str(junk), *out], "could be read"),
        "out is a file": ([*syn, *rl, "--out", str(a_file)], "not a folder"),
        "out is foreign": ([*syn, *rl, "--out", str(foreign)], "not a kplate dataroot"),
        "foreign even with overwrite": (
            [*syn, *rl, "--out", str(foreign), "--overwrite"],
            "not a kplate dataroot",
        ),
        "changed options": ([*syn, *rl, "--out", str(existing), "--seed", "4"], "--overwrite"),
        "no real": ([*syn, *out], "--real"),
        "no out": ([*syn, *rl], "--out"),
        "two synthetic": (
            [*syn, "--in_im_paths", str(real), *rl, *out],
            "--synthetic and --in_im_paths",
        ),
        "fraction": ([*syn, *rl, *out, "--test-fraction", "1.5"], "--test-fraction"),
        "max images": ([*syn, *rl, *out, "--num_imgs", "0"], "--max-images"),
    }


CASES = [
    "missing synthetic",
    "synthetic is a file",
    "empty real",
    "unreadable real",
    "out is a file",
    "out is foreign",
    "foreign even with overwrite",
    "changed options",
    "no real",
    "no out",
    "two synthetic",
    "fraction",
    "max images",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, synthetic: Path, capsys, case: str
) -> None:
    argv, expected = _bad_inputs(tmp_path, synthetic)[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    existing_json = (tmp_path / "existing" / "dataset.json").read_bytes()
    capsys.readouterr()
    assert main(["dataset", *argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("kplate dataset: error: ")
    assert expected in lines[0]
    assert "Traceback" not in captured.err and captured.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no dataroot, no temp folder
    assert (tmp_path / "existing" / "dataset.json").read_bytes() == existing_json
    assert (tmp_path / "foreign" / "thesis.tex").read_text() == "precious"


@pytest.mark.skipif(not REAL_DEV.is_dir(), reason="../shared/data/real_dev is not available")
def test_real_dev_crops_with_max_images(tmp_path: Path, synthetic: Path, capsys) -> None:
    out = tmp_path / "root"
    argv = ["dataset", "--synthetic", str(synthetic), "--real", str(REAL_DEV), "--out", str(out)]
    assert main([*argv, "--max-images", "50", "--mode", "link"]) == 0
    document = load(out)
    counts = document["counts"]
    assert counts["trainB"] + counts["testB"] == 50
    assert counts["trainA"] + counts["testA"] == 25
    with open(REAL_DEV / "labels.csv", encoding="utf-8-sig", newline="") as handle:
        labels = {str((REAL_DEV / r["file"]).resolve()): r["text"] for r in csv.DictReader(handle)}
    train = {e["text"] for e in document["splits"]["trainB"]}
    test = {e["text"] for e in document["splits"]["testB"]}
    assert not train & test
    for entry in document["splits"]["trainB"] + document["splits"]["testB"]:
        assert entry["text"] == labels[entry["source"]]
        target = out / entry["file"]
        assert target.is_file()
        if entry["stored"] == "link":
            assert target.resolve() == Path(entry["source"])
        else:
            with Image.open(target) as image:
                assert image.mode == "RGB"
    capsys.readouterr()
    assert main([*argv, "--max-images", "50", "--mode", "link"]) == 0
    assert capsys.readouterr().out.strip().endswith("up to date")
