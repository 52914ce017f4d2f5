"""What a generate run draws: the config whose fingerprint run.json records."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from kplate.errors import KplateError, OptionError
from kplate.io.naming import ImageFormat
from kplate.numbers import NumberPrior, parse_number_prior
from kplate.render.plate import DEFAULT_EMBOSS_DEPTH_MM, check_emboss_depth, check_size
from kplate.spec.types import PlateType, plate_characters

#: Run seeds are 0 to 2**63 - 1: `plate_seed` folds a seed to 64 bits, so a wider range
#: would let two seeds (-1 and 2**64 - 1) name one run.
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class GenerateConfig:
    """Everything that decides the pixels and labels of a run (and nothing that doesn't)."""

    count: int = 100
    types: tuple[PlateType, ...] = tuple(PlateType)
    weights: tuple[float, ...] | None = None
    seed: int = 0
    #: How random numbers spread over the legal ones (docs/numbers.md); CSV runs ignore it.
    number_prior: NumberPrior = NumberPrior.REALISTIC
    height: int | None = 110
    width: int | None = None
    augment: str | None = None
    font: str | None = None
    glyph_dir: str | None = None
    plates: tuple[tuple[str, str], ...] | None = None  # CSV mode: (text, type id) per row
    image_format: ImageFormat = ImageFormat.JPEG
    jpeg_quality: int = 95
    translate: str | None = None  # a trained generator (checkpoint path) applied last
    #: --verify's reader (a recogniser file): translated plates it does not read as their
    #: label are written as their source plate (gan/verify.py). Recorded only when set.
    verify: str | None = None
    emboss_depth_mm: float = DEFAULT_EMBOSS_DEPTH_MM  # how high characters are pressed; 0 flat
    colour_shades: bool = True  # each plate's colour drawn from its range (spec/colors.py)

    def __post_init__(self) -> None:
        """Every number is checked here, before anything is drawn or written."""
        object.__setattr__(self, "number_prior", parse_number_prior(self.number_prior))
        if self.plates is None and self.count < 0:
            raise OptionError("count", f"{{option}} must be 0 or more, got {self.count}")
        if not 0 <= self.seed <= MAX_SEED:
            raise OptionError(
                "seed", f"{{option}} must be 0 to {MAX_SEED} (2**63 - 1), got {self.seed}"
            )
        if not self.types:
            raise KplateError("no plate types selected")
        repeated = [t.value for t, n in Counter(self.types).items() if n > 1]
        if repeated:
            raise OptionError("types", f"{{option}} names {', '.join(repeated)} more than once")
        if self.weights is not None:
            self._check_weights(self.weights)
        if not 1 <= self.jpeg_quality <= 100:
            raise OptionError(
                "jpeg_quality", f"{{option}} must be 1 to 100, got {self.jpeg_quality}"
            )
        check_size(self.drawn_types(), self.height, self.width)
        check_emboss_depth(self.emboss_depth_mm)

    def _check_weights(self, weights: tuple[float, ...]) -> None:
        shown = ",".join(f"{w:g}" for w in weights)
        if len(weights) != len(self.types):
            raise OptionError(
                "weights", f"{{option}} has {len(weights)} values for {len(self.types)} types"
            )
        if not all(math.isfinite(w) for w in weights) or not math.isfinite(sum(weights)):
            raise OptionError(
                "weights", f"{{option}} {shown}: every weight and their sum must be finite"
            )
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise OptionError(
                "weights", f"{{option}} {shown}: must be non-negative with a positive sum"
            )

    def drawn_types(self) -> list[PlateType]:
        """The types this run can draw: those of the CSV rows, or those with a weight."""
        if self.plates is not None:
            return sorted({PlateType(type_id) for _, type_id in self.plates})
        weights = self.weights or (1.0,) * len(self.types)
        return [t for t, w in zip(self.types, weights, strict=True) if w > 0]

    def characters(self) -> set[str]:
        """Every character this run can draw: what its glyph source must cover."""
        if self.plates is not None:
            return {char for text, _ in self.plates for char in text}
        return set().union(*(plate_characters(t) for t in self.drawn_types()))

    @property
    def total(self) -> int:
        return len(self.plates) if self.plates is not None else self.count

    def fingerprint(self) -> dict[str, Any]:
        """What run.json records; a resumed run must match it exactly."""
        data = asdict(self)
        data["types"] = [t.value for t in self.types]
        data["plates"] = None if self.plates is None else [list(p) for p in self.plates]
        data["image_format"] = self.image_format.value
        # A CSV run's numbers are its rows: the prior decides nothing there, so a re-run
        # with another one still resumes it.
        data["number_prior"] = None if self.plates is not None else self.number_prior.value
        if self.verify is None:  # a run without --verify records what it always did
            del data["verify"]
        return data
