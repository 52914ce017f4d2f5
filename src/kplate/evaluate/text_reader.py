"""kplate's recogniser as the GAN's frozen plate reader (`kplate.gan.text_loss.TextReader`).

The gan stage cannot import this one, so `kplate train --lambda-text` and `--verify`
get their reader here: `load_reader(path)` for `--reader FILE`, or `cached_reader`, which
trains the fixed-recipe recogniser on the dataroot's labelled synthetic plates the first
time and keeps it in the run folder (`reader.pt`), so a resumed run and a later
`translate --verify` use the very reader the generator was trained against. Nothing is
downloaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from kplate.errors import KplateError, OptionError
from kplate.evaluate.data import UNKNOWN_TYPE, LabelledImage
from kplate.evaluate.decoding import Decoding
from kplate.evaluate.recogniser import (
    CHARSET,
    DEFAULT_STEPS,
    HEIGHT,
    WIDTH,
    Recogniser,
    train_recogniser,
)
from kplate.gan.data import domain_labels

#: The reader's file in a training run's folder.
READER_FILE = "reader.pt"
#: Steps of a reader trained on first use: the recogniser's default recipe length.
READER_STEPS = DEFAULT_STEPS


@dataclass
class RecogniserReader:
    """A `Recogniser` seen through the gan stage's `TextReader` protocol."""

    recogniser: Recogniser
    path: str = ""

    @property
    def charset(self) -> str:
        return CHARSET

    @property
    def height(self) -> int:
        return HEIGHT

    @property
    def width(self) -> int:
        return WIDTH

    @property
    def module(self) -> nn.Module:
        return self.recogniser.model

    def read(self, images: Sequence[np.ndarray]) -> list[str]:
        # Best path, not grammar-completed: a check must not let the grammar pick the
        # label among the candidates of a plate the network itself misread.
        return self.recogniser.read(list(images), decoding=Decoding.GREEDY)


def load_reader(path: str | Path, flag: str = "reader") -> RecogniserReader:
    """A saved recogniser; a missing file or one that is not a recogniser is one line
    naming the flag."""
    path = Path(path)
    if not path.is_file():
        raise OptionError(flag, f"{{option}} {path}: no such recogniser file")
    try:
        recogniser = Recogniser.load(path)
    except KplateError as error:
        raise OptionError(flag, f"{{option}} {error}") from None
    return RecogniserReader(recogniser, str(path))


def cached_reader(
    run_dir: Path,
    train_a: Path,
    steps: int = READER_STEPS,
    progress: Callable[[str], None] | None = None,
) -> RecogniserReader:
    """The run folder's reader.pt, trained on `train_a`'s labelled plates when absent.

    Written to a temporary name and renamed (`Recogniser.save`), so a killed training
    never leaves half a reader that a later run would load.
    """
    path = Path(run_dir) / READER_FILE
    if path.exists():
        return load_reader(path)
    labels = domain_labels(Path(train_a))  # dataset.json's labels, or a labels.csv
    writable = set(CHARSET)
    items = [
        LabelledImage(Path(train_a) / name, text, UNKNOWN_TYPE, name)
        for name, text in sorted(labels.items())
        if set(text) <= writable
    ]
    if not items:
        raise KplateError(f"{train_a}: no labelled plates to train the reader on")
    recogniser = train_recogniser([items], steps, seed=0, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    recogniser.save(path)
    return RecogniserReader(recogniser, str(path))
