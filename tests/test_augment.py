"""The augmentation stage keeps labels exact: text untouched, every character inside the
image, boxes that still cover their ink, params in the documented ranges, reproducible."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from kplate.augment import PRESETS, Augmenter, apply_geometry, build_augmenter
from kplate.errors import KplateError
from kplate.render import Renderer
from kplate.spec.types import EXAMPLES, PlateType

DOC = Path(__file__).resolve().parents[1] / "docs" / "augment.md"
PLATES = [(EXAMPLES[t], t) for t in PlateType]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def _plates(renderer: Renderer, height: int, with_ink_mask: bool = False):
    return [
        renderer.render(text, t, height=height, with_ink_mask=with_ink_mask) for text, t in PLATES
    ]


@pytest.mark.parametrize("preset", list(PRESETS))
def test_labels_unchanged_and_every_char_inside_the_image(renderer, preset) -> None:
    augmenter = build_augmenter(preset)
    plates = _plates(renderer, 48)
    for seed in range(300):
        plate = plates[seed % len(plates)]
        image, record, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        clean = plate.record
        assert (record.text, record.plate_type, record.fields) == (
            clean.text,
            clean.plate_type,
            clean.fields,
        )
        assert [c.char for c in record.chars] == [c.char for c in clean.chars]
        h, w = image.shape[:2]
        assert image.dtype == np.uint8 and image.shape == (h, w, 3)
        assert (record.width, record.height) == (w, h) == tuple(params["output_size"])
        for char in record.chars:
            quad = np.asarray(char.quad)
            assert quad.shape == (4, 2)
            assert quad.min() >= -1e-6, (seed, char)
            assert (quad[:, 0] <= w + 1e-6).all() and (quad[:, 1] <= h + 1e-6).all(), (seed, char)
            x0, y0, x1, y1 = char.box
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            assert x0 <= quad[:, 0].min() + 1e-6 and quad[:, 0].max() <= x1 + 1e-6
            assert y0 <= quad[:, 1].min() + 1e-6 and quad[:, 1].max() <= y1 + 1e-6
        assert params["geometry"]["attempts"] >= 1


@pytest.mark.parametrize("preset", list(PRESETS))
def test_boxes_cover_their_glyph_ink(renderer, preset) -> None:
    """Warp each glyph's ink alone with the recorded params: >= 99% stays in its box."""
    augmenter = build_augmenter(preset)
    plates = _plates(renderer, 110, with_ink_mask=True)
    moved = 0
    for seed in range(24):
        plate = plates[seed % len(plates)]
        _, record, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        moved += any(c.box != o.box for c, o in zip(record.chars, plate.record.chars, strict=True))
        for clean, char in zip(plate.record.chars, record.chars, strict=True):
            x0, y0, x1, y1 = clean.box
            ink = np.zeros_like(plate.ink_mask)
            ink[y0:y1, x0:x1] = plate.ink_mask[y0:y1, x0:x1]
            warped = apply_geometry(ink, params)
            total = warped.sum()
            assert total > 0.5 * ink.sum() * 0.3, (seed, char)  # the glyph is still there
            bx0, by0, bx1, by1 = char.box
            inside = warped[by0:by1, bx0:bx1].sum()
            assert inside >= 0.99 * total, (preset, seed, char.char, inside / total)
    assert moved > 12  # the geometry really moved the boxes


def test_apply_geometry_matches_the_image_warp(renderer) -> None:
    """The helper warps exactly as the image: a plate warped by it equals the output's
    plate pixels where the plate fully covers them (no other effect in this config)."""
    augmenter = Augmenter({"geometry": PRESETS["heavy"]["geometry"]}, "geo")
    plate = renderer.render("12가3456", height=64)
    image, _, params = augmenter(plate.image, plate.record, np.random.default_rng(5))
    full = apply_geometry(np.ones(plate.image.shape[:2], np.float32), params)
    warped = apply_geometry(plate.image, params)
    inside = full > 0.999
    assert inside.sum() > 0.3 * inside.size
    assert np.abs(warped[inside].astype(int) - image[inside].astype(int)).max() <= 1


@pytest.mark.parametrize("preset", list(PRESETS))
def test_same_seed_same_bytes_different_seed_differs(renderer, preset) -> None:
    plate = renderer.render("12가3456", height=110)
    a, b = build_augmenter(preset), build_augmenter(preset)
    first = a(plate.image, plate.record, np.random.default_rng(1234))
    again = b(plate.image, plate.record, np.random.default_rng(1234))
    other = a(plate.image, plate.record, np.random.default_rng(1235))
    assert first[0].tobytes() == again[0].tobytes()
    assert first[1] == again[1] and first[2] == again[2]
    assert first[0].tobytes() != other[0].tobytes()
    assert first[2] != other[2]


