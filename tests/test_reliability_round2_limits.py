"""Issue #13, failures 6, 7 and 9 (part) and weak spots: non-finite and out-of-range numbers,
input size limits, non-regular files, checkpoints that are not what they claim, and the
resume / preservation / split messages.

Everything hostile here must end as one `kplate CMD: error: ...` line with exit code 2
(or a skipped file, listed), never a hang, a MemoryError or silent garbage.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import TINY_TRAIN as TRAIN
from helpers import TRAIN_STARTUP as STARTUP
from helpers import one_error_line, one_torch_thread, png_header
from kplate.cli import main
from kplate.errors import KplateError

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(REPO / "src"), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
ENV["PYTHONWARNINGS"] = "ignore"
OPTS = ["--height", "32", "--seed", "1", "--progress", "False"]
GEN = ["--count", "2", *OPTS]


def small_png(path: Path, seed: int = 0, size: tuple[int, int] = (48, 16)) -> Path:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def run_cli(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    """A real `python -m kplate` process: a hang (a FIFO read) fails the test, not the suite."""
    return subprocess.run(
        [sys.executable, "-m", "kplate", *args],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def single_error(process: subprocess.CompletedProcess, command: str) -> str:
    assert process.returncode == 2, process.stderr
    assert "Traceback" not in process.stderr + process.stdout
    lines = process.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"kplate {command}: error: "), process.stderr
    return lines[0]


# -- failure 6: non-finite numbers -----------------------------------------------------------

NON_FINITE_CONFIGS = {
    "nan_range": ("camera:\n  blur: {p: 1, sigma: [.nan, .nan]}\n", "camera.blur.sigma"),
    "nan_scalar": ("camera:\n  blur: {p: 1, sigma: .nan}\n", "camera.blur.sigma"),
    "inf_high": ("camera:\n  blur: {p: 1, sigma: [0, .inf]}\n", "camera.blur.sigma"),
    "minus_inf": ("geometry:\n  rotate: {p: 1, deg: [-.inf, 1]}\n", "geometry.rotate.deg"),
    "nan_p": ("camera:\n  blur: {p: .nan, sigma: 1}\n", "camera.blur.p"),
    "huge_int": ("camera:\n  jpeg: {p: 1, quality: [1, " + "9" * 400 + "]}\n", "camera.jpeg"),
    "nan_int": ("camera:\n  jpeg: {p: 1, quality: [.nan, 90]}\n", "camera.jpeg.quality"),
}


@pytest.mark.parametrize("case", sorted(NON_FINITE_CONFIGS))
def test_non_finite_augment_config_numbers_are_refused_where_parsed(
    tmp_path: Path, case: str, capsys
) -> None:
    """Was: `sigma: [.nan, .nan]` wrote all-black labelled images and bare NaN in
    metadata.jsonl with exit 0; a NaN blur or an int too large for a float, a traceback."""
    text, key = NON_FINITE_CONFIGS[case]
    config = tmp_path / f"{case}.yaml"
    config.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["generate", *GEN, "--augment-config", str(config), "--out", str(out)]) == 2
    line = one_error_line(capsys, "generate")
    assert str(config) in line and key in line, line
    manifest = out / "metadata.jsonl"
    assert not manifest.exists() or manifest.read_bytes() == b""  # no labelled image
    sheet = tmp_path / "sheet.png"
    assert main(["preview", "--augment-config", str(config), "--count", "2", "--height", "32",
                 "--out", str(sheet)]) == 2  # fmt: skip
    assert key in one_error_line(capsys, "preview")
    assert not sheet.exists()


def test_manifest_lines_are_strict_json_or_an_error() -> None:
    """Every manifest line goes through dumps_line: NaN or infinity is refused (was bare
    `NaN`, which is not JSON); ordinary lines keep their exact bytes."""
    from kplate.io.manifest import dumps_line

    entry = {"file_name": "images/a.jpg", "text": "12가3456", "augment": {"sigma": 0.5}}
    assert dumps_line(entry) == '{"file_name":"images/a.jpg","text":"12가3456",' + (
        '"augment":{"sigma":0.5}}\n'
    )
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(KplateError, match=r"images/a\.jpg.*non-finite"):
            dumps_line({**entry, "augment": {"sigma": bad}})


TRAIN_FLAGS = [
    (["--lr", "inf"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--lr=-1"], "--lr"),
    (["--lr", "0"], "--lr"),
    (["--lr", "1e308"], "--lr"),
    (["--lambda-nce", "nan"], "--lambda-nce"),
    (["--lambda_NCE", "-1"], "--lambda-nce"),
    (["--num-patches", "0"], "--num-patches"),
    (["--num-patches", "-5"], "--num-patches"),
    (["--height", "100000"], "--height"),
    (["--batch-size", "0"], "--batch-size"),
    (["--seed", "-1"], "--seed"),
    (["--seed", "18446744073709551615"], "--seed"),
    (["--steps", "0"], "--steps"),
    (["--save-every", "-2"], "--save-every"),
    (["--n_epochs", "2", "--n_epochs_decay", "-3"], "--n_epochs_decay"),
]


@pytest.mark.parametrize(("flags", "flag"), TRAIN_FLAGS, ids=[" ".join(f) for f, _ in TRAIN_FLAGS])
def test_train_numbers_are_checked_before_anything_runs(
    tmp_path: Path, flags: list[str], flag: str, capsys
) -> None:
    """Was: `--lr inf` and `--lambda-nce nan` trained a NaN model and reported success;
    `--lr nan`, `--lr=-1` and `--num-patches 0` were tracebacks."""
    checkpoints = tmp_path / "checkpoints"
    code = main(["train", "--dataroot", str(tmp_path / "nowhere"), "--name", "run",
                 "--checkpoints-dir", str(checkpoints), *flags])  # fmt: skip
    assert code == 2
    line = one_error_line(capsys, "train")
    assert flag in line, line
    assert not checkpoints.exists()


def test_every_numeric_training_setting_has_bounds() -> None:
    """One mechanism for every number: each int/float field of CUTConfig and TrainOptions
    is in the table that `validate` checks, so a new field cannot skip the check."""
    from kplate.gan.config import CONFIG_BOUNDS, OPTION_BOUNDS, CUTConfig, TrainOptions

    for cls, bounds in ((CUTConfig, CONFIG_BOUNDS), (TrainOptions, OPTION_BOUNDS)):
        numeric = {
            f.name
            for f in dataclasses.fields(cls)
            if any(t in str(f.type) for t in ("int", "float")) and "tuple" not in str(f.type)
        }
        assert numeric <= set(bounds), numeric - set(bounds)
    with pytest.raises(KplateError, match="lr"):
        CUTConfig.for_mode("cut", "lite", lr=float("nan"))


# -- training: divergence, resume -------------------------------------------------------------


def make_dataroot(root: Path) -> Path:
    sys.path.insert(0, str(Path(__file__).parent))
    from test_gan_train import make_dataroot as make

    return make(root, count=6)


def train_args(dataroot: Path | None, checkpoints: Path, *extra: str) -> list[str]:
    root = [] if dataroot is None else ["--dataroot", str(dataroot)]
    return ["train", *root, "--name", "run", "--checkpoints-dir", str(checkpoints),
            *TRAIN, *extra]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(dataroot, checkpoints dir) of a finished 4-step run named `run`."""
    base = tmp_path_factory.mktemp("trained")
    dataroot = make_dataroot(base / "data")
    with one_torch_thread():
        assert main(train_args(dataroot, base / "checkpoints")) == 0
    return dataroot, base / "checkpoints"


