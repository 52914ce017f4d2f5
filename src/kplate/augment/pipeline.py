"""The augmenter: sample every effect's values from the image's generator, then apply them.

Sampling and applying are separate (as in albumentations), and the sampled values are
rounded *before* they are applied, so the recorded params dict reproduces an image
exactly: `augmenter.apply(image, record, params)` gives the same pixels again.

Order: plate wear -> geometry (warp onto a background) -> surroundings (frame, screws,
...) -> lighting -> camera.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np

from kplate.augment import camera, legibility, photometric, surround
from kplate.augment.backgrounds import background as make_background
from kplate.augment.critic import Critic
from kplate.augment.geometry import (
    NEUTRAL,
    char_corners,
    fits,
    homography,
    transform_record,
    warp_onto,
)
from kplate.augment.presets import SCHEMA, load_spec
from kplate.render.record import PlateRecord

DIGITS = 4
ATTEMPTS = 10
#: After ATTEMPTS misses, geometry ranges shrink toward neutral by these factors.
MILDER = (0.5, 0.25, 0.0)
SEED_LIMIT = 2**31


def _uniform(rng: np.random.Generator, kind: str, lo: float, hi: float) -> float | int:
    if kind == "int":
        return int(rng.integers(int(lo), int(hi) + 1))
    return round(float(lo + (hi - lo) * rng.random()), DIGITS)


def _choose(rng: np.random.Generator, choices: list[str]) -> str:
    return str(choices[int(rng.integers(len(choices)))])


def _shrink(lo: float, hi: float, neutral: float, k: float) -> tuple[float, float]:
    """The range [lo, hi] pulled toward its neutral value (clipped into it) by factor k."""
    n = min(max(neutral, lo), hi)
    return n + k * (lo - n), n + k * (hi - n)


class _Warp(NamedTuple):
    """The homography of a sampled geometry, and the record's char corners if known."""

    matrix: np.ndarray
    corners: np.ndarray | None