@pytest.mark.parametrize("preset", list(PRESETS))
def test_recorded_params_are_json_and_replay_exactly(renderer, preset) -> None:
    plate = renderer.render("서울12가3456", height=110)
    augmenter = build_augmenter(preset)
    for seed in range(5):
        image, record, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        loaded = json.loads(json.dumps(params))
        assert loaded == params and loaded["preset"] == preset
        again, again_record = augmenter.apply(plate.image, plate.record, loaded)
        assert again.tobytes() == image.tobytes() and again_record == record
        json.dumps(record.to_dict())


def test_cctv_output_is_grey(renderer) -> None:
    augmenter = build_augmenter("cctv")
    for seed, plate in enumerate(_plates(renderer, 64)):
        image, _, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        assert "infrared" in params["camera"]
        assert (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all()


def test_light_is_mild_and_heavy_is_not(renderer) -> None:
    """light stays close to the earlier project: small rotation, no camera wreckage."""
    plate = renderer.render("12가3456", height=110)
    light, heavy = build_augmenter("light"), build_augmenter("heavy")
    for seed in range(50):
        _, _, params = light(plate.image, plate.record, np.random.default_rng(seed))
        assert abs(params["geometry"].get("rotate", {"deg": 0})["deg"]) <= 7
        assert "infrared" not in params["camera"] and "noise" not in params["camera"]
    kinds = set()
    for seed in range(60):
        _, _, params = heavy(plate.image, plate.record, np.random.default_rng(seed))
        kinds |= set(params["camera"]) | set(params["photometric"])
    assert {"infrared", "noise", "jpeg", "dirt", "glare", "downscale"} <= kinds


# -- documented ranges -----------------------------------------------------------------------


def _doc_ranges() -> dict[tuple[str, str, str, str], tuple[float, object]]:
    """{(preset, group, effect, param): (p, (lo, hi) or [choices])} from docs/augment.md."""
    rows = {}
    pattern = re.compile(r"^\| (\w+) \| (\w+)\.(\w+) \| ([\d.]+) \| (\w+) \| (.+?) \|$")
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = pattern.match(line.strip())
        if not match or match.group(1) not in PRESETS:
            continue
        preset, group, effect, p, param, shown = match.groups()
        if ".." in shown:
            lo, hi = (float(x) for x in shown.split(".."))
            value: object = (lo, hi)
        else:
            value = [s.strip() for s in shown.split(",")]
        rows[(preset, group, effect, param)] = (float(p), value)
    return rows


def test_docs_table_lists_every_preset_range() -> None:
    documented = _doc_ranges()
    actual = {}
    for preset, spec in PRESETS.items():
        for group, effects in spec.items():
            for effect, values in effects.items():
                for param, value in values.items():
                    if param != "p":
                        shown = tuple(value) if not isinstance(value[0], str) else list(value)
                        actual[(preset, group, effect, param)] = (values["p"], shown)
    assert documented == actual


@pytest.mark.parametrize("preset", list(PRESETS))
def test_sampled_params_stay_within_documented_ranges(renderer, preset) -> None:
    documented = {k[1:]: v for k, v in _doc_ranges().items() if k[0] == preset}
    augmenter = build_augmenter(preset)
    plate = renderer.render("12가3456", height=110)
    size = (plate.image.shape[1], plate.image.shape[0])
    fired: dict[tuple[str, str], int] = {}
    for seed in range(500):
        params = augmenter.sample(np.random.default_rng(seed), plate.record, size)
        for group in ("geometry", "photometric", "camera", "surround"):
            for effect, values in params.get(group, {}).items():
                if not isinstance(values, dict) or effect == "background":
                    continue
                fired[(group, effect)] = fired.get((group, effect), 0) + 1
                for param, value in values.items():
                    if (group, effect, param) not in documented:
                        continue  # derived values: seeds, perspective corners
                    _, shown = documented[(group, effect, param)]
                    if isinstance(shown, list):  # a choice, such as a frame's kind
                        assert value in shown, (preset, group, effect, param, value)
                        continue
                    lo, hi = shown
                    for v in value if isinstance(value, list) else [value]:
                        assert lo - 1e-9 <= v <= hi + 1e-9, (preset, group, effect, param, v)
        kind = params["geometry"]["background"]["kind"]
        assert kind in documented[("geometry", "background", "kinds")][1]
    for (group, effect, _param), (p, _) in documented.items():
        if effect == "background":
            continue
        count = fired.get((group, effect), 0)
        assert abs(count / 500 - p) < 0.1, (preset, effect, count)


# -- YAML configs ------------------------------------------------------------------------------


def test_yaml_config_round_trips_a_preset(renderer, tmp_path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(PRESETS["heavy"]), encoding="utf-8")
    from_file, preset = build_augmenter(str(path)), build_augmenter("heavy")
    assert from_file.spec == preset.spec and from_file.name == "mine"
    plate = renderer.render("12가3456", height=64)
    a = from_file(plate.image, plate.record, np.random.default_rng(7))
    b = preset(plate.image, plate.record, np.random.default_rng(7))
    assert a[0].tobytes() == b[0].tobytes()


def test_yaml_config_can_start_from_a_preset(renderer, tmp_path) -> None:
    path = tmp_path / "grey.yml"
    path.write_text(
        "preset: light\ncamera:\n  infrared: {p: 1, lift: [0.2, 0.3], contrast: [0.6, 0.7], "
        "bloom: 0.3, surround: 0.5}\ngeometry:\n  rotate: {p: 0, deg: [0, 0]}\n",
        encoding="utf-8",
    )
    augmenter = build_augmenter(str(path))
    plate = renderer.render("12가3456", height=64)
    image, _, params = augmenter(plate.image, plate.record, np.random.default_rng(3))
    assert params["camera"]["infrared"]["bloom"] == 0.3
    assert "rotate" not in params["geometry"]
    assert (image[..., 0] == image[..., 2]).all()
    assert augmenter.spec["photometric"] == PRESETS["light"]["photometric"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "camera:\n  jpeg: {p: 0.5, quality: [10, 90]}\n  sharpen: {p: 1}\n",
            "camera.sharpen (line 3)",
        ),
        (
            "camera:\n  jpeg: {p: 0.5, qualty: [10, 90]}\n",
            "camera.jpeg.qualty (line 2): unknown key",
        ),
        ("camera:\n  jpeg: {p: 0.5, quality: [10, 900]}\n", "camera.jpeg.quality (line 2): range"),
        ("camera:\n  jpeg: {p: 0.5, quality: [90, 10]}\n", "lo > hi"),
        ("camera:\n  jpeg: {p: 0.5, quality: fast}\n", "camera.jpeg.quality (line 2): expected"),
        ("camera:\n  jpeg: {p: 0.5, quality: [10.5, 20]}\n", "integers"),
        (
            "camera:\n  jpeg: {p: 2, quality: [10, 20]}\n",
            "camera.jpeg.p (line 2): expected a probability",
        ),
        ("camera:\n  jpeg: {p: 0.5}\n", "camera.jpeg.quality (line 2): missing"),
        ("lens:\n  blur: {}\n", "lens (line 1): unknown group"),
        ("geometry:\n  background: {p: 1, kinds: [moon]}\n", "unknown choice 'moon'"),
        ("preset: extreme\n", "unknown preset 'extreme'"),
        ("camera: [1, 2\n", "not valid YAML"),
        ("- a list\n", "expected a mapping"),
    ],
)
def test_bad_yaml_configs_name_file_and_key(tmp_path, text, expected) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KplateError) as error:
        build_augmenter(str(path))
    message = str(error.value)
    assert str(path) in message and expected in message and "\n" not in message