def copy_run(trained: tuple[Path, Path], tmp_path: Path) -> Path:
    checkpoints = tmp_path / "checkpoints"
    shutil.copytree(trained[1], checkpoints)
    return checkpoints


def _poison_from(monkeypatch, at_call: int, *, losses: bool, weights: bool) -> None:
    """From the `at_call`-th training step on, make the losses and/or G's weights NaN, as
    a diverging run does."""
    from kplate.gan.model import CUTModel

    original = CUTModel.train_step
    calls = {"n": 0}

    def step(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] >= at_call:
            if weights:
                with torch.no_grad():
                    next(self.netG.parameters()).fill_(float("nan"))
            if losses:
                result.losses.fill_(float("nan"))
        return result

    monkeypatch.setattr(CUTModel, "train_step", step)


def test_training_stops_on_a_non_finite_loss_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """Was: a NaN model trained to the end, was saved and reported as trained (exit 0)."""
    dataroot = make_dataroot(tmp_path / "data")
    checkpoints = tmp_path / "checkpoints"
    _poison_from(monkeypatch, 3, losses=True, weights=True)
    with one_torch_thread():
        assert main(train_args(dataroot, checkpoints)) == 2
    line = one_error_line(capsys, "train", ignore=STARTUP)
    assert "diverged" in line and "step 3" in line and "(step 2)" in line, line
    run = checkpoints / "run"
    saved = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert saved["step"] == 2
    assert all(torch.isfinite(t).all() for t in saved["model"]["G"].values())
    rows = [json.loads(line) for line in (run / "train.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1, 2]  # strict JSON, no NaN step logged


def test_weights_that_turn_non_finite_are_never_saved(tmp_path: Path, monkeypatch, capsys) -> None:
    """Finite losses but NaN weights at the first save: nothing is saved, one line."""
    dataroot = make_dataroot(tmp_path / "data")
    checkpoints = tmp_path / "checkpoints"
    _poison_from(monkeypatch, 2, losses=False, weights=True)
    with one_torch_thread():
        assert main(train_args(dataroot, checkpoints)) == 2
    line = one_error_line(capsys, "train", ignore=STARTUP)
    assert "diverged" in line and "nothing was saved" in line, line
    assert not (checkpoints / "run" / "checkpoint.pt").exists()
    assert not (checkpoints / "run" / "generator.pt").exists()


def test_resume_from_a_generator_pt_is_one_line(trained, tmp_path: Path, capsys) -> None:
    """Was: a KeyError traceback when generator.pt stood in the place of checkpoint.pt."""
    checkpoints = copy_run(trained, tmp_path)
    run = checkpoints / "run"
    shutil.copyfile(run / "generator.pt", run / "checkpoint.pt")
    assert main(train_args(None, checkpoints, "--resume")) == 2
    line = one_error_line(capsys, "train")
    assert "not a full training checkpoint" in line and "generator" in line, line


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 16), (200, 10, 10)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_a_jpeg_as_a_checkpoint_is_one_line_without_torch_advice(
    trained, tmp_path: Path, capsys
) -> None:
    """Was: torch's advice to load it again with weights_only=False (arbitrary code)."""
    checkpoints = copy_run(trained, tmp_path)
    (checkpoints / "run" / "checkpoint.pt").write_bytes(jpeg_bytes())
    assert main(train_args(None, checkpoints, "--resume")) == 2
    line = one_error_line(capsys, "train")
    assert "not a kplate checkpoint" in line and "weights_only" not in line, line
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_bytes())
    inputs = small_png(tmp_path / "in" / "a.png").parent
    out = tmp_path / "translated"
    assert main(["translate", "--checkpoint", str(photo), "--input", str(inputs),
                 "--out", str(out), "--device", "cpu"]) == 2  # fmt: skip
    line = one_error_line(capsys, "translate")
    assert "not a kplate checkpoint" in line and "weights_only" not in line, line
    pickled = tmp_path / "pickled.pt"  # a torch file holding a class: torch would advise
    torch.save({"format": "kplate-cut", "G": argparse.Namespace(a=1)}, pickled)
    for bad in (photo, pickled):
        assert main(["export", "--checkpoint", str(bad), "--out", str(tmp_path / "g.pt")]) == 2
        line = one_error_line(capsys, "export")
        assert "not a kplate checkpoint" in line and "weights_only" not in line, line
    assert not out.exists() and not (tmp_path / "g.pt").exists()


