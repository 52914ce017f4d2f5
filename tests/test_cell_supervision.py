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

import numpy as np
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
    augment_with_maps,
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
def every_type(tmp_path_factory) -> Path:
    config = GenerateConfig(count=60, seed=4, types=tuple(PlateType))
    out = tmp_path_factory.mktemp("every_type") / "set"
    write_dataset(config, WriteOptions(out=out, progress=False))
    return out


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


def draw(places: torch.Tensor, place: int, rows: tuple[int, int], columns: tuple[int, int]) -> None:
    """Put the label's character `place` (1: the first) over feature cells rows[0]..rows[1]
    and columns[0]..columns[1] (inclusive) of a (HEIGHT, WIDTH) map."""
    top, bottom = rows[0] * (HEIGHT // CELL_ROWS), (rows[1] + 1) * (HEIGHT // CELL_ROWS)
    left, right = columns[0] * (WIDTH // CELL_COLUMNS), (columns[1] + 1) * (WIDTH // CELL_COLUMNS)
    places[top:bottom, left:right] = place


def blank_map() -> torch.Tensor:
    return torch.zeros(HEIGHT, WIDTH, dtype=torch.long)


def test_cell_targets_turn_places_into_classes_and_leave_images_without_boxes_out() -> None:
    maps = torch.zeros(2, HEIGHT, WIDTH, dtype=torch.long)
    draw(maps[0], 1, (1, 3), (3, 5))  # 1
    draw(maps[0], 2, (1, 3), (8, 10))  # 가
    maps[1] = CELL_IGNORE  # a real crop
    classes, path = cell_targets(maps, ["1가", "1가"])
    assert classes.shape == (2, CELL_ROWS, CELL_COLUMNS)
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


def emitted(path) -> list[tuple[int, int]]:
    rows, columns = (torch.as_tensor(path) > 0).nonzero().T
    return list(zip(rows.tolist(), columns.tolist(), strict=True))


def test_a_one_row_plate_is_emitted_in_the_row_of_its_centre_once_per_character() -> None:
    places = blank_map()
    for k in range(4):  # 12가3, tilted: each character a little higher than the last
        top = 2 if k < 2 else 1
        draw(places, k + 1, (top, top + 2), (4 + 6 * k, 7 + 6 * k))
    path = alignment(places.numpy(), "12가3")
    assert path is not None and path.shape == (CELL_ROWS, CELL_COLUMNS)
    assert emitted(path) == [(3, 6), (3, 12), (3, 18), (3, 24)]  # centres 3.5, 3.5, 2.5, 2.5
    assert read_path(path) == "12가3"
    assert (path[3, 4:8] == [ALIGNMENT_IGNORE] * 2 + [klass("1"), ALIGNMENT_IGNORE]).all()
    assert (path[2, 4:8] == ALIGNMENT_IGNORE).all()  # within a quarter row of the centre
    assert all((path[row] == 0).all() for row in (0, 1, 4))  # farther rows: blank
    assert (path[3, :4] == 0).all() and (path[3, 8:10] == 0).all()  # between characters


def test_a_two_row_plate_is_emitted_top_line_first_each_in_its_own_row() -> None:
    places = blank_map()
    draw(places, 1, (0, 0), (10, 13))  # 서 (top line)
    draw(places, 2, (0, 0), (15, 18))  # 울
    for k, left in enumerate((4, 9, 14)):  # 가12 (bottom line)
        draw(places, k + 3, (2, 4), (left, left + 3))
    path = alignment(places.numpy(), "서울가12")
    assert path is not None
    assert read_path(path) == "서울가12"
    assert emitted(path) == [(0, 12), (0, 17), (3, 6), (3, 11), (3, 16)]


def test_a_region_name_stacked_at_the_left_of_a_one_row_plate_stays_in_its_line() -> None:
    """부산 in two small lines at the left, then 82 (commercial_long, construction_regional):
    the stacked syllables are read one cell apart in the plate's row."""
    places = blank_map()
    draw(places, 1, (1, 2), (4, 7))  # 부
    draw(places, 2, (3, 4), (4, 7))  # 산, under it
    draw(places, 3, (1, 4), (9, 12))  # 8
    draw(places, 4, (1, 4), (14, 17))  # 2
    path = alignment(places.numpy(), "부산82")
    assert path is not None
    assert emitted(path) == [(3, 6), (3, 7), (3, 11), (3, 16)]
    assert read_path(path) == "부산82"


def test_a_line_that_would_share_the_row_before_it_is_read_a_row_lower() -> None:
    places = blank_map()
    places[46:52, 40:56] = 1  # 서: a flat top line whose centre is in row 3 ...
    places[46:52, 60:76] = 2  # 울
    places[52:75, 16:40] = 3  # 가: ... as is the bottom line's
    places[52:75, 44:68] = 4  # 1
    path = alignment(places.numpy(), "서울가1")
    assert path is not None
    assert [row for row, _ in emitted(path)] == [3, 3, 4, 4]
    assert read_path(path) == "서울가1"


def test_no_path_where_a_character_shows_nowhere_or_has_no_room() -> None:
    places = blank_map()
    draw(places, 1, (1, 3), (4, 7))
    assert alignment(places.numpy(), "12") is None  # 2 moved out of the image
    draw(places, 2, (1, 3), (10, 13))
    draw(places, 3, (1, 3), (11, 11))  # 3 over 2: no column of its own right of 2's
    assert alignment(places.numpy(), "123") is None
    classes, path = cell_targets(places[None], ["123"])
    assert (path == ALIGNMENT_IGNORE).all()  # no path, but the cells still train
    assert (classes[0, 1:4, 11] == klass("3")).all()
    assert (classes[0, 1:4, 12:14] == klass("2")).all()
    for rows, readable in (((2, 3, 4), True), ((4, 3, 2), False)):
        lines = blank_map()  # three lines, each starting left of the one before
        for place, row in enumerate(rows):
            draw(lines, place + 1, (row, row), (20 - 10 * place, 23 - 10 * place))
        path = alignment(lines.numpy(), "123")
        if readable:
            assert path is not None and [row for row, _ in emitted(path)] == [2, 3, 4]
        else:  # under the first line at row 4, the second one has no row left
            assert path is None


def test_the_path_of_every_jittered_kplate_plate_spells_its_label(every_type) -> None:
    """Whatever the layout and the jitter, a path that exists is a CTC path of the label,
    and nearly every plate of every type has one (region names stacked or small, a
    hyphen, two lines)."""
    items = load_labelled(every_type)
    arrays = torch.rand(len(items), 1, HEIGHT, WIDTH)
    maps = character_maps(items)
    assert maps is not None
    texts = [item.text for item in items]
    found: dict[str, int] = {}
    for seed in range(4):
        _, moved = augment_with_maps(arrays, maps, torch.Generator().manual_seed(seed))
        _, paths = cell_targets(moved, texts)
        for item, path in zip(items, paths, strict=True):
            if (path != ALIGNMENT_IGNORE).any():
                found[item.type] = found.get(item.type, 0) + 1
                assert read_path(path) == item.text
    counts = {t: 4 * sum(1 for item in items if item.type == t) for t in {i.type for i in items}}
    assert len(counts) == len(PlateType)
    assert sum(found.values()) >= 0.9 * sum(counts.values())
    assert all(found.get(t, 0) >= 0.5 * n for t, n in counts.items()), (found, counts)


def test_character_maps_follow_the_image_through_the_jitter() -> None:
    """The same random numbers as `augment`, and each pixel's label is what it now shows:
    a bright box drawn and labelled at several places, jittered; labelled pixels are
    bright, background pixels dark."""
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
    relative = torch.ones(16, dtype=torch.bool)  # boxes: the jitter scaled by the spread
    plain, _ = module._augment(batch, None, torch.Generator().manual_seed(5), relative)
    moved, places = augment_with_maps(batch, maps, torch.Generator().manual_seed(5))
    assert torch.equal(plain, moved)
    assert not torch.equal(augment(batch, torch.Generator().manual_seed(5)), moved)
    assert places.shape == (16, HEIGHT, WIDTH)
    seven = places == 1  # the label's first character
    assert seven.sum() > 16 * 1500 and (places == 0).sum() > 16 * 8000
    assert moved[:, 0][seven].mean() > 0.8 and moved[:, 0][places == 0].mean() < 0.2
    assert set(places.unique().tolist()) == {0, 1}
    crop = LabelledImage(Path("crop.png"), "7", "x", "crop.png")  # a real crop: no boxes
    mixed = character_maps([*items[:3], crop])
    assert mixed is not None
    boxed_maps = character_maps(items[:4])
    assert boxed_maps is not None
    _, mixed_places = augment_with_maps(batch[:4], mixed, torch.Generator().manual_seed(5))
    _, boxed_places = augment_with_maps(batch[:4], boxed_maps, torch.Generator().manual_seed(5))
    assert (mixed_places[3] == CELL_IGNORE).all()  # not background where the jitter moved in
    assert torch.equal(mixed_places[:3], boxed_places[:3])
    assert (boxed_places[3] != CELL_IGNORE).all()


def test_only_images_with_boxes_train_the_cell_classifier(boxed, monkeypatch) -> None:
    """Without boxes a training is the recipe's CTC training (as with the cell and
    alignment losses weighted 0, up to the rounding of a gradient norm over one more,
    zero, gradient); with them those losses change the training, and the classifier's
    weights move only then. In float32 throughout: a set with boxes on every image would
    otherwise train in bfloat16 from its first step where the CPU has it natively, and
    its losses would differ from the boxless training's by that rounding alone."""
    monkeypatch.setattr(module, "fast_bfloat16", lambda: False)
    jitter = module._augment  # the jitter as on real crops, so that only the losses differ
    monkeypatch.setattr(
        module, "_augment", lambda batch, maps, gen, relative=None: jitter(batch, maps, gen)
    )
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
    parts_only = train_recogniser([items], steps=4, seed=2)
    monkeypatch.setattr(module, "JAMO_LOSS_WEIGHT", 0.0)
    weighted_0 = train_recogniser([items], steps=4, seed=2)
    assert [loss for _, loss in parts_only.history] != pytest.approx(
        [loss for _, loss in weighted_0.history], rel=1e-3
    )  # the Hangul-parts loss changes the training
    losses = [loss for _, loss in without.history]
    assert [loss for _, loss in weighted_0.history] == pytest.approx(losses, rel=1e-5)
    assert [loss for _, loss in with_boxes.history] != pytest.approx(losses, rel=1e-3)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)
        start = module.CRNN(len(CHARSET) + 1)
    for head in ("cells", "cell_parts", "row_parts"):
        assert torch.equal(getattr(without.model, head).weight, getattr(start, head).weight)
        assert not torch.equal(getattr(with_boxes.model, head).weight, getattr(start, head).weight)


def test_hangul_parts_are_the_unicode_decomposition_and_nothing_for_the_rest() -> None:
    """머 and 마 share their initial consonant and differ in the vowel; 광 has a final; a
    digit, a dash and the blank have no Hangul parts."""
    assert module.hangul_parts("가") == (1, 1, 1)
    assert module.hangul_parts("마")[0] == module.hangul_parts("머")[0] == 7
    assert module.hangul_parts("마")[1:] == (1, 1) and module.hangul_parts("머")[1:] == (5, 1)
    assert module.hangul_parts("광") == (1, 10, 22)  # ㄱ, ㅘ, ㅇ
    assert module.hangul_parts("힣") == (19, 21, 28)
    for char in "07-":
        assert module.hangul_parts(char) == (0, 0, 0)
    assert module.PARTS_OF_CLASS[0].tolist() == [0, 0, 0]
    for char, index in module.CLASS_OF.items():
        assert tuple(module.PARTS_OF_CLASS[index].tolist()) == module.hangul_parts(char)
    assert (module.PARTS_OF_CLASS.max(0).values < torch.tensor(module.JAMO_PARTS)).all()


def test_the_parts_loss_reads_each_part_and_leaves_ignored_targets_out() -> None:
    """A head that puts all its weight on a syllable's true parts has no loss; one wrong
    vowel costs a third of its cross-entropy; ignored targets count for nothing."""
    sure = 30.0
    mo, ma = module.CLASS_OF["머"], module.CLASS_OF["마"]
    offsets = np.cumsum((0, *module.JAMO_PARTS[:-1]))

    def logits_for(char: str) -> torch.Tensor:
        out = torch.full((sum(module.JAMO_PARTS),), -sure)
        for offset, part in zip(offsets, module.hangul_parts(char), strict=True):
            out[offset + part] = sure
        return out

    right = torch.stack([logits_for("머"), logits_for("1")])
    classes = torch.tensor([mo, module.CLASS_OF["1"]])
    assert float(module.parts_loss(right, classes, -1)) == pytest.approx(0.0, abs=1e-6)
    wrong = logits_for("마").unsqueeze(0)
    one_wrong = float(module.parts_loss(wrong, torch.tensor([mo]), -1))
    assert one_wrong == pytest.approx(2 * sure / 3, rel=1e-3)
    assert float(module.parts_loss(wrong, torch.tensor([ma]), -1)) == pytest.approx(0, abs=1e-6)
    mixed = module.parts_loss(torch.cat([wrong, right]), torch.tensor([-1, mo, -1]), -1)
    assert float(mixed) == pytest.approx(0.0, abs=1e-6)
    assert float(module.parts_loss(wrong, torch.tensor([-1]), -1)) == 0.0
