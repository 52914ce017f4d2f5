"""Translation as a step of the generate pipeline: rendered plates in, translated plates
out, in order and in batches, each entry recording the model and how well the plate's
edges survived.

The pipeline (`kplate.pipeline`) takes any step of this shape, so it needs to know
nothing of torch; `kplate generate --translate` builds this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from kplate.gan.translator import translation_record

Plates = Iterator[tuple[np.ndarray, dict[str, Any]]]


class TranslationStep:
    """Runs a trained generator over a stream of plates; labels and boxes carried over."""

    def __init__(self, translator: Any, model: Any, batch: int) -> None:
        self.translator, self.model, self.batch = translator, model, batch

    @classmethod
    def from_checkpoint(cls, checkpoint: Path, device: str, batch: int) -> TranslationStep:
        """Load the generator now, so a bad checkpoint fails before any work."""
        from kplate.gan.distributed import resolve_device
        from kplate.gan.translator import Translator

        translator, model = Translator.from_checkpoint(checkpoint, resolve_device(device), batch)
        return cls(translator, model, batch)

    def __call__(self, plates: Plates) -> Plates:
        pending: list[tuple[np.ndarray, dict[str, Any]]] = []
        for image, entry in plates:
            pending.append((image, entry))
            if len(pending) >= self.batch:
                yield from self._flush(pending)
        if pending:
            yield from self._flush(pending)

    def _flush(self, pending: list[tuple[np.ndarray, dict[str, Any]]]) -> Plates:
        outputs = self.translator.translate([image for image, _ in pending])
        for (source, entry), output in zip(pending, outputs, strict=True):
            entry["translation"] = translation_record(self.model, source, output, entry)
            yield output, entry
        pending.clear()