def test_translate_and_export_refuse_a_generator_with_non_finite_weights(
    trained, tmp_path: Path, capsys
) -> None:
    """Was: a NaN generator translated every plate to black and exported without a word."""
    source = trained[1] / "run" / "generator.pt"
    data = torch.load(source, map_location="cpu", weights_only=True)
    name = next(iter(k for k, v in data["G"].items() if v.is_floating_point()))
    data["G"][name] = torch.full_like(data["G"][name], float("inf"))
    poisoned = tmp_path / "generator.pt"
    torch.save(data, poisoned)
    inputs = small_png(tmp_path / "in" / "a.png").parent
    out = tmp_path / "translated"
    assert main(["translate", "--checkpoint", str(poisoned), "--input", str(inputs),
                 "--out", str(out), "--device", "cpu"]) == 2  # fmt: skip
    assert "not finite" in one_error_line(capsys, "translate")
    assert not out.exists()
    target = tmp_path / "g.torchscript.pt"
    assert main(["export", "--checkpoint", str(poisoned), "--out", str(target)]) == 2
    assert "not finite" in one_error_line(capsys, "export")
    assert not target.exists()


@pytest.mark.parametrize("side", [["--height", "0"], ["--width", "-8"], ["--height", "99999"]])
def test_export_sides_out_of_range_are_one_line(trained, tmp_path: Path, side, capsys) -> None:
    """Was: `--height 0` silently meant the default; `--width -8` was a torch traceback."""
    target = tmp_path / "g.pt"
    code = main(["export", "--checkpoint", str(trained[1] / "run" / "generator.pt"),
                 "--out", str(target), *side])  # fmt: skip
    assert code == 2
    assert side[0] in one_error_line(capsys, "export")
    assert not target.exists()


