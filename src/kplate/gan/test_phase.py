"""The earlier project's test.py: translate DATAROOT/testA into an image folder and a page.

`write_test_results` writes RESULTS/NAME/PHASE_EPOCH/images/{real_A,fake_B,real_B}/*.png
(real_B from DATAROOT/testB when there is one, for comparison) and index.html, one row
per plate. `kplate translate` is the dataset form (labels carried over, resumable).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kplate.errors import KplateError, OptionError
from kplate.gan.distributed import resolve_device
from kplate.gan.translate import read_rgb
from kplate.gan.translator import Translator, resolve_checkpoint
from kplate.io.files import atomic_save_image, atomic_write_text
from kplate.io.images import is_image_name
from kplate.io.paths import refuse_overlap


@dataclass(frozen=True)
class TestPhase:
    """Where the earlier test.py read and wrote: DATAROOT/PHASE{A,B} to
    RESULTS/NAME/PHASE_EPOCH, with the model NAME under CHECKPOINTS_DIR."""

    __test__ = False  # not a pytest class, despite the name

    dataroot: Path
    name: str
    checkpoints_dir: Path = Path("checkpoints")
    results_dir: Path = Path("results")
    phase: str = "test"
    epoch: str = "latest"
    num_test: int = 50

    @property
    def out(self) -> Path:
        return Path(self.results_dir) / self.name / f"{self.phase}_{self.epoch}"

    def images(self, side: str) -> list[Path]:
        """The first `num_test` images of DATAROOT/PHASE{side}, by name (none if missing)."""
        folder = Path(self.dataroot) / f"{self.phase}{side}"
        if not folder.is_dir():
            return []
        files = sorted(p for p in folder.glob("*") if is_image_name(p))
        return files[: self.num_test]


def write_test_results(
    test: TestPhase, mode: str | None = None, device: str = "auto", batch_size: int = 1
) -> tuple[Path, int]:
    """Translate the phase's A images; returns the output folder and how many were written.

    `mode` (cut or fastcut), when given, must be the one the model was trained as.
    """
    path = resolve_checkpoint(test.name, test.checkpoints_dir, None)
    translator, model = Translator.from_checkpoint(path, resolve_device(device), batch_size)
    if mode is not None and mode.lower() != model.mode:
        raise OptionError(
            "mode", f"{{option}} {mode}: the model '{test.name}' was trained as {model.mode}"
        )
    sources, references = test.images("A"), test.images("B")
    if not sources:
        raise KplateError(f"{Path(test.dataroot) / (test.phase + 'A')}: no images to test")
    out = test.out
    refuse_overlap(
        out, [("dataroot", Path(test.dataroot)), ("checkpoints_dir", path)], "results_dir"
    )
    rows = []
    for index, source_path in enumerate(sources):
        source = read_rgb(source_path)
        visuals = {"real_A": source, "fake_B": translator.translate([source])[0]}
        if index < len(references):
            visuals["real_B"] = read_rgb(references[index])
        for label, image in visuals.items():
            target = out / "images" / label / f"{source_path.stem}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_save_image(np.ascontiguousarray(image), target)
        rows.append((source_path.stem, list(visuals)))
    atomic_write_text(out / "index.html", _index_page(test.name, rows))
    return out, len(rows)


def _index_page(title: str, rows: list[tuple[str, list[str]]]) -> str:
    """One table row per plate: its images side by side, each with its label."""
    cells = "\n".join(
        "<tr>"
        + "".join(
            f'<td><img src="images/{label}/{html.escape(stem)}.png" height="64"><br>{label}</td>'
            for label in labels
        )
        + "</tr>"
        for stem, labels in rows
    )
    return (
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>\n"
        f"<table>\n{cells}\n</table>\n"
    )
