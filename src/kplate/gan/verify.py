"""`--verify`: read every translated plate and never keep a label the reading contradicts.

Policy (one, documented in docs/gan.md): a translated plate that the frozen reader does
not read as its label is replaced by its *source* plate, the untranslated image the label
was made for (a rendered plate's label is true by construction). Why not drop it or draw
it again: the generator is deterministic, so another try gives the same image, and a
dropped index would break the output folder's resume-by-index (metadata.jsonl is an
index-ordered prefix) and the equal image counts a benchmark compares at. Marking it
alone would leave an untrue label in the dataset. Each entry records what happened
(`translation.verify`), and the summary counts each outcome. A plate without a label
cannot be checked: it is kept as translated and counted as unchecked.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kplate.gan.text_loss import TextReader


class Verdict(enum.StrEnum):
    """What `--verify` did with one translated plate."""

    KEPT = "translated"  # read as its label: the translation is kept
    SOURCE = "source"  # read otherwise: the source plate is written instead
    UNCHECKED = "unchecked"  # no label to check against: kept as translated


@dataclass
class VerifyCounts:
    """How many plates ended each way (the run's summary line)."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, verdict: Verdict | str) -> None:
        self.counts[str(verdict)] += 1

    def add_entry(self, entry: dict[str, Any]) -> None:
        """Count an output entry by its `translation.verify` record (a resumed run's too)."""
        record = (entry.get("translation") or {}).get("verify")
        if record is not None:
            self.add(record["kept"])

    def to_dict(self) -> dict[str, int]:
        return {v.value: self.counts.get(v.value, 0) for v in Verdict}

    def line(self) -> str:
        c = self.to_dict()
        checked = c[Verdict.KEPT] + c[Verdict.SOURCE]
        return (
            f"verify: {c[Verdict.KEPT]} of {checked} checked plates read as their label and "
            f"kept translated, {c[Verdict.SOURCE]} replaced by their source plate, "
            f"{c[Verdict.UNCHECKED]} unlabelled (not checked)"
        )


def _label(entry: dict[str, Any]) -> str | None:
    text = entry.get("text")
    return text.strip() if isinstance(text, str) and text.strip() else None


class Verifier:
    """Applies the policy above with a frozen `TextReader`."""

    def __init__(self, reader: TextReader, name: str = "") -> None:
        self.reader = reader
        self.name = name
        self.counts = VerifyCounts()

    def apply(
        self,
        sources: Sequence[np.ndarray],
        outputs: Sequence[np.ndarray],
        entries: Sequence[dict[str, Any]],
    ) -> list[tuple[np.ndarray, dict[str, Any]]]:
        """(image to write, verify record) per plate, in order."""
        labels = [_label(e) for e in entries]
        checked = [i for i, label in enumerate(labels) if label is not None]
        readings = dict(zip(checked, self.reader.read([outputs[i] for i in checked]), strict=True))
        results = []
        for i, (source, output) in enumerate(zip(sources, outputs, strict=True)):
            if labels[i] is None:
                verdict, image = Verdict.UNCHECKED, output
                record: dict[str, Any] = {"kept": verdict.value}
            else:
                ok = readings[i] == labels[i]
                verdict = Verdict.KEPT if ok else Verdict.SOURCE
                image = output if ok else _same_shape(source, output)
                record = {"kept": verdict.value, "read": readings[i]}
            self.counts.add(verdict)
            results.append((image, record))
        return results


def _same_shape(source: np.ndarray, output: np.ndarray) -> np.ndarray:
    """The source as the output's RGB uint8 (a greyscale source is repeated to 3 channels)."""
    if source.ndim == 2:
        source = np.repeat(source[..., None], 3, axis=2)
    return np.ascontiguousarray(source[..., :3]).astype(np.uint8, copy=False)
