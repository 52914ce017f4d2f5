"""The text-preserving loss: off by default and then exactly plain CUT; on, it steers G
towards outputs its frozen reader reads as the source label; bad options are one line."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from kplate.cli import main
from kplate.gan.config import CUTConfig
from kplate.gan.model import CUTModel, loss_names
from kplate.gan.networks import build_networks
from kplate.gan.text_loss import TextLoss, TextReader, reader_input
from kplate.gan.train import lr_lambda_for
from kplate.render import render_plate

TINY = {"ngf": 4, "n_blocks": 5, "ndf": 4, "netF_nc": 16, "num_patches": 16, "height": 32}
CHARSET = "0123456789가나다라"


class StubModule(nn.Module):
    """A tiny fixed CTC reader: 16 columns of a 16x64 greyscale image -> classes."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.norm = nn.BatchNorm2d(8)
        self.rnn = nn.LSTM(8, 8, bidirectional=True)
        self.head = nn.Linear(16, len(CHARSET) + 1)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        f = torch.relu(self.norm(self.conv(x)))
        cols = nn.functional.adaptive_avg_pool2d(f, (1, 16)).flatten(2).permute(2, 0, 1)
        out, _ = self.rnn(cols)
        return self.head(out).log_softmax(-1)  # (T=16, N, C)


class StubReader:
    charset = CHARSET
    height, width = 16, 64

    def __init__(self) -> None:
        self.module = StubModule()

    def read(self, images: Sequence[np.ndarray]) -> list[str]:
        return ["" for _ in images]


def plates(texts: list[str]) -> torch.Tensor:
    images = [
        cv2.resize(render_plate(t, None, height=32).image, (128, 32), interpolation=cv2.INTER_AREA)
        for t in texts
    ]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1


def three_steps(mode: str, reader: TextReader | None, **overrides: float) -> tuple[list, float]:
    torch.manual_seed(0)
    config = CUTConfig.for_mode(mode, "lite", **TINY, **overrides)
    g, d, f = build_networks(config)
    text_loss = TextLoss(reader) if reader is not None else None
    model = CUTModel(config, g, d, f, lr_lambda_for(3, 0.5), None, text_loss)
    x = plates(["12가3456", "39나2764"])
    y = plates(["45다6789", "11라2222"]).flip(3) * 0.5
    generator = torch.Generator().manual_seed(1)
    for _ in range(3):
        result = model.train_step(x, y, generator, ["12가3456", "39나2764"])
    weights = float(sum(p.detach().double().sum() for p in g.parameters()))
    return result.losses.tolist(), weights


#: Losses after three steps, made by the code before the text loss existed (commit
#: 486aa86, the same script); CPU kernels may differ in the last bits. The sum of G's
#: weights is no such record: Adam turns last-bit differences of tiny gradients into
#: lr-sized steps, so it moved by 0.009 between two CPUs (0.5962 recorded, 0.5874 without
#: AVX-512), more than a text loss of weight 2 moves it (0.005).
BEFORE = {
    "cut": [0.89333, 4e-05, 0.95483, 2.70773, 2.86125, 3.73932, 0.44668],
    "fastcut": [0.89333, 8e-05, 0.93999, 30.10662, 0.0, 31.0466, 0.4467],
}


@pytest.mark.parametrize("mode", ["cut", "fastcut"])
def test_weight_zero_trains_exactly_as_before(mode: str) -> None:
    losses, weights = three_steps(mode, None)
    # Loose enough for another CPU's rounding, far tighter than any extra loss term would
    # move them.
    assert losses == pytest.approx(BEFORE[mode], rel=5e-3, abs=1e-4)
    # A reader given with weight 0 is never called and changes no bit.
    reader = StubReader()
    assert three_steps(mode, reader) == (losses, weights)
    assert reader.module.calls == 0
    assert loss_names(CUTConfig.for_mode(mode, "lite")) == loss_names(
        CUTConfig.for_mode(mode, "lite", lambda_text=0.0)
    )


