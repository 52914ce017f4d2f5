"""`kplate samples` writes one image per type and a contact sheet, as `make demo` relies on."""

import numpy as np
from PIL import Image

from kplate.cli import main
from kplate.spec import GEOMETRY, PlateType


def test_samples_writes_every_type_and_a_contact_sheet(tmp_path, capsys) -> None:
    assert main(["samples", "--out", str(tmp_path), "--height", "64"]) == 0
    for plate_type in PlateType:
        image = np.asarray(Image.open(tmp_path / f"{plate_type.value}.png"))
        geo = GEOMETRY[plate_type]
        assert image.shape == (64, round(64 * geo.width / geo.height), 3)
    sheet = Image.open(tmp_path / "contact_sheet.png")
    assert sheet.width > 3 * 64 and sheet.height > 5 * 64
    assert f"{len(PlateType)} samples" in capsys.readouterr().out


def test_samples_rejects_unknown_type(tmp_path, capsys) -> None:
    assert main(["samples", "--out", str(tmp_path), "--types", "bogus"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown plate type 'bogus'" in err


def test_the_demo_runs_twice_with_its_defaults(tmp_path, monkeypatch, capsys) -> None:
    """`make demo` = `kplate generate` then `kplate samples`, both on their default folders;
    run again, both must still work (samples inside the generate folder were foreign files
    to the generate run, which then refused to resume)."""
    from kplate.cli import main

    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert main(["generate", "--count", "3", "--height", "32", "--progress", "False"]) == 0
        assert main(["samples", "--height", "32", "--types", "electric"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kplate-out", "kplate-samples"]
    assert (tmp_path / "kplate-samples" / "contact_sheet.png").is_file()
