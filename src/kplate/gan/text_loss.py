"""The text-preserving loss: a frozen plate reader must still read the source label in G(x).

CUT's PatchNCE keeps patches similar, not characters: a translated `3` may become an `8`
and PatchNCE barely notices. This loss runs a frozen CTC reader (kplate's own recogniser,
trained on kplate's synthetic plates) over the generator's output and penalises it, with
CTC, when the reading is not the source plate's label. Only G learns from it; the reader
never changes.

The gan stage may not import `kplate.evaluate`, so the reader comes in through the small
`TextReader` protocol: a CTC module, its charset and input size, and `read` for the
`--verify` check. `kplate.evaluate.text_reader.RecogniserReader` wraps a `Recogniser`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: ITU-R 601 luma, the weights PIL's convert("L") uses (the reader was trained on it).
_LUMA = (0.299, 0.587, 0.114)


@runtime_checkable
class TextReader(Protocol):
    """A frozen CTC plate reader.

    `module` maps (N, 1, height, width) greyscale in [0, 1] to log-probabilities
    (T, N, len(charset) + 1); class 0 is the CTC blank and class i + 1 is `charset[i]`.
    `read` turns RGB uint8 images of any size into text (for `--verify`).
    """

    charset: str
    height: int
    width: int
    module: nn.Module

    def read(self, images: Sequence[np.ndarray]) -> list[str]: ...


def reader_input(fake: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """G's output (N, 3, h, w) in [-1, 1] as the reader's input: grey, [0, 1], resized.

    Differentiable, so the loss's gradient reaches G. Antialiased bilinear resizing is
    close to the PIL resize the reader sees at read time.
    """
    rgb = (fake.float().clamp(-1, 1) + 1) * 0.5
    weights = torch.tensor(_LUMA, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    grey = (rgb * weights).sum(1, keepdim=True)
    if grey.shape[-2:] != (height, width):
        grey = F.interpolate(
            grey, size=(height, width), mode="bilinear", antialias=True, align_corners=False
        )
    return grey.contiguous()


def _freeze(module: nn.Module) -> nn.Module:
    """Eval mode (BatchNorm uses its running statistics) and no parameter gradients.

    A recurrent layer is put back in training mode when that changes nothing it computes
    (no dropout): cuDNN runs an RNN's backward pass in training mode only, and the
    gradient must flow through the reader to G.
    """
    module.eval()
    module.requires_grad_(False)
    for sub in module.modules():
        if isinstance(sub, nn.RNNBase) and (sub.dropout == 0 or sub.num_layers == 1):
            sub.train()
    return module


class TextLoss(nn.Module):
    """CTC of the frozen reader on G's output against each source plate's label.

    Plates without a label, or with a character the reader cannot write, are left out
    of the mean (their weight is 0); a batch with none gives 0 with no reader pass.
    """

    def __init__(self, reader: TextReader) -> None:
        super().__init__()
        self.charset = reader.charset
        self.height, self.width = int(reader.height), int(reader.width)
        self.index = {c: i + 1 for i, c in enumerate(self.charset)}
        # Held outside the module tree: not in state_dict, not moved by .to() of G, never
        # wrapped by DDP, never saved in a checkpoint.
        self._reader = [_freeze(reader.module)]
        self.ctc = nn.CTCLoss(blank=0, reduction="none", zero_infinity=True)

    @property
    def reader(self) -> nn.Module:
        return self._reader[0]

    def to_device(self, device: torch.device) -> TextLoss:
        self._reader[0] = _freeze(self.reader.to(device))
        return self

    def targets(self, texts: Sequence[str | None]) -> tuple[list[int], list[list[int]]]:
        """(positions in the batch, encoded labels) of the plates the loss can judge."""
        keep, encoded = [], []
        for i, text in enumerate(texts):
            if text and all(c in self.index for c in text):
                keep.append(i)
                encoded.append([self.index[c] for c in text])
        return keep, encoded

    def forward(self, fake: torch.Tensor, texts: Sequence[str | None]) -> torch.Tensor:
        """Mean CTC loss (per label character) over the judged plates, float32."""
        keep, encoded = self.targets(texts)
        if not keep:
            return fake.float().sum() * 0.0  # keeps the graph; no reader pass
        x = reader_input(fake[keep], self.height, self.width)
        with torch.autocast(x.device.type, enabled=False):
            log_probs = self.reader(x).float()
        steps, n = log_probs.shape[0], len(keep)
        targets = torch.tensor([c for e in encoded for c in e], dtype=torch.long)
        target_lengths = torch.tensor([len(e) for e in encoded], dtype=torch.long)
        input_lengths = torch.full((n,), steps, dtype=torch.long)
        device = log_probs.device
        per_plate = self.ctc(
            log_probs, targets.to(device), input_lengths.to(device), target_lengths.to(device)
        )
        return (per_plate / target_lengths.to(device).float()).mean()