def test_weight_above_zero_adds_the_loss_and_needs_a_reader() -> None:
    reader = StubReader()
    losses, _ = three_steps("cut", reader, lambda_text=2.0)
    config = CUTConfig.for_mode("cut", "lite", lambda_text=2.0)
    assert loss_names(config)[-1] == "TEXT" and len(losses) == len(loss_names(config))
    assert reader.module.calls == 3 and losses[-1] > 0
    # G's loss is GAN + the mean of the two NCE terms + the weighted text term.
    assert losses[5] == pytest.approx(losses[2] + (losses[3] + losses[4]) / 2 + losses[7])
    g, d, f = build_networks(config)
    with pytest.raises(ValueError, match="text_loss"):
        CUTModel(config, g, d, f, lr_lambda_for(3, 0.5))


def test_loss_reads_only_labelled_plates_and_its_gradient_reaches_the_input() -> None:
    loss = TextLoss(StubReader())
    fake = plates(["12가3456", "39나2764", "12가3456"]).requires_grad_(True)
    assert float(loss(fake, [None, None, None]).detach()) == 0.0
    assert loss.reader.calls == 0  # nothing to judge: no reader pass
    value = loss(fake, ["12가3456", None, "12X"])  # X is not in the reader's charset
    value.backward()
    assert value > 0 and loss.reader.calls == 1
    assert fake.grad[0].abs().sum() > 0
    assert fake.grad[1].abs().sum() == 0 and fake.grad[2].abs().sum() == 0
    # Frozen: no reader parameter learns, and BatchNorm keeps its running statistics.
    assert all(p.grad is None and not p.requires_grad for p in loss.reader.parameters())
    assert not loss.reader.norm.training


def test_reader_input_is_luma_in_unit_range_at_the_reader_size() -> None:
    x = torch.full((1, 3, 8, 32), -1.0)
    x[:, 0] = 1.0  # pure red
    grey = reader_input(x, 16, 64)
    assert grey.shape == (1, 1, 16, 64)
    assert torch.allclose(grey, torch.full_like(grey, 0.299), atol=1e-5)


def test_training_on_the_loss_alone_makes_g_read_as_the_label() -> None:
    """With only the text loss, a few steps move G's output towards the label's reading
    (a confident stub reader: its head scaled up, so its CTC has somewhere to go)."""
    reader = StubReader()
    with torch.no_grad():
        reader.module.head.weight.mul_(8)
    config = CUTConfig.for_mode("cut", "lite", **TINY, lambda_text=1.0)
    torch.manual_seed(0)
    g, _, _ = build_networks(config)
    loss = TextLoss(reader)
    optimiser = torch.optim.Adam(g.parameters(), lr=5e-3)
    x = plates(["12가3456", "39나2764"])
    labels = ["12가3456", "39나2764"]
    with torch.no_grad():
        first = float(loss(g(x), labels))
    for _ in range(20):
        optimiser.zero_grad()
        loss(g(x), labels).backward()
        optimiser.step()
    with torch.no_grad():
        last = float(loss(g(x), labels))
    assert last < first - 0.1


def _labelled_dataroot(root: Path, labelled: bool = True) -> Path:
    for folder in ("trainA", "trainB"):
        (root / folder).mkdir(parents=True)
    rows = []
    for i, text in enumerate(["12가3456", "39나2764", "45다6789", "11라2222"]):
        image = render_plate(text, None, height=32).image
        cv2.imwrite(str(root / "trainA" / f"{i:06d}.png"), image[..., ::-1])
        cv2.imwrite(str(root / "trainB" / f"{i:06d}.png"), (image[..., ::-1] * 0.6).astype("uint8"))
        rows.append([f"{i:06d}.png", text])
    if labelled:
        with open(root / "trainA" / "labels.csv", "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([["file", "text"], *rows])
    return root


def test_a_run_with_the_loss_logs_it_and_uses_the_dataroot_labels(tmp_path: Path) -> None:
    from kplate.gan import TrainOptions, train
    from kplate.gan.data import PlateData

    root = _labelled_dataroot(tmp_path / "data")
    data = PlateData.load(root, 32)
    assert data.labelled_a == 4
    options = TrainOptions(
        root, "run", tmp_path / "ck", steps=2, batch_size=2, progress=False,
        tensorboard=False, save_every=100, image_every=100, log_every=1,
    )  # fmt: skip
    reader = StubReader()
    config = CUTConfig.for_mode("cut", "lite", **TINY, lambda_text=1.0)
    train(config, options, reader=reader)
    assert reader.module.calls == 2
    rows = [json.loads(line) for line in (tmp_path / "ck" / "run" / "train.jsonl").open()]
    assert [r["step"] for r in rows] == [1, 2]
    assert all(r["TEXT"] > 0 for r in rows)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--lambda-text", "-1"], "--lambda-text -1.0: must be in [0, 10000]"),
        (["--lambda-text", "1", "--reader", "MISSING"], "--reader MISSING: no such recogniser"),
        (["--lambda-text", "1", "--reader", "NOTREADER"], "not a kplate recogniser"),
        (["--reader", "NOTREADER"], "--reader is used by --lambda-text only"),
    ],
)
def test_bad_text_loss_options_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, extra: list[str], message: str
) -> None:
    root = _labelled_dataroot(tmp_path / "data")
    (tmp_path / "NOTREADER").write_bytes(b"not a torch file")
    extra = [str(tmp_path / e) if e in {"MISSING", "NOTREADER"} else e for e in extra]
    message = message.replace("MISSING", str(tmp_path / "MISSING"))
    args = ["train", "--dataroot", str(root), "--name", "r", "--checkpoints-dir",
            str(tmp_path / "ck"), "--steps", "1", *extra]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "ck").exists()


