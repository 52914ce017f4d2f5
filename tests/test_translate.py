"""`kplate translate`, `kplate test` and `kplate export`: labels carried over, sizes kept,
resumable, content preservation measured, bad input refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from kplate.cli import main
from kplate.gan.checkpoint import GENERATOR_FILE, _header, atomic_torch_save
from kplate.gan.config import CUTConfig
from kplate.gan.edge_score import edge_correlation
from kplate.gan.networks import ResnetGenerator
from kplate.gan.translate import Translator
from kplate.io.manifest import read_metadata
from kplate.render import render_plate

REPO = Path(__file__).resolve().parents[1]


def make_model(checkpoints: Path, name: str = "tiny", mode: str = "cut") -> Path:
    """A small untrained generator saved as a training run would save it."""
    torch.manual_seed(0)
    config = CUTConfig.for_mode(mode, "lite", height=24, ngf=4, n_blocks=1, nce_layers=(0, 4, 8))
    generator = ResnetGenerator(config)
    run_dir = checkpoints / name
    run_dir.mkdir(parents=True)
    atomic_torch_save(
        {**_header(config), "step": 7, "G": generator.state_dict()}, run_dir / GENERATOR_FILE
    )
    return run_dir / GENERATOR_FILE


@pytest.fixture()
def synthetic(tmp_path: Path) -> Path:
    out = tmp_path / "synthetic"
    args = [
        "generate",
        "--count",
        "12",
        "--seed",
        "5",
        "--height",
        "32",
        "--out",
        str(out),
        "--progress",
        "False",
        "--types",
        "private_2digit,commercial_two_row,large_commercial",
    ]
    assert main(args) == 0
    return out


def model_args(tmp_path: Path, synthetic: Path, batch: int) -> list[str]:
    """`kplate translate` options for the tiny model on the synthetic fixture."""
    return ["--name", "tiny", "--checkpoints-dir", str(tmp_path / "ckpt"), "--input",
            str(synthetic), "--device", "cpu", "--batch-size", str(batch)]  # fmt: skip


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in {"summary.json", ".kplate.lock"}
    }


def test_translation_keeps_count_order_names_labels_and_sizes(tmp_path, synthetic) -> None:
    make_model(tmp_path / "ckpt")
    out = tmp_path / "real"
    args = [
        "translate",
        "--name",
        "tiny",
        "--checkpoints-dir",
        str(tmp_path / "ckpt"),
        "--input",
        str(synthetic),
        "--out",
        str(out),
        "--batch-size",
        "5",
        "--device",
        "cpu",
    ]
    assert main(args) == 0
    source = read_metadata(synthetic / "metadata.jsonl")
    result = read_metadata(out / "metadata.jsonl")
    assert [e["file_name"] for e in result] == [e["file_name"] for e in source]
    for before, after in zip(source, result, strict=True):
        assert after["text"] == before["text"] and after["chars"] == before["chars"]
        assert after["translation"]["name"] == "tiny" and after["translation"]["step"] == 7
        assert -1.0 <= after["translation"]["preservation"] <= 1.0
        image = Image.open(out / after["file_name"])
        assert image.size == (before["width"], before["height"])
    assert (out / "labels.csv").read_text().splitlines()[1:] == (
        synthetic / "labels.csv"
    ).read_text().splitlines()[1:]
    assert (out / "gt.txt").read_text() == (synthetic / "gt.txt").read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["count"] == 12 and summary["mean_preservation"] is not None


def test_interrupted_translation_resumes_to_the_same_output(tmp_path, synthetic) -> None:
    make_model(tmp_path / "ckpt")
    common = model_args(tmp_path, synthetic, batch=4)
    full, broken = tmp_path / "full", tmp_path / "broken"
    assert main(["translate", *common, "--out", str(full)]) == 0
    assert main(["translate", *common, "--out", str(broken)]) == 0
    manifest = broken / "metadata.jsonl"
    lines = manifest.read_bytes().split(b"\n")
    manifest.write_bytes(b"\n".join(lines[:5]) + b"\n" + lines[5][:30])
    (broken / "summary.json").unlink()
    (broken / read_metadata(manifest)[3]["file_name"]).unlink()
    assert main(["translate", *common, "--out", str(broken)]) == 0
    assert tree(broken) == tree(full)


def test_plain_folder_and_greyscale_inputs(tmp_path) -> None:
    make_model(tmp_path / "ckpt")
    folder = tmp_path / "plain" / "sub"
    folder.mkdir(parents=True)
    Image.fromarray(render_plate("12가3456", height=40).image).convert("L").save(folder / "a.PNG")
    Image.fromarray(render_plate("서울52바3108", "commercial_two_row", height=50).image).save(
        folder / "b.jpg"
    )
    out = tmp_path / "out"
    assert (
        main(
            [
                "translate",
                "--checkpoint",
                str(tmp_path / "ckpt/tiny/generator.pt"),
                "--input",
                str(tmp_path / "plain"),
                "--out",
                str(out),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    entries = read_metadata(out / "metadata.jsonl")
    assert [e["file_name"] for e in entries] == ["images/sub/a.PNG", "images/sub/b.jpg"]
    assert Image.open(out / "images/sub/a.PNG").size == Image.open(folder / "a.PNG").size
    assert entries[0]["text"] is None


class _Fake(torch.nn.Module):
    """A stand-in generator: identity, or one that wipes the plate to a flat grey."""

    def __init__(self, broken: bool) -> None:
        super().__init__()
        self.config = CUTConfig.for_mode("cut", "lite", height=32)
        self.broken = broken

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x) if self.broken else x


def test_preservation_score_flags_a_generator_that_erases_characters() -> None:
    plate = render_plate("12가3456", height=64)
    boxes = [c.box for c in plate.record.chars]
    good = Translator(_Fake(broken=False)).translate([plate.image])[0]
    bad = Translator(_Fake(broken=True)).translate([plate.image])[0]
    assert edge_correlation(plate.image, good, boxes) > 0.9
    assert edge_correlation(plate.image, bad, boxes) < 0.1
    # Invented characters: another plate's text in the same boxes scores low too.
    other = render_plate("98무7105", height=64).image
    assert edge_correlation(plate.image, other, boxes) < 0.5


def test_translator_output_matches_input_sizes() -> None:
    translator = Translator(_Fake(broken=False), batch_size=2)
    images = [render_plate("12가3456", height=h).image for h in (30, 47, 64)]
    images.append(render_plate("서울52바3108", "commercial_two_row", height=41).image)
    outputs = translator.translate(images)
    assert [o.shape for o in outputs] == [i.shape for i in images]


@pytest.mark.parametrize("mode", ["CUT", "FastCUT"])
def test_earlier_test_py_form_writes_results(tmp_path, synthetic, monkeypatch, mode) -> None:
    make_model(tmp_path / "checkpoints", name="plates", mode=mode.lower())
    dataroot = tmp_path / "root"
    (dataroot / "testA").mkdir(parents=True)
    for path in sorted((synthetic / "images").glob("*.jpg"))[:4]:
        shutil.copy(path, dataroot / "testA" / path.name)
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "test",
                "--dataroot",
                str(dataroot),
                "--name",
                "plates",
                "--CUT_mode",
                mode,
                "--phase",
                "test",
            ]
        )
        == 0
    )
    fake = sorted((tmp_path / "results/plates/test_latest/images/fake_B").glob("*.png"))
    assert len(fake) == 4
    assert (tmp_path / "results/plates/test_latest/index.html").is_file()
    other = "FastCUT" if mode == "CUT" else "CUT"
    assert (
        main(
            [
                "test",
                "--dataroot",
                str(dataroot),
                "--name",
                "plates",
                "--CUT_mode",
                other,
                "--phase",
                "test",
            ]
        )
        == 2
    )


def test_export_torchscript_runs_without_kplate_and_matches(tmp_path) -> None:
    checkpoint = make_model(tmp_path / "ckpt")
    out = tmp_path / "g.torchscript.pt"
    assert (
        main(
            [
                "export",
                "--checkpoint",
                str(checkpoint),
                "--format",
                "torchscript",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    x = torch.rand(2, 3, 24, 112) * 2 - 1
    from kplate.gan.checkpoint import load_generator

    with torch.no_grad():
        expected = load_generator(checkpoint)(x)
    np.save(tmp_path / "x.npy", x.numpy())
    code = (
        "import sys, numpy as np, torch; sys.modules['kplate'] = None; "
        f"m = torch.jit.load({str(out)!r}); "
        f"y = m(torch.from_numpy(np.load({str(tmp_path / 'x.npy')!r}))); "
        f"np.save({str(tmp_path / 'y.npy')!r}, y.detach().numpy())"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
    assert np.allclose(np.load(tmp_path / "y.npy"), expected.numpy(), atol=1e-5)


def test_export_onnx_matches(tmp_path) -> None:
    ort = pytest.importorskip("onnxruntime")
    checkpoint = make_model(tmp_path / "ckpt")
    out = tmp_path / "g.onnx"
    assert (
        main(["export", "--checkpoint", str(checkpoint), "--format", "onnx", "--out", str(out)])
        == 0
    )
    from kplate.gan.checkpoint import load_generator

    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for shape in [(1, 3, 24, 112), (2, 3, 24, 48)]:
        x = torch.rand(*shape) * 2 - 1
        with torch.no_grad():
            expected = load_generator(checkpoint)(x).numpy()
        (got,) = session.run(None, {"image": x.numpy()})
        assert np.allclose(got, expected, atol=1e-4)


def test_bad_inputs_exit_2_with_one_line(tmp_path, synthetic, capsys) -> None:
    make_model(tmp_path / "ckpt")
    base = ["translate", "--checkpoints-dir", str(tmp_path / "ckpt"), "--device", "cpu"]
    cases = []
    cases.append(
        (
            [*base, "--name", "nope", "--input", str(synthetic), "--out", str(tmp_path / "o1")],
            "unknown model name 'nope'",
        )
    )
    future = tmp_path / "future.pt"
    data = torch.load(tmp_path / "ckpt/tiny/generator.pt", weights_only=True)
    data["format_version"] = 99
    torch.save(data, future)
    cases.append(
        (
            [
                "translate",
                "--checkpoint",
                str(future),
                "--input",
                str(synthetic),
                "--out",
                str(tmp_path / "o2"),
            ],
            "newer than this kplate",
        )
    )
    not_ckpt = tmp_path / "junk.pt"
    not_ckpt.write_bytes(b"not a checkpoint")
    cases.append(
        (
            [
                "translate",
                "--checkpoint",
                str(not_ckpt),
                "--input",
                str(synthetic),
                "--out",
                str(tmp_path / "o3"),
            ],
            "cannot read checkpoint",
        )
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    cases.append(
        (
            [*base, "--name", "tiny", "--input", str(empty), "--out", str(tmp_path / "o4")],
            "no images to translate",
        )
    )
    corrupt = tmp_path / "corrupt"
    shutil.copytree(synthetic, corrupt)
    victim = corrupt / read_metadata(corrupt / "metadata.jsonl")[2]["file_name"]
    victim.write_bytes(victim.read_bytes()[:40])
    cases.append(
        (
            [*base, "--name", "tiny", "--input", str(corrupt), "--out", str(tmp_path / "o5")],
            "cannot read image",
        )
    )
    escape = tmp_path / "escape"
    escape.mkdir()
    (escape / "metadata.jsonl").write_text('{"file_name": "../../etc/passwd", "text": "x"}\n')
    cases.append(
        (
            [*base, "--name", "tiny", "--input", str(escape), "--out", str(tmp_path / "o6")],
            "points outside",
        )
    )
    for args, message in cases:
        assert main(args) == 2, message
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_generate_with_translate_in_one_pass(tmp_path) -> None:
    checkpoint = make_model(tmp_path / "ckpt")
    clean, translated = tmp_path / "clean", tmp_path / "translated"
    common = ["--count", "6", "--seed", "3", "--height", "32", "--progress", "False"]
    assert main(["generate", *common, "--out", str(clean)]) == 0
    assert (
        main(
            [
                "generate",
                *common,
                "--out",
                str(translated),
                "--translate",
                str(checkpoint.parent),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    a = read_metadata(clean / "metadata.jsonl")
    b = read_metadata(translated / "metadata.jsonl")
    assert [e["text"] for e in a] == [e["text"] for e in b]
    assert all(e["translation"]["name"] == "tiny" for e in b)
    assert not (translated / "images_clean").exists()
    first_a = np.asarray(Image.open(clean / a[0]["file_name"]))
    first_b = np.asarray(Image.open(translated / b[0]["file_name"]))
    assert first_a.shape == first_b.shape and not np.array_equal(first_a, first_b)


@pytest.mark.slow
def test_torchrun_two_ranks_match_a_single_process(tmp_path, synthetic) -> None:
    make_model(tmp_path / "ckpt")
    common = model_args(tmp_path, synthetic, batch=2)
    single = tmp_path / "single"
    # One thread, as each rank has: with another thread count a convolution adds up its
    # sums in another order, which moves a pixel by a grey level (and JPEG by a few more).
    # With the same count, the ranks' output is the single process's, pixel for pixel.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["translate", *common, "--out", str(single)]) == 0
    finally:
        torch.set_num_threads(threads)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), OMP_NUM_THREADS="1")
    distributed = tmp_path / "ddp"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            "29517",
            "-m",
            "kplate",
            "translate",
            *common,
            "--out",
            str(distributed),
        ],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    a = read_metadata(single / "metadata.jsonl")
    b = read_metadata(distributed / "metadata.jsonl")
    assert [(e["file_name"], e["text"]) for e in a] == [(e["file_name"], e["text"]) for e in b]
    for entry in a:
        x = np.asarray(Image.open(single / entry["file_name"]), np.int16)
        y = np.asarray(Image.open(distributed / entry["file_name"]), np.int16)
        assert np.array_equal(x, y), np.abs(x - y).max()


def test_generate_with_translate_into_webdataset_shards(tmp_path) -> None:
    """`--format webdataset --translate`: the shard holds the translated images and
    records of the folder run, byte for byte (one shard: the same translation batches)."""
    import tarfile

    checkpoint = make_model(tmp_path / "ckpt")
    common = ["--count", "5", "--seed", "3", "--height", "32", "--progress", "False"]
    common += ["--translate", str(checkpoint.parent), "--device", "cpu"]
    folder, shards = tmp_path / "folder", tmp_path / "wds"
    assert main(["generate", *common, "--out", str(folder)]) == 0
    assert main(["generate", *common, "--format", "webdataset", "--out", str(shards)]) == 0
    with tarfile.open(shards / "shard-000000.tar") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar}
    for entry in read_metadata(folder / "metadata.jsonl"):
        key = f"{entry['index']:06d}"
        assert members[f"{key}.jpg"] == (folder / entry["file_name"]).read_bytes()
        record = json.loads(members[f"{key}.json"])
        assert record == {**entry, "file_name": f"{key}.jpg"}
        assert record["translation"]["name"] == "tiny"