def test_resume_with_another_dataroot_is_refused(trained, tmp_path: Path, capsys) -> None:
    """Was: accepted silently, training on other data under the old run's name. The same
    folder spelled differently is the same dataroot."""
    checkpoints = copy_run(trained, tmp_path)
    other = make_dataroot(tmp_path / "other")
    assert main(train_args(other, checkpoints, "--resume")) == 2
    line = one_error_line(capsys, "train")
    assert str(other) in line and "not the run's dataroot" in line, line
    same = Path(str(trained[0]) + "/../" + trained[0].name)
    with one_torch_thread():
        assert main(train_args(same, checkpoints, "--resume")) == 0  # at step 4 of 4


def test_resume_with_fewer_steps_than_done_is_refused(trained, tmp_path: Path, capsys) -> None:
    """Was: `--resume --steps 2` on a step-4 run said "to step 4/2"."""
    checkpoints = copy_run(trained, tmp_path)
    assert main(train_args(None, checkpoints, "--resume", "--steps", "2")) == 2
    line = one_error_line(capsys, "train")
    assert "already at step 4" in line and "2 steps" in line, line


# -- failure 7: input size limits and non-regular files ---------------------------------------


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = ["lol: &l0 [" + ", ".join(['"lol"'] * width) + "]"]
    for level in range(1, levels):
        refs = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def mapping_bomb(levels: int = 40) -> str:
    lines = ["m0: &m0 {x: 1, y: 1}"]
    lines += [f"m{k}: &m{k} {{x: *m{k - 1}, y: *m{k - 1}}}" for k in range(1, levels)]
    return "camera:\n  blur: {p: 1, sigma: 1}\n" + "\n".join(lines) + "\n"


YAML_CASES = {
    "billion_laughs": (billion_laughs(), "YAML nodes"),
    "mapping_bomb": (mapping_bomb(), "YAML nodes"),
    "bomb_inside_a_valid_key": (
        billion_laughs() + "camera:\n  blur: {p: 1, sigma: *l8}\n",
        "YAML nodes",
    ),
    "self_reference": ("camera: &c {blur: *c}\n", "alias refers to a node that holds it"),
    "deep_nesting": ("[" * 20000 + "]" * 20000, "nested too deeply"),
    "too_large": ("# " + "x" * (1 << 20) + "\n", "over the 1 MiB limit"),
    "preset_list": ("preset: [heavy]\n", "unknown preset ['heavy']"),
    "preset_mapping": ("preset: {a: 1}\n", "unknown preset {'a': 1}"),
    "not_utf8": ("camera:\n  blur: {p: 1, sigma: 1}  # caf\xe9\n", "(line 2): not UTF-8"),
}