def test_text_loss_without_labels_is_refused(tmp_path: Path, capsys) -> None:
    from kplate.gan import TrainOptions, train

    root = _labelled_dataroot(tmp_path / "data", labelled=False)
    options = TrainOptions(root, "r", tmp_path / "ck", steps=1, progress=False, tensorboard=False)
    config = CUTConfig.for_mode("cut", "lite", **TINY, lambda_text=1.0)
    with pytest.raises(Exception, match="needs labelled A plates") as error:
        train(config, options, reader=StubReader())
    assert "lambda_text 1" in str(error.value)
    with pytest.raises(Exception, match="needs a plate reader"):
        train(config, options, reader=None)


def test_labels_come_from_the_dataroot_record_and_train_a_cached_reader(tmp_path: Path) -> None:
    """`kplate dataset` keeps labels in DATAROOT/dataset.json, not beside the images."""
    from kplate.dataset.build import DatasetOptions, Mode, build_dataset
    from kplate.evaluate.text_reader import READER_FILE, cached_reader
    from kplate.gan.data import domain_labels

    assert main(["generate", "--count", "6", "--height", "32", "--out", str(tmp_path / "syn"),
                 "--progress", "False"]) == 0  # fmt: skip
    real = _labelled_dataroot(tmp_path / "real", labelled=False) / "trainB"
    root = tmp_path / "root"
    build_dataset(DatasetOptions(synthetic=tmp_path / "syn", real=real, out=root,
                                 test_fraction=0.0, mode=Mode.LINK, seed=0))  # fmt: skip
    assert not (root / "trainA" / "labels.csv").exists()
    labels = domain_labels(root / "trainA")
    record = json.loads((root / "dataset.json").read_text())
    expected = {Path(r["file"]).name: r["text"] for r in record["splits"]["trainA"]}
    assert labels == expected and len(labels) == 6
    assert domain_labels(root / "trainB") == {}
    reader = cached_reader(tmp_path / "run", root / "trainA", steps=2)
    assert (tmp_path / "run" / READER_FILE).is_file()
    assert reader.recogniser.recipe["train_images"] == 6
    again = cached_reader(tmp_path / "run", root / "trainA", steps=2)
    assert again.path == str(tmp_path / "run" / READER_FILE)


def test_a_reader_is_not_trained_for_a_run_that_would_be_refused(tmp_path: Path, capsys) -> None:
    root = _labelled_dataroot(tmp_path / "data")
    (tmp_path / "ck" / "r").mkdir(parents=True)
    (tmp_path / "ck" / "r" / "checkpoint.pt").write_bytes(b"x")
    base = ["train", "--name", "r", "--checkpoints-dir", str(tmp_path / "ck"), "--lambda-text", "1"]
    assert main([*base, "--dataroot", str(root)]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main([*base, "--dataroot", str(tmp_path / "nothing")]) == 2
    assert "trainA: missing" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "ck" / "r").iterdir()) == ["checkpoint.pt"]
