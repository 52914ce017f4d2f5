"""The recogniser's cell classifier: kplate's character boxes as a training signal.

A kplate dataset's `metadata.jsonl` gives every character's box; the recipe turns them into
a label for each of the CNN's 5 x 40 feature cells and trains a cell classifier beside the
CTC readers. Images without boxes (real crops, labels.csv) train exactly as before.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from helpers import one_torch_thread
from kplate.errors import KplateError
from kplate.evaluate import recogniser as module
from kplate.evaluate.data import CharacterBox, LabelledImage, load_labelled
from kplate.evaluate.recogniser import (
    CELL_IGNORE,
    CHARSET,
    HEIGHT,
    WIDTH,
    augment,
    augment_with_cells,
    character_maps,
    train_recogniser,
)
from kplate.pipeline import GenerateConfig, WriteOptions, write_dataset
from kplate.spec.types import PlateType


@pytest.fixture(scope="module", autouse=True)
def one_thread_per_module():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def boxed(tmp_path_factory) -> Path:
    types = (PlateType.PRIVATE_2DIGIT, PlateType.COMMERCIAL_TWO_ROW)
    config = GenerateConfig(count=12, seed=3, height=40, types=types)
    out = tmp_path_factory.mktemp("boxed") / "set"
    write_dataset(config, WriteOptions(out=out, progress=False))
    return out


def klass(char: str) -> int:
    return CHARSET.index(char) + 1


def test_a_kplate_dataset_gives_each_character_box_as_fractions(boxed) -> None:
    items = load_labelled(boxed)
    entries = [json.loads(line) for line in (boxed / "metadata.jsonl").read_text().splitlines()]
    assert len(items) == len(entries) == 12
    for item, entry in zip(items, entries, strict=True):
        assert item.boxes is not None
        assert "".join(box.char for box in item.boxes) == item.text
        first = entry["chars"][0]["box"]
        assert item.boxes[0].left == pytest.approx(first[0] / entry["width"])
        assert item.boxes[0].bottom == pytest.approx(first[3] / entry["height"])
        for box in item.boxes:
            assert 0 <= box.left < box.right <= 1 and 0 <= box.top < box.bottom <= 1


def test_boxes_that_no_longer_spell_the_label_are_dropped_and_broken_ones_named(
    boxed, tmp_path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(boxed, copy)
    lines = (copy / "metadata.jsonl").read_text().splitlines()
    edited = json.loads(lines[0])
    edited["text"] = "99가" + edited["text"][-4:]  # a label edited by hand
    lines[0] = json.dumps(edited, ensure_ascii=False)
    (copy / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    items = load_labelled(copy)
    assert items[0].boxes is None and items[0].text == edited["text"]
    assert all(item.boxes for item in items[1:])
    broken = json.loads(lines[1])
    broken["chars"][0]["box"] = [1, 2, 3]
    lines[1] = json.dumps(broken, ensure_ascii=False)
    (copy / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(KplateError, match=rf"metadata\.jsonl: {broken['file_name']}: bad char"):
        load_labelled(copy)


def test_character_maps_label_each_box_and_leave_the_rest_blank() -> None:
    big = CharacterBox("1", 0.0, 0.0, 0.5, 1.0)
    small = CharacterBox("가", 0.25, 0.25, 0.5, 0.5)  # inside `big`: drawn over it
    item = LabelledImage(Path("a.jpg"), "1가", "x", "a.jpg", (big, small))
    crop = LabelledImage(Path("b.jpg"), "1가", "x", "b.jpg")
    assert character_maps([crop]) is None  # no boxes: the recipe as before
    maps = character_maps([item, crop])
    assert maps is not None and maps.shape == (2, HEIGHT, WIDTH) and maps.dtype == torch.uint8
    one = maps[0]
    assert (one[:, WIDTH // 2 :] == 0).all()  # right half: between characters
    assert (one[HEIGHT // 4 : HEIGHT // 2, WIDTH // 4 : WIDTH // 2] == klass("가")).all()
    assert (one[: HEIGHT // 4, : WIDTH // 2] == klass("1")).all()
    assert (one[HEIGHT // 2 :, : WIDTH // 2] == klass("1")).all()
    assert (maps[1] == CELL_IGNORE).all()


def test_cell_labels_follow_the_image_through_the_jitter() -> None:
    """The same random numbers as `augment`, and each cell's label is what it now shows:
    a bright box drawn and labelled at several places, jittered; labelled cells are bright,
    background cells dark."""
    images, items = [], []
    for n in range(16):
        left, top = 0.05 * (n % 8), 0.1 + 0.05 * (n // 8)
        box = CharacterBox("7", left, top, left + 0.3, top + 0.5)
        image = torch.zeros(HEIGHT, WIDTH)
        image[round(top * HEIGHT) : round(box.bottom * HEIGHT),
              round(left * WIDTH) : round(box.right * WIDTH)] = 1.0  # fmt: skip
        images.append(image)
        items.append(LabelledImage(Path(f"{n}.png"), "7", "x", f"{n}.png", (box,)))
    batch = torch.stack(images).unsqueeze(1)
    maps = character_maps(items)
    assert maps is not None
    plain = augment(batch, torch.Generator().manual_seed(5))
    moved, cells = augment_with_cells(batch, maps, torch.Generator().manual_seed(5))
    assert torch.equal(plain, moved)
    assert cells.shape == (16, 5, 40)
    centres = moved[:, 0, 8::16, 2::4]  # each cell's centre pixel
    seven = cells == klass("7")
    assert seven.sum() > 16 * 20 and (cells == 0).sum() > 16 * 40
    assert centres[seven].mean() > 0.8 and centres[cells == 0].mean() < 0.2
    assert set(cells.unique().tolist()) == {0, klass("7")}
    crop = LabelledImage(Path("crop.png"), "7", "x", "crop.png")  # a real crop: no boxes
    mixed = character_maps([*items[:3], crop])
    assert mixed is not None
    boxed_maps = character_maps(items[:4])
    assert boxed_maps is not None
    _, mixed_cells = augment_with_cells(batch[:4], mixed, torch.Generator().manual_seed(5))
    _, boxed_cells = augment_with_cells(batch[:4], boxed_maps, torch.Generator().manual_seed(5))
    assert (mixed_cells[3] == CELL_IGNORE).all()  # not background where the jitter moved in
    assert torch.equal(mixed_cells[:3], boxed_cells[:3])
    assert (boxed_cells[3] != CELL_IGNORE).all()


def test_only_images_with_boxes_train_the_cell_classifier(boxed, monkeypatch) -> None:
    """Without boxes a training is the recipe's CTC training (as with the cell loss
    weighted 0, up to the rounding of a gradient norm over one more, zero, gradient);
    with them the cell loss changes the training, and the classifier's weights move only
    then."""
    items = load_labelled(boxed)
    bare = [replace(item, boxes=None) for item in items]
    without = train_recogniser([bare], steps=4, seed=2)
    assert without.recipe["cell_labelled_images"] == 0
    with_boxes = train_recogniser([items], steps=4, seed=2)
    assert with_boxes.recipe["cell_labelled_images"] == 12
    assert with_boxes.history != without.history
    monkeypatch.setattr(module, "CELL_LOSS_WEIGHT", 0.0)
    weighted_0 = train_recogniser([items], steps=4, seed=2)
    losses = [loss for _, loss in without.history]
    assert [loss for _, loss in weighted_0.history] == pytest.approx(losses, rel=1e-5)
    assert [loss for _, loss in with_boxes.history] != pytest.approx(losses, rel=1e-3)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)
        start = module.CRNN(len(CHARSET) + 1)
    assert torch.equal(without.model.cells.weight, start.cells.weight)
    assert not torch.equal(with_boxes.model.cells.weight, start.cells.weight)
