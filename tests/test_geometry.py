"""Translation keeps the plate's geometry: the same size, and every character box of the
record still sits on its character's edges in the translated image (not shifted)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from kplate.cli import main
from kplate.gan.config import CUTConfig
from kplate.gan.edge_score import edge_map
from kplate.gan.networks import ResnetGenerator
from kplate.gan.translate import translated_entry
from kplate.gan.translator import ModelInfo, Translator
from kplate.io.manifest import read_metadata

SHIFTS = range(-3, 4)


class StyleGenerator(nn.Module):
    """A fixed 'translation' that changes colour and sharpness but, like a trained
    generator should, moves nothing: colour mixing, a tint and a 3x3 blur."""

    def __init__(self, height: int) -> None:
        super().__init__()
        self.config = CUTConfig.for_mode("cut", "lite", height=height)
        self.mix = torch.tensor([[0.2, 0.5, 0.2], [0.1, 0.7, 0.1], [0.3, 0.3, 0.3]])
        self.blur = (torch.tensor([1.0, 2.0, 1.0])[:, None] * torch.tensor([1.0, 2.0, 1.0])) / 16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.einsum("oc,nchw->nohw", self.mix, x) * 0.8 - 0.1
        kernel = self.blur.view(1, 1, 3, 3).repeat(3, 1, 1, 1)
        return F.conv2d(F.pad(y, (1, 1, 1, 1), mode="reflect"), kernel, groups=3)


def best_shift(source: np.ndarray, translated: np.ndarray, box: list[int]) -> tuple[int, int]:
    """The (dx, dy) at which the translated edges inside `box` best match the source's."""
    x0, y0, x1, y1 = box
    a = edge_map(source)[y0:y1, x0:x1].astype(np.float64).ravel()
    b_full = np.pad(edge_map(translated), 3, mode="edge")
    scores = {}
    for dy in SHIFTS:
        for dx in SHIFTS:
            b = b_full[y0 + 3 + dy : y1 + 3 + dy, x0 + 3 + dx : x1 + 3 + dx].astype(np.float64)
            scores[dx, dy] = np.corrcoef(a, b.ravel())[0, 1]
    return max(scores, key=lambda k: scores[k])


@pytest.fixture(scope="module")
def plates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("geometry") / "plates"
    args = ["generate", "--count", "6", "--seed", "11", "--out", str(out), "--format", "png",
            "--progress", "False",
            "--types", "private_2digit,commercial_two_row,large_commercial"]  # fmt: skip
    assert main(args) == 0
    return out


@pytest.mark.parametrize("model_height", [64, 112])
def test_translated_plates_keep_size_and_every_character_box(plates: Path, model_height) -> None:
    """Through the Translator's resize to the model's shape and back, at the default
    model height (64) and one above the plates' 110 px: sizes equal, boxes copied, edges
    not moved. (At height 32 a two-row plate's small top characters are 7 px tall in the
    model and their edges blur out: the best shift is then noise, not a bias.)"""
    entries = read_metadata(plates / "metadata.jsonl")
    sources = [np.asarray(Image.open(plates / e["file_name"]).convert("RGB")) for e in entries]
    translator = Translator(StyleGenerator(model_height), "cpu", batch_size=4)
    outputs = translator.translate(sources)
    model = ModelInfo("style", "-", None, "cut", "lite")
    boxes_checked = 0
    for i, (entry, source, output) in enumerate(zip(entries, sources, outputs, strict=True)):
        assert output.shape == source.shape
        assert not np.array_equal(output, source)  # it did translate
        record = translated_entry(_Item(entry), i, source, output, model)
        assert record["chars"] == entry["chars"] and record["quad"] == entry["quad"]
        for char in entry["chars"]:
            assert best_shift(source, output, char["box"]) == (0, 0), (entry["text"], char)
            boxes_checked += 1
    assert boxes_checked >= 40


def test_a_shifted_translation_is_caught() -> None:
    """The check can fail: the same style moved by 2 px is found 2 px off."""
    rng = np.random.default_rng(0)
    source = np.zeros((40, 80, 3), np.uint8)
    for x in range(6, 70, 14):
        source[8:32, x : x + 6] = rng.integers(150, 255)
    moved = np.roll(source, 2, axis=1)
    assert best_shift(source, moved, [4, 6, 40, 34]) == (2, 0)


@pytest.mark.parametrize("shape", [(64, 304), (64, 128), (32, 152), (48, 96)])
def test_generator_output_has_its_input_size(shape: tuple[int, int]) -> None:
    """Every bucket shape (width a multiple of 8, height of 4) comes back at its size."""
    config = CUTConfig.for_mode("fastcut", "lite", ngf=4, n_blocks=1, nce_layers=(0, 4, 8))
    generator = ResnetGenerator(config).eval()
    with torch.no_grad():
        out = generator(torch.zeros(1, 3, *shape))
    assert out.shape == (1, 3, *shape)


class _Item:
    def __init__(self, entry: dict) -> None:
        self.entry, self.file_name = entry, entry["file_name"]
