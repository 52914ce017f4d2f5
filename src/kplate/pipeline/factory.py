"""Plate `index` of a run, and the `generate` iterator: `for image, entry in generate(config)`.

Each image's randomness comes from `plate_seed(run seed, index)`, so worker count and
sharding never change a byte.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kplate.numbers import sample, validate
from kplate.pipeline.config import GenerateConfig
from kplate.render import Renderer, glyph_source
from kplate.render.glyphs import require as require_glyphs
from kplate.render.record import PlateRecord
from kplate.spec.colors import RGB, SHADE_COUNT
from kplate.spec.types import EXAMPLES, PlateType

if TYPE_CHECKING:
    from kplate.augment.pipeline import Augmenter

_MASK64 = (1 << 64) - 1


def plate_seed(run_seed: int, index: int) -> int:
    """The seed of one image: independent of worker count, shard and order of work.

    A SplitMix64-style mix of (run seed, index): well spread, 63 bits, and ten times
    cheaper than numpy's SeedSequence on this per-plate hot path.
    """
    z = ((run_seed & _MASK64) * 0x9E3779B97F4A7C15 + index + 0x632BE59BD9B4E019) & _MASK64
    for _ in range(2):
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        z ^= z >> 31
    return z >> 1


@dataclass(frozen=True)
class Sample:
    """One generated plate: its pixels, its labels (the record, with every character box),
    the augmentation parameters it was drawn with (None when clean), and where it sits in
    its run. It unpacks as `(image, entry)`, so `for image, entry in generate(config)`
    reads the metadata.jsonl object directly."""

    image: np.ndarray
    record: PlateRecord
    augment: dict[str, Any] | None
    seed: int
    index: int
    background: RGB | None = None  # the plate colour drawn
    shade: int | None = None  # its shade of the colour's range; None: nominal colour

    def to_dict(self) -> dict[str, Any]:
        """The metadata.jsonl entry (`file_name` is None until a writer names the file)."""
        entry: dict[str, Any] = {"file_name": None}
        entry.update(self.record.to_dict())
        entry["seed"] = self.seed
        entry["index"] = self.index
        entry["augment"] = self.augment
        entry["colour"] = {
            "background": None if self.background is None else list(self.background),
            "shade": self.shade,
        }
        return entry

    def __iter__(self) -> Iterator[Any]:
        yield self.image
        yield self.to_dict()


class PlateFactory:
    """Makes image `index` of a run. One per process; it keeps the renderer's caches warm.

    The augmenter and renderer are built from the config's names unless given as
    objects (an `Augmenter` from `build_augmenter`, any callable of the same shape, or a
    `Renderer` with its own glyph source)."""

    def __init__(
        self,
        config: GenerateConfig,
        augmenter: Augmenter | None = None,
        renderer: Renderer | None = None,
    ) -> None:
        self.config = config
        self.renderer = renderer or Renderer(
            glyph_source(config.font, config.glyph_dir), emboss_depth_mm=config.emboss_depth_mm
        )
        self.augmenter = augmenter if augmenter is not None else _build_augmenter(config.augment)

    def check(self) -> None:
        """Draw once, now, what the run will need: every glyph it can use, and one plate of
        each type it can draw at its size, through the augmenter.

        `kplate generate` calls this before it touches the output folder, so a font that
        cannot draw, a plate that does not fit its size or an augmentation that fails is
        one line with nothing written, never an error midway through a run (or in a
        worker). The caches it fills are the run's own, so a forked worker starts warm.
        """
        require_glyphs(self.renderer.glyphs, "".join(sorted(self.config.characters())))
        for plate_type in self.config.drawn_types():
            plate = self.renderer.render_number(
                validate(EXAMPLES[plate_type], plate_type),
                height=self.config.height,
                width=self.config.width,
            )
            if self.augmenter is not None:
                self.augmenter(plate.image, plate.record, np.random.default_rng(0))

    def make(self, index: int, *, reuse: bool = False) -> tuple[np.ndarray, dict[str, Any]]:
        """Image `index` and its metadata entry. With `reuse`, the clean image lives in a
        buffer that the next `reuse` call overwrites (for callers that encode at once)."""
        image, entry = self.sample(index, reuse=reuse)
        return image, entry

    def sample(self, index: int, *, reuse: bool = False) -> Sample:
        """Plate `index` of the run as a typed sample (see `make` for `reuse`)."""
        seed = plate_seed(self.config.seed, index)
        rng = random.Random(seed)
        if self.config.plates is not None:
            text, type_id = self.config.plates[index]
            number = validate(text, type_id)
        else:
            plate_type = _draw_type(self.config, rng)
            number = validate(sample(plate_type, rng, self.config.number_prior), plate_type)
        # Drawn after the number, so the shade leaves every earlier draw as it was.
        shade = rng.randrange(SHADE_COUNT) if self.config.colour_shades else None
        plate = self.renderer.render_number(
            number, height=self.config.height, width=self.config.width, reuse=reuse, shade=shade
        )
        image, record, params = plate.image, plate.record, None
        if self.augmenter is not None:
            image, record, params = self.augmenter(image, record, np.random.default_rng(seed))
        return Sample(image, record, params, seed, index, plate.background, plate.shade)


def _draw_type(config: GenerateConfig, rng: random.Random) -> PlateType:
    """The first draw of an image's generator in a random run: its plate type."""
    return rng.choices(config.types, config.weights)[0]


def random_type(config: GenerateConfig, index: int) -> PlateType:
    """The type that image `index` of a random run gets, without drawing the plate."""
    return _draw_type(config, random.Random(plate_seed(config.seed, index)))


def _build_augmenter(spec: str | None) -> Augmenter | None:
    if not spec:
        return None
    from kplate.augment import build_augmenter

    return build_augmenter(spec)


def generate(
    config: GenerateConfig,
    indices: range | None = None,
    *,
    augmenter: Augmenter | None = None,
    renderer: Renderer | None = None,
) -> Iterator[Sample]:
    """Yield a `Sample` for each image of the run, in index order; each unpacks as
    `(RGB image, metadata entry)`. `augmenter` and `renderer` objects, when given, replace
    what the config names (`write_dataset` takes names only: they go into run.json)."""
    factory = PlateFactory(config, augmenter, renderer)
    for index in indices if indices is not None else range(config.total):
        yield factory.sample(index)
