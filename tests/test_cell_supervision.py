"""kplate's character boxes as a training signal for the recogniser.

A kplate dataset's `metadata.jsonl` gives every character's box; the recipe turns them into
a label for each of the CNN's 5 x 40 feature cells, trains a cell classifier on them, and
trains the row reader on the path they give (`alignment`) beside the CTC readers. Images
without boxes (real crops, labels.csv) train exactly as before.
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
from kplate.evaluate.metrics import ctc_greedy_decode
from kplate.evaluate.recogniser import (
    ALIGNMENT_IGNORE,
    CELL_COLUMNS,
    CELL_IGNORE,
    CELL_ROWS,
    CHARSET,
    HEIGHT,
    WIDTH,
    alignment,
    augment,
    augment_with_cells,
    cell_targets,
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


def test_character_maps_give_each_box_its_place_in_the_label_and_leave_the_rest_blank() -> None:
    big = CharacterBox("1", 0.0, 0.0, 0.5, 1.0)
    small = CharacterBox("가", 0.25, 0.25, 0.5, 0.5)  # inside `big`: drawn over it
    item = LabelledImage(Path("a.jpg"), "1가", "x", "a.jpg", (big, small))
    crop = LabelledImage(Path("b.jpg"), "1가", "x", "b.jpg")
    assert character_maps([crop]) is None  # no boxes: the recipe as before
    maps = character_maps([item, crop])
    assert maps is not None and maps.shape == (2, HEIGHT, WIDTH) and maps.dtype == torch.uint8
    one = maps[0]
    assert (one[:, WIDTH // 2 :] == 0).all()  # right half: between characters
    assert (one[HEIGHT // 4 : HEIGHT // 2, WIDTH // 4 : WIDTH // 2] == 2).all()  # 가
    assert (one[: HEIGHT // 4, : WIDTH // 2] == 1).all()  # 1
    assert (one[HEIGHT // 2 :, : WIDTH // 2] == 1).all()
    assert (maps[1] == CELL_IGNORE).all()


def test_cell_targets_turn_places_into_classes_and_leave_images_without_boxes_out() -> None:
    positions = torch.zeros(2, CELL_ROWS, CELL_COLUMNS, dtype=torch.long)
    positions[0, 1:4, 3:6] = 1  # 1
    positions[0, 1:4, 8:11] = 2  # 가
    positions[1] = CELL_IGNORE  # a real crop
    classes, path = cell_targets(positions, ["1가", "1가"])
    assert (classes[0, 1:4, 3:6] == klass("1")).all()
    assert (classes[0, 1:4, 8:11] == klass("가")).all()
    assert int((classes[0] == 0).sum()) == CELL_ROWS * CELL_COLUMNS - 18
    assert (classes[1] == CELL_IGNORE).all()
    assert path.shape == (2, CELL_ROWS * CELL_COLUMNS)
    assert (path[1] == ALIGNMENT_IGNORE).all()
    assert path[0].tolist().count(klass("1")) == path[0].tolist().count(klass("가")) == 1


def read_path(path) -> str:
    """The text that the row reader emits when it follows `path` (left-out cells: blank)."""
    flat = torch.as_tensor(path).reshape(-1).clamp_min(0).tolist()
    return ctc_greedy_decode([flat], CHARSET)[0]


def test_a_one_row_plate_is_emitted_in_the_row_of_its_centre_once_per_character() -> None:
    cells = torch.zeros(CELL_ROWS, CELL_COLUMNS, dtype=torch.long)
    for k in range(4):  # 12가3, tilted: each character a little higher than the last
        top = 2 if k < 2 else 1
        cells[top : top + 3, 4 + 6 * k : 8 + 6 * k] = k + 1
    path = alignment(cells.numpy(), "12가3")
    assert path is not None and path.shape == (CELL_ROWS, CELL_COLUMNS)
    emitted = [(int(r), int(c)) for r, c in zip(*((path > 0).nonzero()), strict=True)]
    assert emitted == [(3, 6), (3, 12), (3, 18), (3, 24)]  # centres 3.5, 3.5, 2.5, 2.5
    assert read_path(path) == "12가3"
    assert (path[3, 4:8] == [ALIGNMENT_IGNORE] * 2 + [klass("1"), ALIGNMENT_IGNORE]).all()
    assert (path[2, 4:8] == ALIGNMENT_IGNORE).all()  # within a quarter row of the centre
    assert all((path[row] == 0).all() for row in (0, 1, 4))  # farther rows: blank
    assert (path[3, :4] == 0).all() and (path[3, 8:10] == 0).all()  # between characters


def test_a_two_row_plate_is_emitted_top_line_first_each_in_its_own_row() -> None:
    cells = torch.zeros(CELL_ROWS, CELL_COLUMNS, dtype=torch.long)
    cells[0, 10:14], cells[0, 15:19] = 1, 2  # 서울 (top line)
    cells[2:5, 4:8], cells[2:5, 9:13], cells[2:5, 14:18] = 3, 4, 5  # 가12 (bottom line)
    path = alignment(cells.numpy(), "서울가12")
    assert path is not None
    assert read_path(path) == "서울가12"
    assert set(path[0].tolist()) >= {klass("서"), klass("울")}
    assert klass("가") in path[3].tolist()


def test_no_path_where_a_character_is_on_no_cell_or_two_lines_share_a_row() -> None:
    cells = torch.zeros(CELL_ROWS, CELL_COLUMNS, dtype=torch.long)
    cells[1:4, 4:8] = 1
    assert alignment(cells.numpy(), "12") is None  # 2 moved out of the image
    cells[1:4, 10:14] = 2
    cells[1:4, 2:4] = 3  # a second line at the same height as the first
    assert alignment(cells.numpy(), "123") is None
    positions = torch.from_numpy(cells.numpy())[None]
    classes, path = cell_targets(positions, ["123"])
    assert (path == ALIGNMENT_IGNORE).all()  # no path, but the cells still train
    assert (classes[0, 1:4, 4:8] == klass("1")).all()


def test_the_path_of_every_jittered_kplate_plate_spells_its_label(boxed) -> None:
    """Whatever layout and jitter, a path that exists is a CTC path of the label."""
    items = load_labelled(boxed)
    arrays = torch.rand(len(items), 1, HEIGHT, WIDTH)
    maps = character_maps(items)
    assert maps is not None
    texts = [item.text for item in items]
    found = 0
    for seed in range(8):
        _, positions = augment_with_cells(arrays, maps, torch.Generator().manual_seed(seed))
        _, paths = cell_targets(positions, texts)
        for text, path in zip(texts, paths, strict=True):
            if (path != ALIGNMENT_IGNORE).any():
                found += 1
                assert read_path(path) == text
    assert found >= 0.8 * 8 * len(items)


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
    seven = cells == 1  # the label's first character
    assert seven.sum() > 16 * 20 and (cells == 0).sum() > 16 * 40
    assert centres[seven].mean() > 0.8 and centres[cells == 0].mean() < 0.2
    assert set(cells.unique().tolist()) == {0, 1}
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
    """Without boxes a training is the recipe's CTC training (as with the cell and
    alignment losses weighted 0, up to the rounding of a gradient norm over one more,
    zero, gradient); with them those losses change the training, and the classifier's
    weights move only then."""
    items = load_labelled(boxed)
    bare = [replace(item, boxes=None) for item in items]
    without = train_recogniser([bare], steps=4, seed=2)
    assert without.recipe["cell_labelled_images"] == 0
    with_boxes = train_recogniser([items], steps=4, seed=2)
    assert with_boxes.recipe["cell_labelled_images"] == 12
    assert with_boxes.history != without.history
    monkeypatch.setattr(module, "ALIGNMENT_LOSS_WEIGHT", 0.0)
    cells_only = train_recogniser([items], steps=4, seed=2)
    assert [loss for _, loss in cells_only.history] != pytest.approx(
        [loss for _, loss in with_boxes.history], rel=1e-3
    )  # the alignment loss changes the training too
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
