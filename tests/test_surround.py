"""The surround group (frame, dealer bar, screws, plate lamps, plate edge) draws around the
plate and never over a character; its params are recorded and replay exactly."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from kplate.augment import PRESETS, build_augmenter
from kplate.errors import KplateError
from kplate.render import Renderer
from kplate.spec.types import EXAMPLES, PlateType

EVERYTHING = """\
geometry:
  rotate: {p: 1, deg: [-6, 6]}
  perspective: {p: 1, amount: [0, 0.05]}
  margin: {p: 1, x: [0.05, 0.2], y: [0.2, 0.6]}
surround:
  thickness: {p: 1, depth: [0.02, 0.06]}
  frame: {p: 1, kind: [chrome, black, silver], width: [0.05, 0.2], lip: [0.5, 1], shadow: [0.3, 1]}
  dealer: {p: 1, bar: [0.15, 0.4], size: [0.5, 0.9]}
  screws: {p: 1, size: [1.5, 3.0], shade: [0, 1]}
  lights: {p: 1, intensity: [0.2, 1]}
"""


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def _augmenter(tmp_path, text: str = EVERYTHING):
    path = tmp_path / "around.yaml"
    path.write_text(text, encoding="utf-8")
    return build_augmenter(str(path))


def _without(params: dict, *effects: str) -> dict:
    out = json.loads(json.dumps(params))
    for effect in effects or list(out.get("surround", {})):
        out["surround"].pop(effect, None)
    return out


def _inside(quad, shape, ring: int = 1) -> np.ndarray:
    """Pixels at least `ring` pixels inside `quad` (its bilinear footprint inside)."""
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(np.asarray(quad) * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    return cv2.erode(mask, np.ones((2 * ring + 1,) * 2, np.uint8)).astype(bool)


def test_nothing_is_drawn_over_a_character(renderer, tmp_path) -> None:
    """Every character's warped quad shows the plate as it would without the group (one
    warp carries plate and surroundings, so resampling may round one level apart)."""
    augmenter = _augmenter(tmp_path)
    changed = 0
    for seed, plate_type in enumerate(list(PlateType) * 3):
        plate = renderer.render(EXAMPLES[plate_type], plate_type, height=110)
        image, record, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        assert set(params["surround"]) == {"thickness", "frame", "dealer", "screws", "lights"}
        bare, bare_record = augmenter.apply(plate.image, plate.record, _without(params))
        assert [c.box for c in bare_record.chars] == [c.box for c in record.chars]
        diff = np.abs(image.astype(np.int16) - bare.astype(np.int16)).max(axis=2)
        for char in record.chars:
            assert diff[_inside(char.quad, image.shape)].max() <= 1, (plate_type, char)
        changed += int((diff > 40).sum())
    assert changed > 5000  # the frames were drawn somewhere


def test_unwarped_character_boxes_keep_every_pixel(renderer, tmp_path) -> None:
    """Without geometry the plate is not resampled: each box is exactly the clean plate's."""
    text = EVERYTHING.split("surround:")[1]
    augmenter = _augmenter(tmp_path, "surround:" + text)
    for seed, plate_type in enumerate(PlateType):
        plate = renderer.render(EXAMPLES[plate_type], plate_type, height=110)
        image, record, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        assert params["surround"] and (image != plate.image).any()
        for char in record.chars:
            x0, y0, x1, y1 = char.box
            assert (image[y0:y1, x0:x1] == plate.image[y0:y1, x0:x1]).all(), (plate_type, char)


def test_dealer_text_stays_outside_the_plate(renderer, tmp_path) -> None:
    augmenter = _augmenter(tmp_path)
    for seed, plate_type in enumerate(PlateType):
        plate = renderer.render(EXAMPLES[plate_type], plate_type, height=110)
        _, record, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        others = [e for e in params["surround"] if e != "dealer"]
        with_dealer, _ = augmenter.apply(plate.image, plate.record, _without(params, *others))
        bare, _ = augmenter.apply(plate.image, plate.record, _without(params))
        diff = np.abs(with_dealer.astype(np.int16) - bare.astype(np.int16)).max(axis=2)
        changed = diff > 1  # (one level: the shared warp's rounding)
        inside = _inside(record.plate_quad, diff.shape, 2)
        assert changed.any(), plate_type
        assert not (changed & inside).any(), plate_type
        # ... and below it: the plate's bottom edge is above every changed pixel's row.
        quad = np.asarray(record.plate_quad)
        assert np.nonzero(changed)[0].min() >= quad[:, 1].min(), plate_type


@pytest.mark.parametrize("preset", list(PRESETS))
def test_surround_params_are_recorded_and_replay_exactly(renderer, preset) -> None:
    augmenter = build_augmenter(preset)
    plate = renderer.render("12가3456", height=64)
    fired = set()
    for seed in range(40):
        image, _, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        fired.update(params["surround"])
        again, _, _ = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        assert again.tobytes() == image.tobytes()
        replay, _ = augmenter.apply(plate.image, plate.record, json.loads(json.dumps(params)))
        assert replay.tobytes() == image.tobytes(), (preset, seed)
    assert {"frame", "screws"} <= fired


def test_a_config_switches_the_group_off(renderer, tmp_path) -> None:
    off = "\n".join(
        f"  {effect}: {{p: 0, {values}}}"
        for effect, values in {
            "thickness": "depth: 0.02",
            "frame": "kind: black, width: 0.1, lip: 0.5, shadow: 0.2",
            "dealer": "bar: 0.2, size: 0.5",
            "screws": "size: 1.5, shade: 0.5",
            "lights": "intensity: 0.5",
        }.items()
    )
    augmenter = _augmenter(tmp_path, f"preset: light\nsurround:\n{off}\n")
    plate = renderer.render("12가3456", height=64)
    for seed in range(30):
        image, _, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        assert params["surround"] == {}
        bare, _ = augmenter.apply(plate.image, plate.record, _without(params))
        assert bare.tobytes() == image.tobytes()


def test_the_group_changes_no_other_value(renderer) -> None:
    """Sampled last: with or without it, every other effect draws the same values."""
    plate = renderer.render("12가3456", height=64)
    spec = json.loads(json.dumps(PRESETS["heavy"]))
    del spec["surround"]
    from kplate.augment import Augmenter

    bare = Augmenter(spec, "heavy")
    full = build_augmenter("heavy")
    size = (plate.image.shape[1], plate.image.shape[0])
    for seed in range(20):
        a = full.sample(np.random.default_rng(seed), plate.record, size)
        b = bare.sample(np.random.default_rng(seed), plate.record, size)
        a.pop("surround")
        assert a == b


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("surround:\n  frame: {p: 1, kind: black, width: [0, 0.9], lip: 0, shadow: 0}\n", "range"),
        ("surround:\n  frame: {p: 1, kind: gold, width: 0.1, lip: 0, shadow: 0}\n", "'gold'"),
        ("surround:\n  screws: {p: 1.5, size: 1, shade: 0}\n", "probability"),
        ("surround:\n  dealer: {p: 1, bar: 0.2}\n", "surround.dealer.size (line 2): missing"),
        ("surround:\n  bolts: {p: 1}\n", "surround.bolts (line 2): unknown effect"),
    ],
)
def test_bad_surround_values_are_one_line_errors(tmp_path, text, expected) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KplateError) as error:
        build_augmenter(str(path))
    message = str(error.value)
    assert str(path) in message and expected in message and "\n" not in message
