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
from kplate.gan.verify import Verifier

Plates = Iterator[tuple[np.ndarray, dict[str, Any]]]


class TranslationStep:
    """Runs a trained generator over a stream of plates; labels and boxes carried over."""

    def __init__(
        self, translator: Any, model: Any, batch: int, verifier: Verifier | None = None
    ) -> None:
        self.translator, self.model, self.batch = translator, model, batch
        #: `--verify`: a plate not read as its label is passed on as its source plate.
        self.verifier = verifier

    @classmethod
    def from_checkpoint(
        cls, checkpoint: Path, device: str, batch: int, verifier: Verifier | None = None
    ) -> TranslationStep:
        """Load the generator now, so a bad checkpoint fails before any work."""
        from kplate.gan.distributed import resolve_device
        from kplate.gan.translator import Translator

        translator, model = Translator.from_checkpoint(checkpoint, resolve_device(device), batch)
        return cls(translator, model, batch, verifier)

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
        checks: list[dict[str, Any] | None] = [None] * len(outputs)
        if self.verifier is not None:
            checked = self.verifier.apply(
                [image for image, _ in pending], outputs, [entry for _, entry in pending]
            )
            outputs = [image for image, _ in checked]
            checks = [record for _, record in checked]
        for (source, entry), output, check in zip(pending, outputs, checks, strict=True):
            entry["translation"] = translation_record(self.model, source, output, entry)
            if check is not None:
                entry["translation"]["verify"] = check
            yield output, entry
        pending.clear()
