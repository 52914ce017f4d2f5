"""CUT training: resume is exact, Ctrl-C saves, DDP runs, bad input is one line, outputs complete."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from kplate.cli import main
from kplate.gan import CUTConfig, TrainingInterrupted, TrainOptions, load_generator, train
from kplate.render import render_plate

TINY = {"ngf": 4, "n_blocks": 5, "ndf": 4, "netF_nc": 16, "num_patches": 16, "height": 32}


def make_dataroot(root: Path, count: int = 6) -> Path:
    """Tiny A (clean one- and two-row plates) and B (noisy greyscale crops of other sizes)."""
    rng = np.random.default_rng(0)
    plates = [
        ("12가3456", None),
        ("서울52바3108", "commercial_two_row"),
        ("39나2764", "private_short"),
    ]
    for folder in ("trainA", "trainB"):
        (root / folder).mkdir(parents=True)
    for i in range(count):
        text, kind = plates[i % len(plates)]
        image = render_plate(text, kind, height=32).image
        Image.fromarray(image).save(root / "trainA" / f"{i:03d}.png")
        grey = image.mean(2) * 0.5 + rng.normal(0, 25, image.shape[:2]) + 40
        grey = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))
        grey.resize((grey.width * 3 // 2, grey.height * 3 // 2)).save(
            root / "trainB" / f"{i:03d}.jpg"
        )
    return root


@pytest.fixture(scope="module")
def dataroot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataroot(tmp_path_factory.mktemp("plates"))


def options(dataroot: Path, tmp_path: Path, name: str, **extra: object) -> TrainOptions:
    values: dict = {
        "dataroot": dataroot,
        "name": name,
        "checkpoints_dir": tmp_path,
        "batch_size": 2,
        "progress": False,
        "tensorboard": False,
        "deterministic": True,
        "save_every": 100,
        "image_every": 100,
    }
    values.update(extra)
    return TrainOptions(**values)


def test_interrupt_and_resume_equals_uninterrupted_run(
    dataroot: Path, tmp_path: Path, one_thread
) -> None:
    config = CUTConfig.for_mode("fastcut", "lite", **TINY)
    straight = train(config, options(dataroot, tmp_path, "straight", steps=4))
    assert straight.step == 4

    def ctrl_c(step: int) -> None:
        if step == 2:
            signal.raise_signal(signal.SIGINT)

    with pytest.raises(TrainingInterrupted) as stopped:
        train(config, options(dataroot, tmp_path, "split", steps=4), on_step=ctrl_c)
    assert stopped.value.step == 2
    resumed = train(None, options(dataroot, tmp_path, "split", steps=4, resume=True))
    assert resumed.step == 4

    a = torch.load(straight.checkpoint, weights_only=True)["model"]
    b = torch.load(resumed.checkpoint, weights_only=True)["model"]
    for net in ("G", "D", "F"):
        assert a[net].keys() == b[net].keys()
        for key in a[net]:
            assert torch.equal(a[net][key], b[net][key]), f"{net}.{key} differs after resume"
    for opt in ("G", "D", "F"):
        for sa, sb in zip(
            a["optimizers"][opt]["state"].values(),
            b["optimizers"][opt]["state"].values(),
            strict=True,
        ):
            assert torch.equal(sa["exp_avg"], sb["exp_avg"])
    log = [
        json.loads(line) for line in (tmp_path / "split" / "train.jsonl").read_text().splitlines()
    ]
    assert [row["step"] for row in log] == [1, 2, 3, 4]


def test_cli_run_writes_everything_and_resume_counts_total_steps(
    dataroot: Path, tmp_path: Path, capsys
) -> None:
    common = [
        "train",
        "--dataroot",
        str(dataroot),
        "--name",
        "run",
        "--checkpoints_dir",
        str(tmp_path),
    ]
    tiny = [
        "--profile",
        "lite",
        "--height",
        "32",
        "--batch_size",
        "2",
        "--num-patches",
        "16",
        "--gpu_ids",
        "-1",
    ]
    assert (
        main([*common, *tiny, "--CUT_mode", "FastCUT", "--steps", "2", "--image-every", "1"]) == 0
    )
    run = tmp_path / "run"
    for name in ("checkpoint.pt", "generator.pt", "train.jsonl", "options.json", "loss.png"):
        assert (run / name).is_file(), name
    assert sorted(p.name for p in (run / "images").iterdir()) == [
        "step_0000001.png",
        "step_0000002.png",
    ]
    assert any((run / "tensorboard").iterdir())
    grid = Image.open(run / "images" / "step_0000002.png")
    assert grid.height < grid.width  # plate-shaped, not square

    # A conflicting option is refused; --steps is the run's total.
    assert main([*common, "--resume", "--CUT_mode", "CUT"]) == 2
    assert "conflict" in capsys.readouterr().err
    assert (
        main(
            [
                "train",
                "--name",
                "run",
                "--checkpoints-dir",
                str(tmp_path),
                "--resume",
                "--steps",
                "3",
            ]
        )
        == 0
    )
    steps = [json.loads(line)["step"] for line in (run / "train.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3]

    generator = load_generator(run)
    assert generator.config.mode == "fastcut"
    with torch.no_grad():
        out = generator(torch.zeros(1, 3, 32, 152))
    assert out.shape == (1, 3, 32, 152)


def test_plates_keep_their_aspect_ratio(dataroot: Path) -> None:
    from kplate.gan.data import BucketBatchSampler, PlateData

    data = PlateData.load(dataroot, height=32)
    shapes = set(data.shapes)
    assert (32, 152) in shapes and (32, 64) in shapes  # one-row and two-row plates
    sampler = BucketBatchSampler(data, global_batch=2, seed=0)
    for batch in sampler.epoch(0):
        a, b = data.fetch(batch, rank=0, per_rank=2)
        assert a.shape == b.shape and a.dtype == torch.uint8
    assert sampler.epoch(3) == BucketBatchSampler(data, 2, 0).epoch(3)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing_b", "trainB: missing"),
        ("empty_a", "trainA: no images"),
        ("broken", "broken.png: cannot read image"),
    ],
)
def test_bad_dataroot_is_one_line_exit_2(tmp_path: Path, capsys, setup: str, message: str) -> None:
    root = make_dataroot(tmp_path / "d", count=2)
    if setup == "missing_b":
        for p in (root / "trainB").iterdir():
            p.unlink()
        (root / "trainB").rmdir()
    elif setup == "empty_a":
        for p in (root / "trainA").iterdir():
            p.unlink()
    else:
        (root / "trainA" / "broken.png").write_bytes(b"not a png")
    code = main(
        [
            "train",
            "--dataroot",
            str(root),
            "--name",
            "x",
            "--checkpoints-dir",
            str(tmp_path),
            "--steps",
            "1",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_resume_without_checkpoint_is_one_line_exit_2(tmp_path: Path, capsys) -> None:
    code = main(["train", "--name", "none", "--checkpoints-dir", str(tmp_path), "--continue_train"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no checkpoint" in err


def test_profiles_follow_the_paper() -> None:
    cut, fast = CUTConfig.for_mode("cut", "full"), CUTConfig.for_mode("fastcut", "full")
    assert (cut.ngf, cut.n_blocks, cut.n_layers_D, cut.netF_nc) == (64, 9, 3, 256)
    assert cut.nce_layers == (0, 4, 8, 12, 16) and cut.num_patches == 256 and cut.nce_T == 0.07
    assert (cut.lambda_NCE, cut.nce_idt, fast.lambda_NCE, fast.nce_idt) == (1.0, True, 10.0, False)
    assert fast.flip_equivariance and not cut.flip_equivariance
    assert CUTConfig.for_mode("cut", "lite").ngf < cut.ngf


def test_fast_layers_compute_the_reference_operations() -> None:
    """The CPU-friendly forms must give the reference's numbers, values and gradients."""
    import torch.nn.functional as F

    from kplate.gan.networks import InstanceNorm, RGBOutputConv, Upsample

    x = torch.randn(2, 6, 10, 14, requires_grad=True)
    up = Upsample(6)
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
    reference = F.conv_transpose2d(padded, up.filt, stride=2, padding=2, groups=6)[:, :, 1:-1, 1:-1]
    assert torch.allclose(up(x), reference, atol=1e-6)
    norm_ref = torch.nn.InstanceNorm2d(6, affine=False, track_running_stats=False)(x)
    norm = InstanceNorm(6)(x)
    assert torch.allclose(norm, norm_ref, atol=1e-5)
    (grad,) = torch.autograd.grad((norm * x.detach()).sum(), x)
    (grad_ref,) = torch.autograd.grad((norm_ref * x.detach()).sum(), x)
    assert torch.allclose(grad, grad_ref, atol=1e-4)
    conv = RGBOutputConv(6, 3, 7)
    out = conv(F.pad(x, (3, 3, 3, 3), mode="reflect"))
    reference_out = F.conv2d(F.pad(x, (3, 3, 3, 3), mode="reflect"), conv.weight, conv.bias)
    assert out.is_contiguous() and torch.allclose(out, reference_out, atol=1e-5)


