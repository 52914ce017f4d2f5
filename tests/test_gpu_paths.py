"""The CUDA code paths, exercised on the CPU where they can be: they are chosen only on
CUDA, and where they run on a CPU (channels-last, the text loss under autocast) they do
not change the results."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kplate.cli import main
from kplate.gan.config import CUTConfig
from kplate.gan.model import CUTModel
from kplate.gan.networks import build_networks
from kplate.gan.text_loss import TextLoss
from kplate.gan.train import _amp_dtype, lr_lambda_for
from test_text_loss import TINY, StubReader, plates


def test_mixed_precision_is_chosen_on_cuda_only() -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert all(_amp_dtype(c, cpu) is None for c in ("auto", "bf16", "fp16", "off"))
    assert _amp_dtype("bf16", cuda) is torch.bfloat16
    assert _amp_dtype("fp16", cuda) is torch.float16
    assert _amp_dtype("off", cuda) is None


def _steps(channels_last: bool, text: bool) -> tuple[list[float], torch.Tensor]:
    torch.manual_seed(0)
    config = CUTConfig.for_mode("cut", "lite", **TINY, lambda_text=1.0 if text else 0.0)
    nets = build_networks(config)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for net in nets:
        net.to(memory_format=fmt)
    loss = TextLoss(StubReader()) if text else None
    model = CUTModel(config, *nets, lr_lambda_for(3, 0.5), None, loss)
    x = plates(["12가3456", "39나2764"]).contiguous(memory_format=fmt)
    y = (plates(["45다6789", "11라2222"]).flip(3) * 0.5).contiguous(memory_format=fmt)
    generator = torch.Generator().manual_seed(1)
    # One step: after it Adam turns rounding-level gradient differences of near-zero
    # gradients into whole lr-sized steps, so later steps are not comparable bit for bit.
    result = model.train_step(x, y, generator, ["12가3456", "39나2764"])
    return result.losses.tolist(), result.fake_B.contiguous()


@pytest.mark.parametrize("text", [False, True])
def test_channels_last_gives_the_same_training_on_cpu(text: bool) -> None:
    plain_losses, plain_fake = _steps(False, text)
    last_losses, last_fake = _steps(True, text)
    assert last_losses == pytest.approx(plain_losses, rel=2e-5, abs=1e-6)
    assert torch.allclose(plain_fake, last_fake, atol=2e-5)


def test_text_loss_is_float32_under_autocast() -> None:
    """Under a (CPU) bfloat16 autocast, as G runs under CUDA autocast, the reader and its
    CTC stay in float32: the same value as without autocast."""
    loss = TextLoss(StubReader())
    fake = plates(["12가3456", "39나2764"])
    labels = ["12가3456", "39나2764"]
    plain = loss(fake, labels)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        cast = loss(fake, labels)
    assert cast.dtype == torch.float32 and torch.equal(plain, cast)


def test_compile_is_refused_off_cuda(tmp_path: Path, capsys) -> None:
    from test_text_loss import _labelled_dataroot

    root = _labelled_dataroot(tmp_path / "data")
    args = ["train", "--dataroot", str(root), "--name", "c", "--checkpoints-dir",
            str(tmp_path / "ck"), "--steps", "1", "--device", "cpu", "--compile"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "--compile applies to CUDA runs only; this run is on cpu" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "ck" / "c" / "checkpoint.pt").exists()
