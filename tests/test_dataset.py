"""`kplate.dataset`: split by plate text, dedupe, decode checks, conversion, links, re-runs
and atomic builds. Every test builds small folders of its own under tmp_path."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kplate.dataset import (
    DATASET_JSON,
    SKIPPED_TXT,
    SPLITS,
    CorruptImage,
    DatasetOptions,
    Mode,
    Phase,
    build_dataset,
    decode,
    group_key,
    phase_of,
)
from kplate.dataset import build as build_module
from kplate.errors import KplateError
from kplate.pipeline import GenerateConfig, WriteOptions, write_dataset

SAFE_NAME = re.compile(r"^(train|test)[AB]/\d{6}\.(jpg|png|bmp|webp)$")


def make_image(path: Path, seed: int, mode: str = "RGB", fmt: str | None = None) -> Path:
    """A small image with unique pixels (so unique content hash) for `seed`."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (12, 40, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    if mode == "P":
        image = image.quantize(16)
    elif mode != "RGB":
        image = image.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=fmt or ("JPEG" if path.suffix.lower() in {".jpg", ".jpeg"} else None))
    return path


def make_labelled(root: Path, texts: list[str], per_text: int = 1, start: int = 0) -> Path:
    """A real-crops folder with labels.csv; each text photographed `per_text` times."""
    rows = []
    seed = 1000 + start * 10
    for number, text in enumerate(texts, start=start):
        for shot in range(per_text):
            name = f"images/p{number:04d}_{shot}.png"
            make_image(root / name, seed)
            seed += 1
            rows.append({"file": name, "text": text})
    existing = []
    if (root / "labels.csv").exists():
        with open(root / "labels.csv", encoding="utf-8", newline="") as handle:
            existing = list(csv.DictReader(handle))
    with open(root / "labels.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ["file", "text"])
        writer.writeheader()
        writer.writerows(existing + rows)
    return root


def make_plain(root: Path, count: int, start: int = 0) -> Path:
    for index in range(start, start + count):
        make_image(root / f"img{index:03d}.jpg", 5000 + index)
    return root


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("syn") / "kplate-out"
    write_dataset(GenerateConfig(count=30, seed=3), WriteOptions(out=out, progress=False))
    return out


def texts_for(count: int) -> list[str]:
    return [f"{10 + i}가{1000 + i}" for i in range(count)]


def load(out: Path) -> dict:
    return json.loads((out / DATASET_JSON).read_text(encoding="utf-8"))


def build(synthetic: Path, real: Path, out: Path, **kwargs) -> build_module.BuildResult:
    return build_dataset(DatasetOptions(synthetic=synthetic, real=real, out=out, **kwargs))


def side_of_texts(document: dict, letter: str) -> dict[str, set[str]]:
    sides: dict[str, set[str]] = {}
    for split in (f"train{letter}", f"test{letter}"):
        for entry in document["splits"][split]:
            sides.setdefault(entry["text"], set()).add(split[:-1])
    return sides


# -- splitting --------------------------------------------------------------------------


def test_split_is_by_text_never_both_sides(tmp_path: Path, synthetic: Path) -> None:
    real = make_labelled(tmp_path / "real", texts_for(40), per_text=3)
    out = tmp_path / "root"
    build(synthetic, real, out, test_fraction=0.5)
    document = load(out)
    sides = side_of_texts(document, "B")
    assert len(sides) == 40
    assert all(len(s) == 1 for s in sides.values()), "a plate text is on both sides"
    assert document["counts"]["trainB"] > 0 and document["counts"]["testB"] > 0
    # all three photos of each plate were kept, on one side
    assert document["counts"]["trainB"] + document["counts"]["testB"] == 120
    assert all(len(s) == 1 for s in side_of_texts(document, "A").values())


def test_split_keys_ignore_spaces_and_fall_back_to_content() -> None:
    assert group_key("12가 3456", "x") == group_key(" 12가3456 ", "y")
    assert group_key(None, "abc") == "sha256:abc"
    assert group_key("", "abc") == "sha256:abc"


def test_split_is_deterministic_and_stable_when_images_are_added(
    tmp_path: Path, synthetic: Path
) -> None:
    real = make_labelled(tmp_path / "real", texts_for(30))
    build(synthetic, real, tmp_path / "one", test_fraction=0.3, seed=7)
    build(synthetic, real, tmp_path / "two", test_fraction=0.3, seed=7)
    first, second = load(tmp_path / "one"), load(tmp_path / "two")
    assert first["splits"] == second["splits"]

    build(synthetic, real, tmp_path / "other", test_fraction=0.3, seed=8)
    assert side_of_texts(load(tmp_path / "other"), "B") != side_of_texts(first, "B")

    make_labelled(real, [f"{50 + i}나{2000 + i}" for i in range(30)], start=100)
    build(synthetic, real, tmp_path / "grown", test_fraction=0.3, seed=7)
    before, after = side_of_texts(first, "B"), side_of_texts(load(tmp_path / "grown"), "B")
    assert len(after) == 60
    assert {t: after[t] for t in before} == before


def test_phase_of_uses_text_and_seed_only() -> None:
    keys = [group_key(t, "") for t in texts_for(200)]
    tests = [k for k in keys if phase_of(k, 0, 0.2) is Phase.TEST]
    assert 15 < len(tests) < 65
    assert all(phase_of(k, 0, 0.0) is Phase.TRAIN for k in keys)
    assert [phase_of(k, 0, 0.2) for k in keys] == [phase_of(k, 0, 0.2) for k in keys]


# -- contents, counts, labels -------------------------------------------------------------


def test_counts_match_files_and_synthetic_labels_are_kept(tmp_path: Path, synthetic: Path) -> None:
    real = make_plain(tmp_path / "real", 12)
    out = tmp_path / "root"
    result = build(synthetic, real, out)
    document = load(out)
    for split in SPLITS:
        files = sorted(p.name for p in (out / split).iterdir())
        assert len(files) == document["counts"][split] == len(document["splits"][split])
        assert result.counts[split] == document["counts"][split]
    assert document["counts"]["trainA"] + document["counts"]["testA"] == 30
    assert document["counts"]["trainB"] + document["counts"]["testB"] == 12
    metadata = [
        json.loads(line) for line in (synthetic / "metadata.jsonl").read_text("utf-8").splitlines()
    ]
    by_source = {str((synthetic / e["file_name"]).resolve()): e["text"] for e in metadata}
    for entry in document["splits"]["trainA"] + document["splits"]["testA"]:
        assert entry["text"] == by_source[entry["source"]]
    for entry in document["splits"]["trainB"] + document["splits"]["testB"]:
        assert entry["text"] is None
        assert Path(entry["source"]).parent == real.resolve()


def test_max_images_caps_each_domain(tmp_path: Path, synthetic: Path) -> None:
    real = make_plain(tmp_path / "real", 20)
    out = tmp_path / "root"
    build(synthetic, real, out, max_images=7, test_fraction=0.3)
    counts = load(out)["counts"]
    assert counts["trainA"] + counts["testA"] == 7
    assert counts["trainB"] + counts["testB"] == 7
    build(synthetic, real, tmp_path / "phase", max_images=7, phase=Phase.TRAIN)
    counts = load(tmp_path / "phase")["counts"]
    assert counts["trainA"] == counts["trainB"] == 7
    assert counts["testA"] == counts["testB"] == 0


def test_identical_files_are_kept_once(tmp_path: Path, synthetic: Path) -> None:
    real = make_plain(tmp_path / "real", 5)
    (real / "copy.jpg").write_bytes((real / "img000.jpg").read_bytes())
    (real / "sub").mkdir()
    (real / "sub" / "again.jpg").write_bytes((real / "img001.jpg").read_bytes())
    out = tmp_path / "root"
    build(synthetic, real, out)
    document = load(out)
    assert document["counts"]["trainB"] + document["counts"]["testB"] == 5
    assert document["counts"]["duplicates"] == 2
    hashes = [e["sha256"] for s in ("trainB", "testB") for e in document["splits"][s]]
    assert len(hashes) == len(set(hashes))


def test_plain_folder_is_recursive_any_case_and_skips_hidden(
    tmp_path: Path, synthetic: Path
) -> None:
    real = tmp_path / "real"
    make_image(real / "a" / "b" / "deep.PNG", 1)
    make_image(real / "UPPER.JPG", 2)
    make_image(real / "x.JpEg", 3)
    make_image(real / "y.bmp", 4, fmt="BMP")
    make_image(real / "z.WEBP", 5, fmt="WEBP")
    make_image(real / ".hidden" / "h.jpg", 6)
    (real / "._UPPER.JPG").write_bytes(b"\0\5\26\7")
    (real / "notes.txt").write_text("not an image")
    out = tmp_path / "root"
    build(synthetic, real, out)
    document = load(out)
    sources = {Path(e["source"]).name for s in ("trainB", "testB") for e in document["splits"][s]}
    assert sources == {"deep.PNG", "UPPER.JPG", "x.JpEg", "y.bmp", "z.WEBP"}
    assert document["counts"]["skipped"] == 0


def test_output_names_are_safe_whatever_the_labels(tmp_path: Path, synthetic: Path) -> None:
    real = tmp_path / "real"
    make_image(real / "images" / "we ird;名前.png", 1)
    make_image(real / "images" / "b.png", 2)
    (real / "labels.csv").write_text(
        "file,text\nimages/we ird;名前.png,../../evil\nimages/b.png,/etc/passwd\n", "utf-8"
    )
    out = tmp_path / "root"
    build(synthetic, real, out)
    document = load(out)
    for split in SPLITS:
        for entry in document["splits"][split]:
            assert SAFE_NAME.match(entry["file"]), entry["file"]
    texts = {e["text"] for s in ("trainB", "testB") for e in document["splits"][s]}
    assert texts == {"../../evil", "/etc/passwd"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real", "root"]


# -- checking and converting ---------------------------------------------------------------


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG signature and header that claims a huge size."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + ihdr + end


def test_corrupt_files_are_skipped_and_reported(tmp_path: Path, synthetic: Path, capsys) -> None:
    real = make_plain(tmp_path / "real", 4)
    (real / "empty.jpg").write_bytes(b"")
    good = (real / "img000.jpg").read_bytes()
    (real / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (real / "random.png").write_bytes(np.random.default_rng(0).bytes(2000))
    (real / "bomb.png").write_bytes(bomb_png(60000, 60000))
    make_image(real / "FINE.JPG", 77)
    out = tmp_path / "root"
    result = build(synthetic, real, out)
    document = load(out)
    reasons = {Path(s["source"]).name: s["reason"] for s in document["skipped"]}
    assert set(reasons) == {"empty.jpg", "truncated.jpg", "random.png", "bomb.png"}
    assert reasons["empty.jpg"] == "empty file"
    assert "bomb" in reasons["bomb.png"] or "too large" in reasons["bomb.png"]
    assert document["counts"]["skipped"] == 4 == len(result.skipped)
    assert document["counts"]["trainB"] + document["counts"]["testB"] == 5
    report = (out / SKIPPED_TXT).read_text("utf-8").splitlines()
    assert len(report) == 4 and all(line.startswith("B\t") for line in report)
    assert "skipped 4 unreadable files" in result.lines()[1]


def test_decode_refuses_bombs_and_truncation() -> None:
    with pytest.raises(CorruptImage, match=r"bomb|too large"):
        decode(bomb_png(60000, 60000))
    buffer = io.BytesIO()
    Image.new("RGB", (100, 100), (1, 2, 3)).save(buffer, format="PNG")
    assert decode(buffer.getvalue()).keep_bytes
    with pytest.raises(CorruptImage, match="too large"):
        decode(buffer.getvalue(), max_pixels=99 * 100)
    noisy = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (200, 200, 3), np.uint8)).save(
        noisy, format="JPEG"
    )
    data = noisy.getvalue()
    Image.open(io.BytesIO(data[: len(data) // 2])).verify()  # verify() alone lets it through
    with pytest.raises(CorruptImage):
        decode(data[: len(data) // 2])


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "CMYK"])
def test_non_rgb_images_are_converted(tmp_path: Path, synthetic: Path, mode: str) -> None:
    real = tmp_path / "real"
    source = make_image(real / ("odd.jpg" if mode == "CMYK" else "odd.png"), 9, mode=mode)
    make_image(real / "plain.png", 10)
    out = tmp_path / "root"
    build(synthetic, real, out, mode=Mode.LINK)
    entries = {
        Path(e["source"]).name: e for s in ("trainB", "testB") for e in load(out)["splits"][s]
    }
    odd = entries["odd.jpg" if mode == "CMYK" else "odd.png"]
    assert odd["stored"] == "converted" and odd["file"].endswith(".png")
    written = out / odd["file"]
    assert not written.is_symlink()
    with Image.open(written) as image:
        assert image.mode == "RGB" and image.size == (40, 12)
    with Image.open(source) as original:
        assert original.mode == mode
    assert entries["plain.png"]["stored"] == "link"


# -- link and copy modes --------------------------------------------------------------------


def test_copy_mode_keeps_bytes(tmp_path: Path, synthetic: Path) -> None:
    real = make_plain(tmp_path / "real", 6)
    out = tmp_path / "root"
    build(synthetic, real, out)
    for split in ("trainB", "testB"):
        for entry in load(out)["splits"][split]:
            target = out / entry["file"]
            assert not target.is_symlink() and entry["stored"] == "copy"
            assert target.read_bytes() == Path(entry["source"]).read_bytes()


def test_link_mode_points_at_sources(tmp_path: Path, synthetic: Path) -> None:
    real = make_plain(tmp_path / "real", 6)
    out = tmp_path / "root"
    result = build(synthetic, real, out, mode=Mode.LINK)
    document = load(out)
    links = 0
    for split in SPLITS:
        for entry in document["splits"][split]:
            target = out / entry["file"]
            assert target.is_symlink(), entry
            assert Path(os.readlink(target)) == Path(entry["source"]).resolve()
            links += 1
    assert links == 36 == result.stored["linked"]


def test_link_mode_falls_back_to_copy(tmp_path: Path, synthetic: Path, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "symlink", refuse)
    real = make_plain(tmp_path / "real", 6)
    out = tmp_path / "root"
    build(synthetic, real, out, mode=Mode.LINK)
    for split in ("trainB", "testB"):
        for entry in load(out)["splits"][split]:
            target = out / entry["file"]
            assert not target.is_symlink() and entry["stored"] == "copy"
            assert target.read_bytes() == Path(entry["source"]).read_bytes()


# -- re-runs and atomicity -------------------------------------------------------------------


def test_rerun_with_same_inputs_is_up_to_date(tmp_path: Path, synthetic: Path) -> None:
    real = make_plain(tmp_path / "real", 6)
    out = tmp_path / "root"
    build(synthetic, real, out, seed=2)
    before = (out / DATASET_JSON).stat()
    result = build(synthetic, real, out, seed=2)
    assert result.up_to_date and result.lines() == [f"{out}: up to date"]
    after = (out / DATASET_JSON).stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)

    with pytest.raises(KplateError, match="pass overwrite to rebuild it"):
        build(synthetic, real, out, seed=3)
    make_image(real / "new.png", 999)
    with pytest.raises(KplateError, match="pass overwrite to rebuild it"):
        build(synthetic, real, out, seed=2)
    result = build(synthetic, real, out, seed=2, overwrite=True)
    assert not result.up_to_date
    assert result.counts["trainB"] + result.counts["testB"] == 7


def test_type_builds_one_phase_then_adds_the_other(tmp_path: Path, synthetic: Path) -> None:
    real = make_labelled(tmp_path / "real", texts_for(20), per_text=2)
    full = tmp_path / "full"
    build(synthetic, real, full, test_fraction=0.4)
    out = tmp_path / "root"
    build(synthetic, real, out, test_fraction=0.4, phase=Phase.TRAIN)
    assert load(out)["counts"]["testB"] == 0 and load(out)["counts"]["trainB"] > 0
    build(synthetic, real, out, test_fraction=0.4, phase=Phase.TEST)
    merged = load(out)

    def sources(doc: dict) -> dict[str, set[str]]:
        return {s: {e["source"] for e in doc["splits"][s]} for s in SPLITS}

    assert sources(merged) == sources(load(full))
    for split in SPLITS:
        assert len(list((out / split).iterdir())) == merged["counts"][split]
    assert build(synthetic, real, out, test_fraction=0.4, phase=Phase.TEST).up_to_date
    with pytest.raises(KplateError, match="was built with seed 0"):
        build(synthetic, real, out, test_fraction=0.4, seed=5, phase=Phase.TEST, overwrite=True)


def test_failure_mid_build_leaves_nothing(tmp_path: Path, synthetic: Path, monkeypatch) -> None:
    real = make_plain(tmp_path / "real", 6)
    calls = {"n": 0}
    original = build_module.decode

    def failing(data: bytes):
        calls["n"] += 1
        if calls["n"] == 20:
            raise RuntimeError("disk on fire")
        return original(data)

    monkeypatch.setattr(build_module, "decode", failing)
    parent = tmp_path / "outputs"
    parent.mkdir()
    with pytest.raises(RuntimeError, match="disk on fire"):
        build(synthetic, real, parent / "root")
    assert list(parent.iterdir()) == []


def test_failure_during_overwrite_keeps_the_old_dataroot(
    tmp_path: Path, synthetic: Path, monkeypatch
) -> None:
    real = make_plain(tmp_path / "real", 6)
    parent = tmp_path / "outputs"
    out = parent / "root"
    build(synthetic, real, out)
    before = (out / DATASET_JSON).read_bytes()
    monkeypatch.setattr(
        build_module, "decode", lambda data: (_ for _ in ()).throw(RuntimeError("x"))
    )
    with pytest.raises(RuntimeError):
        build(synthetic, real, out, seed=9, overwrite=True)
    assert [p.name for p in parent.iterdir()] == ["root"]
    assert (out / DATASET_JSON).read_bytes() == before


def test_all_unreadable_domain_is_an_error_and_writes_nothing(
    tmp_path: Path, synthetic: Path
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.jpg").write_bytes(b"")
    (real / "b.png").write_bytes(b"junk")
    out = tmp_path / "root"
    with pytest.raises(KplateError, match="none of its 2 images"):
        build(synthetic, real, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real"]


def test_write_error_is_one_kplate_error_and_leaves_nothing(
    tmp_path: Path, synthetic: Path, monkeypatch
) -> None:
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", "somewhere")

    monkeypatch.setattr(build_module._Writer, "write", full)
    real = make_plain(tmp_path / "real", 3)
    with pytest.raises(KplateError, match="No space left on device"):
        build(synthetic, real, tmp_path / "root")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real"]
