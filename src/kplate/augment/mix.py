"""Preset mixes: each image is made by one preset, picked by weight from the image's own rng.

A recogniser meets every kind of camera, so the best training set is not one preset but
several; `--augment mix` names that choice. The picked preset is recorded in the image's
params (`params["preset"]`, with `params["mix"]` naming the mix), so `apply` reproduces
the image and the metadata says which camera each image imitates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kplate.augment.pipeline import Augmenter
from kplate.augment.presets import PRESETS, load_spec
from kplate.errors import KplateError
from kplate.render.record import PlateRecord

#: Named mixes: preset -> weight. `mix`: the four camera presets evenly, so that no one
#: camera look dominates; meant as the default for unknown cameras, but not yet learnt by
#: the scoreboard's recipe in its 2000 steps (README "Which data to train on").
MIXES: dict[str, dict[str, float]] = {
    "mix": {"light": 0.25, "heavy": 0.25, "cctv": 0.25, "night": 0.25},
}


class MixAugmenter:
    """Callable like `Augmenter`; delegates each image to one preset of the mix."""

    def __init__(self, weights: dict[str, float], name: str = "mix") -> None:
        unknown = [p for p in weights if p not in PRESETS]
        if unknown or not weights or min(weights.values()) < 0 or sum(weights.values()) <= 0:
            raise KplateError(f"mix {name}: bad presets or weights {weights}")
        self.name = name
        self.weights = dict(weights)
        self.members = {preset: Augmenter(load_spec(preset)[1], preset) for preset in weights}
        total = sum(weights.values())
        self._cumulative = np.cumsum([w / total for w in weights.values()])
        self.spec = {"mix": self.weights}

    def _pick(self, rng: np.random.Generator) -> Augmenter:
        index = int(np.searchsorted(self._cumulative, rng.random(), side="right"))
        return list(self.members.values())[min(index, len(self.members) - 1)]

    def __call__(
        self, image: np.ndarray, record: PlateRecord, rng: np.random.Generator
    ) -> tuple[np.ndarray, PlateRecord, dict[str, Any]]:
        out, new_record, params = self._pick(rng)(image, record, rng)
        return out, new_record, {"mix": self.name, **params}

    def sample(
        self, rng: np.random.Generator, record: PlateRecord, size: tuple[int, int]
    ) -> dict[str, Any]:
        """The params of one image: which preset, then that preset's values."""
        return {"mix": self.name, **self._pick(rng).sample(rng, record, size)}

    def apply(
        self, image: np.ndarray, record: PlateRecord, params: dict[str, Any]
    ) -> tuple[np.ndarray, PlateRecord]:
        """Apply recorded params with the preset they name."""
        preset = params.get("preset")
        if preset not in self.members:
            raise KplateError(f"mix {self.name}: params name preset {preset!r}, not in the mix")
        return self.members[preset].apply(image, record, params)
