"""`kplate preview` draws a sheet of augmentations (with real crops beside them on request)
and reports a bad preset or folder as one line with exit code 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kplate.cli import main

SHARED = next(
    (
        p
        for p in (Path("/work/shared"), Path(__file__).resolve().parents[2] / "shared")
        if p.is_dir()
    ),
    None,
)


def test_preview_writes_a_png_sheet(tmp_path, capsys) -> None:
    out = tmp_path / "sheet.png"
    argv = ["preview", "--augment", "heavy", "--count", "6", "--height", "48", "--out", str(out)]
    assert main(argv) == 0
    sheet = Image.open(out)
    assert sheet.format == "PNG" and sheet.width > 3 * 48 and sheet.height > 2 * 48
    assert "6 augmentations" in capsys.readouterr().out


def test_preview_is_deterministic_and_follows_the_seed(tmp_path) -> None:
    paths = [tmp_path / f"{name}.png" for name in ("a", "b", "c")]
    for path, seed in zip(paths, (1, 1, 2), strict=True):
        argv = ["preview", "--augment", "night", "--count", "3", "--height", "40"]
        assert main([*argv, "--seed", str(seed), "--out", str(path)]) == 0
    a, b, c = (np.asarray(Image.open(p)) for p in paths)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_preview_puts_real_crops_beside(tmp_path) -> None:
    real = tmp_path / "real" / "sub"
    real.mkdir(parents=True)
    for i, suffix in enumerate([".JPG", ".png", ".jpeg"]):
        Image.new("RGB", (90, 30), (40 * i, 90, 90)).save(real / f"crop{i}{suffix}")
    (real / "notes.txt").write_text("not an image", encoding="utf-8")
    plain, mixed = tmp_path / "plain.png", tmp_path / "mixed.png"
    base = ["preview", "--augment", "cctv", "--count", "4", "--height", "40", "--columns", "5"]
    assert main([*base, "--out", str(plain)]) == 0
    assert main([*base, "--real", str(tmp_path / "real"), "--out", str(mixed)]) == 0
    assert Image.open(mixed).height > Image.open(plain).height  # a row of 3 real crops more


def test_preview_rejects_a_bad_preset(tmp_path, capsys) -> None:
    assert main(["preview", "--augment", "medium", "--out", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown augmentation preset 'medium'" in err
    assert not (tmp_path / "s.png").exists()


def test_preview_rejects_an_empty_real_folder(tmp_path, capsys) -> None:
    out, real = tmp_path / "s.png", tmp_path / "real"
    real.mkdir()
    assert main(["preview", "--real", str(real), "--out", str(out)]) == 2
    assert "no images (bmp, jpeg, jpg, png, webp) found" in capsys.readouterr().err


@pytest.mark.skipif(SHARED is None, reason="shared real crops not available")
def test_preview_with_the_shared_real_crops(tmp_path) -> None:
    real = SHARED / "data" / "real_dev" / "images"
    if not real.is_dir():
        pytest.skip("no real_dev crops in the shared folder")
    out = tmp_path / "sheet.png"
    argv = ["preview", "--augment", "cctv", "--count", "4", "--height", "48"]
    assert main([*argv, "--real", str(real), "--out", str(out)]) == 0
    assert Image.open(out).width > 0