class Augmenter:
    """Callable as the generator expects: `(image, record, rng) -> (image, record, params)`."""

    def __init__(self, spec: dict[str, Any], name: str = "custom", *, rule: bool = True) -> None:
        self.spec = spec
        self.name = name
        # Legibility floors (augment/legibility.py): redraw until every character clears.
        floors = legibility.floors_of(spec)
        self._rule = (
            None
            if not rule or floors.off
            else legibility.Rule(self, floors, lambda milder: Augmenter(milder, name, rule=False))
        )
        # Effects in pipeline order, each with its spec; built once, used for every image.
        self._geometry = spec.get("geometry", {})
        photo = spec.get("photometric", {})
        self._wear = [(e, photo[e]) for e in photometric.WEAR if e in photo]
        self._lighting = [(e, photo[e]) for e in photometric.LIGHTING if e in photo]
        cam = spec.get("camera", {})
        self._camera = [(e, cam[e]) for e in camera.CAMERA if e in cam]
        around = spec.get("surround", {})
        self._surround = [(e, around[e]) for e in surround.EFFECTS if e in around]
        # A fitted config's realism critic (augment/critic.py) picks one of several draws;
        # the legibility rule's milder fallbacks (rule=False) draw once.
        chosen = spec.get("critic") if rule else None
        self._critic = (
            None
            if chosen is None
            else Critic(Path(chosen["file"]), chosen["candidates"], chosen["temper"])
        )

    @property
    def uses_torch(self) -> bool:
        """Whether drawing runs torch (a critic): worker pools then spawn, never fork."""
        return self._critic is not None

    def __call__(
        self, image: np.ndarray, record: PlateRecord, rng: np.random.Generator
    ) -> tuple[np.ndarray, PlateRecord, dict[str, Any]]:
        if self._critic is None:
            return self._draw(image, record, rng)
        draws = [self._draw(image, record, rng) for _ in range(self._critic.candidates)]
        logits = self._critic.logits([draw[0] for draw in draws])
        pick = self._critic.choose(logits, rng)
        out, new_record, params = draws[pick]
        params["critic"] = {"logits": logits, "chosen": pick}
        return out, new_record, params

    def _draw(
        self, image: np.ndarray, record: PlateRecord, rng: np.random.Generator
    ) -> tuple[np.ndarray, PlateRecord, dict[str, Any]]:
        """One draw through the legibility rule (when on): image, record, params."""
        if self._rule is not None:
            return self._rule(image, record, rng)
        params, warp = self._sample(rng, record, (image.shape[1], image.shape[0]))
        out, new_record = self._apply(image, record, params, warp)
        return out, new_record, params

    # -- sampling -------------------------------------------------------------------------
    def sample(
        self, rng: np.random.Generator, record: PlateRecord, size: tuple[int, int]
    ) -> dict[str, Any]:
        """Draw every effect's values; geometry is redrawn until no character leaves. One
        draw: a critic's choice among draws needs their pixels (`__call__`)."""
        return self._sample(rng, record, size)[0]

    def _sample(
        self, rng: np.random.Generator, record: PlateRecord, size: tuple[int, int]
    ) -> tuple[dict[str, Any], _Warp | None]:
        """The params, and the warp that the accepted geometry gives at `size` (None for
        the identity fallback), so that applying at once need not compute it again."""
        params: dict[str, Any] = {"preset": self.name}
        params["geometry"], warp = self._sample_geometry(rng, record, size)
        params["photometric"] = self._sample_group(
            rng, [*self._wear, *self._lighting], photometric.SEEDED, "photometric"
        )
        params["camera"] = self._sample_group(rng, self._camera, camera.SEEDED, "camera")
        if self._surround:  # drawn last, so adding the group leaves the other values alone
            params["surround"] = self._sample_group(
                rng, self._surround, surround.SEEDED, "surround"
            )
        params["output_size"] = [size[0], size[1]]
        return params, warp

    def _sample_group(
        self,
        rng: np.random.Generator,
        effects: list[tuple[str, dict[str, Any]]],
        seeded: set[str],
        group: str,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for effect, spec in effects:
            # Draw the coin and the values whatever the outcome, so that switching one
            # effect off in a config does not reshuffle the values of the others.
            fire = rng.random() < spec["p"]
            values = {
                name: _choose(rng, spec[name])
                if param.kind == "choice"
                else _uniform(rng, param.kind, *spec[name])
                for name, param in SCHEMA[group][effect].items()
            }
            seed = int(rng.integers(SEED_LIMIT))
            if fire:
                if effect in seeded:
                    values["seed"] = seed
                out[effect] = values
        return out

    def _draw_geometry(self, rng: np.random.Generator, k: float) -> dict[str, Any]:
        geo: dict[str, Any] = {}
        spec = self._geometry
        for effect in ("rotate", "shear", "perspective", "scale", "translate"):
            if effect not in spec:
                continue
            fire = rng.random() < spec[effect]["p"]
            values: dict[str, Any] = {}
            for name in SCHEMA["geometry"][effect]:
                lo, hi = _shrink(*spec[effect][name], NEUTRAL[effect][name], k)
                values[name] = _uniform(rng, "float", lo, hi)
            if effect == "perspective":
                unit = rng.uniform(-1, 1, 8)
                values["corners"] = [round(float(u * values["amount"]), DIGITS) for u in unit]
            if fire:
                geo[effect] = values
        if "margin" in spec:
            fire = rng.random() < spec["margin"]["p"]
            margin = {}
            for name in ("x", "y"):
                lo, hi = _shrink(*spec["margin"][name], 0.0, k)
                margin[name] = [_uniform(rng, "float", lo, hi) for _ in range(2)]
            if fire:
                geo["margin"] = margin
        return geo

    def _sample_geometry(
        self, rng: np.random.Generator, record: PlateRecord, size: tuple[int, int]
    ) -> tuple[dict[str, Any], _Warp | None]:
        kinds = self._geometry.get("background", {}).get("kinds", ["body"])
        background = {
            "kind": str(kinds[int(rng.integers(len(kinds)))]),
            "seed": int(rng.integers(SEED_LIMIT)),
        }
        attempts = 0
        corners = char_corners(record)
        for k, tries in ((1.0, ATTEMPTS), *((m, 3) for m in MILDER)):
            for _ in range(tries):
                attempts += 1
                geo = self._draw_geometry(rng, k)
                matrix = homography(geo, size, size)
                if fits(matrix, corners, size):
                    geo["background"] = background
                    geo["attempts"] = attempts
                    if k < 1.0:
                        geo["milder"] = k
                    return geo, _Warp(matrix, corners)
        # A config whose neutral point itself crops a character: leave the plate as is.
        return {"background": background, "attempts": attempts, "fallback": "identity"}, None

    # -- applying -------------------------------------------------------------------------
    def apply(
        self, image: np.ndarray, record: PlateRecord, params: dict[str, Any]
    ) -> tuple[np.ndarray, PlateRecord]:
        """Apply recorded params: deterministic, and the same pixels as when sampled."""
        return self._apply(image, record, params, None)

    def _apply(
        self,
        image: np.ndarray,
        record: PlateRecord,
        params: dict[str, Any],
        warp: _Warp | None,
    ) -> tuple[np.ndarray, PlateRecord]:
        out = image
        photo = params.get("photometric", {})
        for effect, fn in photometric.WEAR.items():
            if effect in photo:
                out = fn(out, photo[effect])
        out, record = self._apply_geometry(out, record, params, warp)
        for effect, fn in photometric.LIGHTING.items():
            if effect in photo:
                out = fn(out, photo[effect])
        cam = params.get("camera", {})
        ctx = {"plate_quad": record.plate_quad, "camera": cam}
        for effect, fn in camera.CAMERA.items():
            if effect in cam:
                out = fn(out, cam[effect], ctx)
        if out.ndim == 2:
            out = cv2.cvtColor(out, cv2.COLOR_GRAY2RGB)
        return np.ascontiguousarray(out), record

    def _apply_geometry(
        self,
        image: np.ndarray,
        record: PlateRecord,
        params: dict[str, Any],
        warp: _Warp | None,
    ) -> tuple[np.ndarray, PlateRecord]:
        geo = params.get("geometry", {})
        out_w, out_h = params.get("output_size", (image.shape[1], image.shape[0]))
        around = params.get("surround")
        if (
            not around
            and not any(effect in geo for effect in NEUTRAL)
            and (out_w, out_h)
            == (
                image.shape[1],
                image.shape[0],
            )
        ):
            # Nothing moves: skip the warp, but record quads as every augmented image does.
            return image, transform_record(record, np.eye(3), (out_w, out_h))
        if warp is None:
            src = (image.shape[1], image.shape[0])
            warp = _Warp(homography(geo, src, (out_w, out_h)), None)
        matrix, corners = warp.matrix, warp.corners
        bg_spec = geo.get("background", {"kind": "flat", "seed": 0})
        background = make_background(bg_spec["kind"], bg_spec["seed"], out_w, out_h)
        if around:  # the plate with its frame, screws, ... in one warp
            out = surround.warp_onto(image, record, around, matrix, background)
        else:
            out = warp_onto(image, matrix, background)
        return out, transform_record(record, matrix, (out_w, out_h), corners)


def build_augmenter(spec: str) -> Augmenter:
    """An augmenter for a preset name (light, heavy, cctv, night), a mix (mix) or a YAML
    config path."""
    from kplate.augment.mix import MIXES, MixAugmenter  # mix builds on Augmenter

    if spec in MIXES:
        return MixAugmenter(MIXES[spec], spec)  # type: ignore[return-value]
    name, data = load_spec(spec)
    return Augmenter(data, name)
