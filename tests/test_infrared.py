"""The IR camera effects (augment/infrared.py) do to pixels what they claim, are recorded
and replayed, stay within their schema limits, and the cctv preset's output matches the
statistics of real_dev's IR crops (tests/data/real_ir_stats.json; docs/ir.md)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers import tool
from kplate.augment import Augmenter, build_augmenter
from kplate.augment.infrared import exposure, halation, interlace, ir_paint
from kplate.errors import KplateError
from kplate.evaluate.crop_stats import comb_ratio, crop_stats, summarise
from kplate.render import Renderer

DATA = Path(__file__).resolve().parent / "data" / "real_ir_stats.json"
REAL_DEV = next(
    (
        p / "data" / "real_dev"
        for p in (Path(__file__).resolve().parents[2] / "shared", Path("/work/shared"))
        if (p / "data" / "real_dev" / "labels.csv").is_file()
    ),
    None,
)
NEW_EFFECTS = ("ir_paint", "exposure", "halation", "interlace")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def _plate_scene() -> tuple[np.ndarray, dict]:
    """A grey 60 x 160 scene: a dark car (40) around a bright plate (220) with dark ink."""
    grey = np.full((60, 160), 40, np.uint8)
    grey[15:45, 20:140] = 220
    grey[22:38, 40:46] = 30  # a vertical stroke
    grey[22:38, 90:96] = 30
    quad = [[20, 15], [140, 15], [140, 45], [20, 45]]
    return grey, {"plate_quad": quad}


# -- each effect changes pixels the way it claims ---------------------------------------


def test_ir_paint_darkens_saturated_paint_and_leaves_white() -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    image[0] = (255, 255, 255)  # white ink
    image[1] = (128, 128, 128)  # grey
    image[2] = (250, 130, 20)  # orange construction plate
    image[3] = (250, 200, 30)  # yellow commercial plate
    out = ir_paint(image, {"dim": 0.5}, {})
    assert (out[0] == 255).all() and (out[1] == 128).all()
    for row in (2, 3):
        assert out[row].max() < image[row].max() * 0.6  # saturation ~0.9: about halved
    # Stronger dim, darker paint; dim 0 is the identity.
    assert ir_paint(image, {"dim": 0.9}, {})[2].max() < out[2].max()
    assert ir_paint(image, {"dim": 0.0}, {}).tobytes() == image.tobytes()


def test_exposure_dims_with_less_contrast_or_clips_to_white() -> None:
    grey, ctx = _plate_scene()
    dim = exposure(grey, {"gain": 0.3}, ctx).astype(float)
    assert dim.mean() < 0.35 * grey.mean()
    assert dim.max() - dim.min() < 0.35 * (int(grey.max()) - int(grey.min()))
    bright = exposure(grey, {"gain": 1.5}, ctx)
    assert (bright[15:45, 20:140][grey[15:45, 20:140] == 220] == 255).all()  # plate clipped
    assert (bright[grey == 30] == 45).all()  # ink still darker: stays readable


def test_halation_glows_around_the_plate_and_over_strokes() -> None:
    grey, ctx = _plate_scene()
    out = halation(grey, {"strength": 0.8, "radius": 0.5}, ctx).astype(int)
    ring = np.zeros_like(grey, bool)
    ring[9:51, 14:146] = True
    ring[15:45, 20:140] = False  # a 6 px band just outside the plate
    assert out[ring].mean() > grey[ring].mean() + 15
    assert out[26:34, 42:44].mean() > grey[26:34, 42:44].mean() + 10  # strokes veiled
    corner = (slice(0, 3), slice(0, 3))
    far = (out[corner] - grey[corner].astype(int)).mean()
    assert far < 0.5 * (out[ring].mean() - grey[ring].mean())  # fades with distance
    assert out.min() >= grey.min()  # glow only adds light
    weaker = halation(grey, {"strength": 0.3, "radius": 0.5}, ctx).astype(int)
    assert grey[ring].mean() < weaker[ring].mean() < out[ring].mean()


def test_interlace_offsets_odd_rows_only_and_combs_edges() -> None:
    grey, ctx = _plate_scene()
    out = interlace(grey, {"shift": 2.0}, ctx)
    assert out[0::2].tobytes() == grey[0::2].tobytes()  # the even field as it was
    assert (out[1::2] != grey[1::2]).any()
    # The odd field sits 2 px to the right: its stroke moved, the even field's did not.
    assert (out[23, 42:48] == 30).all() and (out[23, 40:42] == 220).all()
    assert (out[22, 40:46] == 30).all() and (out[22, 46:48] == 220).all()
    assert comb_ratio(out) > comb_ratio(grey) + 0.3
    assert interlace(grey, {"shift": 0.0}, ctx).tobytes() == grey.tobytes()


def _ir_grey(plate, dim: float | None) -> np.ndarray:
    """The plate through infrared alone (neutral settings), after ir_paint when dim given."""
    camera = _fixed({"infrared": {"lift": 0.0, "contrast": 1.0, "bloom": 0.0, "surround": 1.0}})
    if dim is not None:
        camera = {"ir_paint": {"p": 1, "dim": [dim, dim]}, **camera}
    image = Augmenter({"camera": camera})(plate.image, plate.record, np.random.default_rng(0))
    return image[0][..., 0].astype(float)


def _ground_and_ink(plate) -> tuple[np.ndarray, np.ndarray]:
    ground = np.zeros(plate.ink_mask.shape, bool)
    ground[8:-8, 8:-8] = True
    return ground & (plate.ink_mask < 0.05), plate.ink_mask > 0.9


def test_construction_plates_show_light_characters_on_a_darker_plate(renderer) -> None:
    """real_dev's regional construction plates read in IR as a darker plate under lighter
    characters (the plate's grey sits at 0.31 of the way from p5 to p95, docs/ir.md):
    ir_paint darkens the coloured ground, so the white ink stands out more."""
    plate = renderer.render("경기06가1234", "construction_regional", height=110, with_ink_mask=True)
    ground, ink = _ground_and_ink(plate)
    painted, flat = _ir_grey(plate, 0.5), _ir_grey(plate, None)
    assert painted[ink].mean() > painted[ground].mean() + 100  # light ink, dark plate
    assert painted[ground].mean() < 0.7 * flat[ground].mean()
    assert painted[ink].mean() > 0.95 * flat[ink].mean()  # white ink barely changes


def test_yellow_plates_read_darker_than_white_ones_in_ir(renderer) -> None:
    """Measured: real_dev's yellow commercial IR crops have p95 0.50 against 0.72-0.76 for
    white private plates (about 0.7). Without ir_paint all paint reads alike."""
    white = renderer.render("12가3456", "private_2digit", height=110, with_ink_mask=True)
    yellow = renderer.render("서울52바3108", "commercial_long", height=110, with_ink_mask=True)
    ratios = {}
    for dim in (None, 0.275):  # 0.275: the middle of cctv's range
        grounds = [_ir_grey(p, dim)[_ground_and_ink(p)[0]].mean() for p in (white, yellow)]
        ratios[dim] = grounds[1] / grounds[0]
    assert ratios[None] > 0.9
    assert 0.6 < ratios[0.275] < 0.8


def _fixed(camera: dict) -> dict:
    return {
        effect: {"p": 1, **{k: [v, v] for k, v in values.items()}}
        for effect, values in camera.items()
    }


# -- recorded, replayed, deterministic, limited -----------------------------------------


def test_cctv_records_the_new_effects_and_apply_reproduces_them(renderer) -> None:
    plate = renderer.render("123가4567", height=64)
    augmenter = build_augmenter("cctv")
    seen: set[str] = set()
    for seed in range(60):
        image, record, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        seen |= set(params["camera"]) & set(NEW_EFFECTS)
        loaded = json.loads(json.dumps(params))
        again, again_record = augmenter.apply(plate.image, plate.record, loaded)
        assert again.tobytes() == image.tobytes() and again_record == record
        twice = build_augmenter("cctv")(plate.image, plate.record, np.random.default_rng(seed))
        assert twice[0].tobytes() == image.tobytes() and twice[2] == params
    assert seen == set(NEW_EFFECTS)
    assert params["camera"]["ir_paint"].keys() == {"dim"}


@pytest.mark.parametrize(
    ("effect", "body", "expected"),
    [
        ("exposure", "{p: 1, gain: [0.0, 1.0]}", "camera.exposure.gain (line 3): range"),
        ("interlace", "{p: 1, shift: [-9, 1]}", "outside the allowed [-4, 4]"),
        ("halation", "{p: 1, strength: [0.1, 0.5]}", "camera.halation.radius (line 3): missing"),
        ("ir_paint", "{p: 1, dim: [0.2, 1.5]}", "camera.ir_paint.dim (line 3): range"),
    ],
)
def test_schema_limits_reject_bad_values_in_one_line(tmp_path, effect, body, expected) -> None:
    config = tmp_path / "ir.yaml"
    config.write_text(f"preset: cctv\ncamera:\n  {effect}: {body}\n", encoding="utf-8")
    with pytest.raises(KplateError) as error:
        build_augmenter(str(config))
    message = str(error.value)
    assert expected in message and str(config) in message and "\n" not in message


# -- statistics: kplate's cctv against real_dev's IR crops ------------------------------


def _cctv_summary(count: int = 80) -> dict:
    from kplate.pipeline import GenerateConfig
    from kplate.pipeline.factory import generate
    from kplate.spec.types import PlateType

    kinds = ("private_2digit", "private_3digit", "commercial_long", "construction_regional")
    config = GenerateConfig(
        count=count,
        types=tuple(PlateType(t) for t in kinds),
        weights=(0.4, 0.3, 0.2, 0.1),
        seed=3,
        height=64,
        augment="cctv",
    )
    rows = []
    for sample in generate(config):
        _, jpeg = cv2.imencode(".jpg", sample.image[..., 0], [cv2.IMWRITE_JPEG_QUALITY, 95])
        rows.append(crop_stats(cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE)))
    return summarise(rows)


def test_cctv_statistics_fall_within_the_real_ir_band() -> None:
    """Median brightness, contrast and sharpness within real IR's p10-p90; the level
    statistics close to the real median (a quarter of the real p10-p90 span), and dark
    plates as common as in real crops (the old cctv's p10 brightness was 0.47)."""
    real = json.loads(DATA.read_text(encoding="utf-8"))["summary"]
    ours = _cctv_summary()
    for name in ("brightness", "contrast", "sharpness", "p95", "plate_contrast"):
        assert real[name]["p10"] <= ours[name]["median"] <= real[name]["p90"], name
    for name in ("brightness", "p5", "p95", "contrast", "std"):
        span = real[name]["p90"] - real[name]["p10"]
        assert abs(ours[name]["median"] - real[name]["median"]) <= 0.25 * span, name
    assert ours["brightness"]["p10"] <= real["brightness"]["p10"] + 0.08
    # ... but never darker or flatter than what people still read in real crops.
    assert ours["plate_contrast"]["p10"] >= 0.8 * real["plate_contrast"]["p10"]
    assert ours["p95"]["p10"] >= 0.8 * real["p95"]["p10"]


@pytest.mark.skipif(REAL_DEV is None, reason="../shared/data/real_dev is not available")
def test_stored_real_statistics_match_a_fresh_measurement() -> None:
    """tests/data/real_ir_stats.json is what tools/measure_image_stats.py measures now."""
    measure = tool("measure_image_stats")
    CCTV_SOURCES, real_rows = measure.CCTV_SOURCES, measure.real_rows

    fresh = summarise(real_rows(REAL_DEV, "ir", CCTV_SOURCES))
    stored = json.loads(DATA.read_text(encoding="utf-8"))["summary"]
    assert fresh["count"] == stored["count"] > 500
    for name, values in stored.items():
        if name != "count":
            for q in ("p10", "median", "p90"):
                assert fresh[name][q] == pytest.approx(values[q], rel=1e-6, abs=1e-9), name


def test_ir_paint_leaves_colour_images_alone_when_infrared_does_not_fire(renderer) -> None:
    """night draws ir_paint always but infrared in 30 %: a colour image keeps its paint."""
    plate = renderer.render("서울52바3108", "commercial_long", height=64)
    alone = Augmenter({"camera": {"ir_paint": {"p": 1, "dim": [0.6, 0.6]}}})
    image, _, params = alone(plate.image, plate.record, np.random.default_rng(0))
    assert params["camera"] == {"ir_paint": {"dim": 0.6}}
    assert image.tobytes() == plate.image.tobytes()
    night = build_augmenter("night")
    fired = {"infrared": 0, "colour": 0}
    for seed in range(40):
        image, _, params = night(plate.image, plate.record, np.random.default_rng(seed))
        grey = (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all()
        fired["infrared" if "infrared" in params["camera"] else "colour"] += 1
        assert grey == ("infrared" in params["camera"])
    assert min(fired.values()) > 3