@pytest.mark.parametrize("mode", ["cut", "fastcut"])
def test_every_parameter_learns_in_one_step(mode: str) -> None:
    """DDP needs every G, D and F parameter to get a gradient in every step."""
    from kplate.gan.model import CUTModel
    from kplate.gan.networks import build_networks
    from kplate.gan.train import lr_lambda_for

    config = CUTConfig.for_mode(mode, "lite", **TINY)
    netG, netD, netF = build_networks(config)
    model = CUTModel(config, netG, netD, netF, lr_lambda_for(10, 0.5))
    before = {
        n: p.detach().clone() for n, p in [*netG.named_parameters(), *netF.named_parameters()]
    }
    real = torch.rand(2, 3, 32, 64) * 2 - 1
    result = model.train_step(real, real.flip(0), torch.Generator().manual_seed(1))
    assert result.fake_B.shape == real.shape and torch.isfinite(result.losses).all()
    for net in (netG, netD, netF):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    after = dict([*netG.named_parameters(), *netF.named_parameters()])
    assert all(not torch.equal(before[n], after[n]) for n in before)


def test_two_cpu_processes_train_with_ddp(tmp_path: Path) -> None:
    """`torchrun --nproc_per_node 2 -m kplate train` runs DDP on gloo; only rank 0 writes."""
    root = make_dataroot(tmp_path / "data", count=4)
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "kplate", "train", "--dataroot", str(root), "--name", "ddp",
        "--checkpoints-dir", str(tmp_path / "ck"), "--device", "cpu", "--profile", "lite",
        "--height", "32", "--batch-size", "1", "--num-patches", "16", "--steps", "2",
        "--log-every", "1",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    run = tmp_path / "ck" / "ddp"
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert state["step"] == 2 and state["world_size"] == 2 and len(state["rng"]) == 2
    rows = [json.loads(line) for line in (run / "train.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]  # one writer
    assert done.stdout.count("trained") == 1