@pytest.mark.parametrize("case", sorted(YAML_CASES))
def test_hostile_yaml_configs_are_one_line(tmp_path: Path, case: str, capsys) -> None:
    """Was: 415- and 792-byte alias bombs ran for 20-37 s into a MemoryError;
    `preset: [heavy]`, `preset: {a: 1}` and a latin-1 file were tracebacks."""
    from kplate.augment.presets import load_spec

    text, expected = YAML_CASES[case]
    config = tmp_path / "config.yaml"
    config.write_bytes(text.encode("latin-1" if case == "not_utf8" else "utf-8"))
    with pytest.raises(KplateError, match=None) as error:
        load_spec(str(config))
    assert expected in str(error.value), str(error.value)
    assert str(config) in str(error.value)
    sheet = tmp_path / "sheet.png"
    assert main(["preview", "--augment-config", str(config), "--count", "1", "--height", "32",
                 "--out", str(sheet)]) == 2  # fmt: skip
    assert expected in one_error_line(capsys, "preview")
    assert main(["generate", *GEN, "--augment-config", str(config),
                 "--out", str(tmp_path / "out")]) == 2  # fmt: skip
    assert expected in one_error_line(capsys, "generate")


def special_files(folder: Path) -> dict[str, str]:
    """name -> what the error or skip reason must say: a FIFO, a link to /dev/zero, a link
    to a FIFO (a link to something else is followed), each named like a real input."""
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "pipe")
    (folder / "zero").symlink_to("/dev/zero")
    (folder / "via-link").symlink_to(folder / "pipe")
    return {"pipe": "FIFO", "zero": "character device", "via-link": "FIFO"}


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero and FIFOs")
def test_non_regular_single_file_options_are_one_line_never_opened(tmp_path: Path) -> None:
    """Was: `--csv /dev/zero` read until MemoryError; a FIFO hung forever. Also the
    YAML config, the checkpoint and an oversized (sparse) CSV."""
    kinds = special_files(tmp_path / "special")
    for name, kind in kinds.items():
        path = tmp_path / "special" / name
        for args, command in (
            (["generate", "--csv", str(path), *OPTS, "--out", str(tmp_path / "o")], "generate"),
            (["preview", "--augment-config", str(path), "--out", str(tmp_path / "p.png")],
             "preview"),
            (["export", "--checkpoint", str(path), "--out", str(tmp_path / "g.pt")], "export"),
        ):  # fmt: skip
            line = single_error(run_cli(args, timeout=60), command)
            assert kind in line and "not opened" in line, line
    big = tmp_path / "big.csv"
    with open(big, "wb") as handle:
        handle.truncate(33 << 20)  # sparse: costs no disk
    line = single_error(run_cli(["generate", "--csv", str(big), *OPTS, "--out", str(tmp_path / "o")]),
                        "generate")  # fmt: skip
    assert "over the 32 MiB limit" in line, line
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero and FIFOs")
def test_dataset_skips_and_lists_fifos_devices_and_oversized_files(tmp_path: Path) -> None:
    """Was: a FIFO named pipe.png under --real hung `kplate dataset` forever (leaving its
    `.building` folder); a zero.png link to /dev/zero ended in a MemoryError."""
    real = tmp_path / "real"
    for k in range(4):
        small_png(real / f"crop{k}.png", seed=k)
    os.mkfifo(real / "pipe.png")
    (real / "zero.png").symlink_to("/dev/zero")
    (real / "link.png").symlink_to(real / "pipe.png")
    with open(real / "huge.png", "wb") as handle:
        handle.truncate(300 << 20)  # sparse, over MAX_IMAGE_BYTES: never read
    synthetic = tmp_path / "syn"
    for k in range(4):
        small_png(synthetic / f"s{k}.png", seed=10 + k)
    out = tmp_path / "dataroot"
    process = run_cli(["dataset", "--synthetic", str(synthetic), "--real", str(real),
                       "--out", str(out)])  # fmt: skip
    assert process.returncode == 0, process.stderr
    skipped = {Path(s["source"]).name: s["reason"] for s in
               json.loads((out / "dataset.json").read_text())["skipped"]}  # fmt: skip
    assert set(skipped) == {"pipe.png", "zero.png", "link.png", "huge.png"}, skipped
    assert "FIFO" in skipped["pipe.png"] and "FIFO" in skipped["link.png"]
    assert "character device" in skipped["zero.png"]
    assert "limit" in skipped["huge.png"]
    listed = (out / "skipped.txt").read_text()
    assert all(name in listed for name in skipped)
    assert not [p for p in tmp_path.iterdir() if ".building" in p.name]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero and FIFOs")
