"""LSGAN and PatchNCE losses.

PatchNCE takes its negatives from the other patches of the same image (the paper's
default), using the actual batch size rather than the configured one, so a short last
batch or a per-rank DDP batch cannot silently mix images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def lsgan_loss(prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """Least-squares GAN loss against an all-ones or all-zeros target."""
    prediction = prediction.float()
    target = torch.ones_like(prediction) if target_is_real else torch.zeros_like(prediction)
    return F.mse_loss(prediction, target)


def patch_nce_loss(
    feat_q: torch.Tensor, feat_k: torch.Tensor, batch: int, temperature: float
) -> torch.Tensor:
    """Per-patch InfoNCE: query patch i must match key patch i among the image's patches.

    `feat_q`, `feat_k`: (batch * patches, dim) unit vectors. Returns (batch * patches,).
    """
    feat_k = feat_k.detach()
    dim = feat_q.shape[1]
    l_pos = (feat_q * feat_k).sum(dim=1, keepdim=True)
    q = feat_q.view(batch, -1, dim)
    k = feat_k.view(batch, -1, dim)
    patches = q.shape[1]
    l_neg = torch.bmm(q, k.transpose(2, 1))
    diagonal = torch.eye(patches, device=q.device, dtype=torch.bool)[None]
    l_neg = l_neg.masked_fill(diagonal, -10.0).view(-1, patches)
    logits = torch.cat((l_pos, l_neg), dim=1) / temperature
    target = torch.zeros(logits.shape[0], dtype=torch.long, device=q.device)
    return F.cross_entropy(logits, target, reduction="none")
