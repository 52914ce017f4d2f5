"""`--augment mix`: each image comes from one preset of the mix, picked by weight from the
image's own rng, recorded in its params, and reproducible from them."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from kplate.augment import build_augmenter
from kplate.augment.mix import MIXES, MixAugmenter
from kplate.errors import KplateError
from kplate.render import Renderer


@pytest.fixture(scope="module")
def plate():
    return Renderer().render("12가3456", "private_2digit", height=48)


def test_mix_picks_every_preset_by_weight_and_records_it(plate) -> None:
    augmenter = build_augmenter("mix")
    picked = Counter()
    for seed in range(200):
        _, record, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        assert params["mix"] == "mix" and record.text == "12가3456"
        picked[params["preset"]] += 1
    assert set(picked) == set(MIXES["mix"])
    for preset, weight in MIXES["mix"].items():
        assert abs(picked[preset] / 200 - weight) < 0.1, picked


def test_recorded_mix_params_reproduce_the_image(plate) -> None:
    augmenter = build_augmenter("mix")
    for seed in range(12):
        image, _, params = augmenter(plate.image, plate.record, np.random.default_rng(seed))
        loaded = json.loads(json.dumps(params))
        again, _ = augmenter.apply(plate.image, plate.record, loaded)
        assert np.array_equal(image, again), params["preset"]


def test_a_one_preset_mix_draws_what_that_preset_draws(plate) -> None:
    only_cctv = MixAugmenter({"cctv": 1.0}, "only")
    cctv = build_augmenter("cctv")
    for seed in range(5):
        mixed, _, _ = only_cctv(plate.image, plate.record, np.random.default_rng([seed, 1]))
        rng = np.random.default_rng([seed, 1])
        rng.random()  # the mix's pick
        alone, _, _ = cctv(plate.image, plate.record, rng)
        assert np.array_equal(mixed, alone)


def test_bad_mixes_and_params_are_one_line_errors(plate) -> None:
    with pytest.raises(KplateError, match="bad presets"):
        MixAugmenter({"sunny": 1.0})
    with pytest.raises(KplateError, match="bad presets"):
        MixAugmenter({"light": 0.0})
    with pytest.raises(KplateError, match="not in the mix"):
        build_augmenter("mix").apply(plate.image, plate.record, {"preset": "sunny"})