@pytest.mark.parametrize("kind", ["fifo", "link_to_fifo", "link_to_dev_zero"])
def test_train_domain_with_a_fifo_or_device_is_one_line(tmp_path: Path, kind: str) -> None:
    """A FIFO named like an image, or a link to one or to /dev/zero, is named and never
    opened (was: a hang, or the FIFO silently left out of the domain)."""
    dataroot = make_dataroot(tmp_path / "data")
    target = dataroot / "trainB" / "zzz.png"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        os.mkfifo(tmp_path / "pipe")
        target.symlink_to(tmp_path / "pipe" if kind == "link_to_fifo" else Path("/dev/zero"))
    process = run_cli(train_args(dataroot, tmp_path / "checkpoints"), timeout=120)
    line = single_error(process, "train")
    what = "a character device" if kind == "link_to_dev_zero" else "a FIFO"
    assert f"zzz.png: cannot read image ({what}" in line, line
    assert not (tmp_path / "checkpoints").exists()


def test_one_pixel_limit_for_every_image_reader(tmp_path: Path) -> None:
    """MAX_PIXELS is defined once (kplate.limits) and every place that decodes an image on
    disk refuses a bomb before decoding: train data, translate input, evaluate data, the
    glyph dir, and `kplate dataset`'s decoder."""
    import kplate.dataset as dataset
    from kplate import limits
    from kplate.evaluate.data import open_image
    from kplate.gan.data import open_rgb
    from kplate.gan.translate import read_rgb
    from kplate.render.glyphs import GlyphDirGlyphs

    definitions = [
        path
        for path in (REPO / "src").rglob("*.py")
        if "MAX_PIXELS =" in path.read_text(encoding="utf-8")
    ]
    assert definitions == [REPO / "src" / "kplate" / "limits.py"]
    assert dataset.MAX_PIXELS is limits.MAX_PIXELS
    bomb_bytes = png_header(30_000, 30_000)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(bomb_bytes)
    for reader in (open_rgb, read_rgb):
        with pytest.raises(KplateError, match=r"bomb\.png: cannot read image \(.*pixels"):
            reader(bomb)
    assert open_image(bomb) is None
    with pytest.raises(dataset.CorruptImage):
        dataset.decode(bomb_bytes)
    glyphs = tmp_path / "glyphs" / "digits"
    glyphs.mkdir(parents=True)
    (glyphs / "1.png").write_bytes(bomb_bytes)
    source = GlyphDirGlyphs(glyphs.parent)
    with pytest.raises(KplateError, match=r"1\.png: cannot read glyph image \(.*pixels"):
        source.coverage("1", 10, 20)