def test_unknown_preset_and_missing_file_are_user_errors(tmp_path) -> None:
    with pytest.raises(KplateError, match="unknown augmentation preset 'medium'"):
        build_augmenter("medium")
    missing = tmp_path / "nope.yaml"
    with pytest.raises(KplateError, match=f"{re.escape(str(missing))}: cannot read"):
        build_augmenter(str(missing))


def test_a_config_that_always_crops_falls_back_without_cropping(renderer, tmp_path) -> None:
    path = tmp_path / "zoom.yaml"
    path.write_text("geometry:\n  scale: {p: 1, factor: [1.4, 1.5]}\n", encoding="utf-8")
    augmenter = build_augmenter(str(path))
    plate = renderer.render("12가3456", height=64)
    image, record, params = augmenter(plate.image, plate.record, np.random.default_rng(0))
    assert params["geometry"]["fallback"] == "identity" and params["geometry"]["attempts"] > 10
    assert [c.box for c in record.chars] == [c.box for c in plate.record.chars]
    assert image.tobytes() == plate.image.tobytes()


def test_generator_records_augment_params() -> None:
    from kplate.pipeline import GenerateConfig, generate

    config = GenerateConfig(count=3, seed=9, height=48, augment="heavy")
    entries = [entry for _, entry in generate(config)]
    again = [entry for _, entry in generate(config, range(2, 3))]
    assert all(e["augment"]["preset"] == "heavy" for e in entries)
    assert all("quad" in c for e in entries for c in e["chars"])
    assert json.loads(json.dumps(entries[2])) == again[0]  # independent of order/workers


def test_augment_import_stays_lean_and_offline() -> None:
    """albumentations would pull in torch and huggingface_hub and ask PyPI for updates;
    kplate's import of it does none of these, and leaves albumentations.pytorch usable."""
    code = (
        "import os, sys, kplate.augment; "
        "print('torch' in sys.modules, 'huggingface_hub' in sys.modules, "
        "os.environ.get('NO_ALBUMENTATIONS_UPDATE')); "
        "import albumentations.pytorch; print('torch' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "NO_ALBUMENTATIONS_UPDATE"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.split("\n")
    assert out[0] == "False False 1"
    assert out[1] == "True"