def test_glyph_dir_bomb_through_the_cli_is_one_line(tmp_path: Path, capsys) -> None:
    """Was: a 30000x30000 PNG in --glyph-dir was a DecompressionBombError traceback."""
    root = tmp_path / "glyphs"
    for char in "0123456789":
        small_png(root / "digits" / f"{char}.png", seed=ord(char))
    small_png(root / "letters" / "가.png", seed=1)
    (root / "digits" / "1.png").write_bytes(png_header(30_000, 30_000))
    plates = tmp_path / "plates.csv"
    plates.write_text("plate\n12가3456\n", encoding="utf-8")
    code = main(["generate", "--csv", str(plates), "--height", "32", "--glyph-dir", str(root),
                 "--progress", "False", "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2
    assert "cannot read glyph image" in one_error_line(capsys, "generate")


# -- weak spots ---------------------------------------------------------------------------------


def test_preservation_summary_states_label_mismatches(tmp_path: Path, monkeypatch, capsys) -> None:
    """Was: "0 readings changed" on unrelated plates, the mismatches only in the JSON."""
    import kplate.evaluate.preservation as preservation

    class Reader:
        recipe = "fake"

        def read(self, images):
            return ["12가3456"] * len(images)

        def save(self, path):
            Path(path).write_bytes(b"fake")

    monkeypatch.setattr(preservation, "train_recogniser", lambda *a, **k: Reader())
    for folder, texts in (("source", ["12가3456", "34나5678"]), ("translated", ["56다7890"] * 2)):
        rows = ["file,text"]
        for k, text in enumerate(texts):
            small_png(tmp_path / folder / f"{k}.png", seed=k)
            rows.append(f"{k}.png,{text}")
        (tmp_path / folder / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main(["evaluate", "preservation", "--source", str(tmp_path / "source"),
                 "--translated", str(tmp_path / "translated"), "--steps", "1",
                 "--out", str(tmp_path / "report")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "2 of 2 matched file names have different labels" in out, out


def test_a_split_that_leaves_train_empty_is_refused() -> None:
    """`--test-fraction 0.999999` left trainA empty; the check that `kplate dataset` runs on
    the split counts before it writes names the option."""
    from kplate.dataset.split import require_training_images

    require_training_images({"trainA": 3, "trainB": 1, "testA": 0, "testB": 9}, 0.5)
    require_training_images({"testA": 3, "testB": 3}, 0.5)  # --type test builds no train side
    with pytest.raises(KplateError, match=r"^test_fraction 0\.999999: trainA would be empty"):
        require_training_images({"trainA": 0, "trainB": 2, "testA": 7, "testB": 1}, 0.999999)


def test_a_test_fraction_that_empties_train_is_refused_and_writes_nothing(
    tmp_path: Path, capsys
) -> None:
    """Through the command line: one line naming the option, no dataroot, nothing beside it."""
    rng = np.random.default_rng(3)
    for domain in ("syn", "real"):
        for index in range(6):
            pixels = rng.integers(0, 256, (12, 40, 3), dtype=np.uint8)
            small = tmp_path / domain / f"{index}.png"
            small.parent.mkdir(exist_ok=True)
            Image.fromarray(pixels).save(small)
    out = tmp_path / "root"
    argv = ["dataset", "--synthetic", str(tmp_path / "syn"), "--real", str(tmp_path / "real")]
    assert main([*argv, "--out", str(out), "--test-fraction", "0.999999"]) == 2
    assert "--test-fraction 0.999999: train" in one_error_line(capsys, "dataset")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real", "syn"]


def test_a_manifest_without_newlines_is_never_read_whole(tmp_path: Path, capsys) -> None:
    """A metadata.jsonl of zeros with no newline (sparse, 40 MiB) in an input folder: one
    line naming it, read no further than MAX_MANIFEST_LINE_BYTES (was: read whole)."""
    folder = tmp_path / "input"
    small_png(folder / "images" / "a.png")
    with open(folder / "metadata.jsonl", "wb") as handle:
        handle.truncate(40 << 20)
    synthetic = small_png(tmp_path / "syn" / "s.png").parent
    assert main(["dataset", "--synthetic", str(synthetic), "--real", str(folder),
                 "--out", str(tmp_path / "dataroot")]) == 2  # fmt: skip
    line = one_error_line(capsys, "dataset")
    assert "metadata.jsonl:1: line longer than 1 MiB" in line, line
    assert not (tmp_path / "dataroot").exists()
