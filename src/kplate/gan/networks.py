"""The CUT networks: ResNet generator, PatchGAN discriminator, PatchSampleF projection head.

Written from the paper (Park et al., ECCV 2020) with the reference code's layer order, so
`nce_layers=(0, 4, 8, 12, 16)` picks the same features: the padded input, the two
downsampling convolutions and the outputs of ResNet blocks 0 and 4. Down/upsampling is
anti-aliased (blur-pool), as in the reference default. Convolutions work at any H x W that
is a multiple of 4, so plates keep their own aspect ratio.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from kplate.gan.config import CUTConfig


def _binomial_filter(size: int) -> torch.Tensor:
    taps = {3: [1.0, 2.0, 1.0], 4: [1.0, 3.0, 3.0, 1.0]}[size]
    row = torch.tensor(taps)
    filt = row[:, None] * row[None, :]
    return filt / filt.sum()


class Downsample(nn.Module):
    """Blur then subsample by 2 (anti-aliased), depthwise with a fixed [1,2,1] filter."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("filt", _binomial_filter(3)[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (1, 1, 1, 1), mode="reflect")
        return F.conv2d(x, self.filt.to(x.dtype), stride=2, groups=x.shape[1])


class Upsample(nn.Module):
    """Upsample by 2 with the reference's fixed [1,3,3,1] transposed filter.

    That filter with replicate padding is exactly bilinear interpolation at half-pixel
    centres (weights 1/4 and 3/4 from the nearest two pixels, edges clamped), so it is
    computed as such: the same numbers (to 1e-6) as the transposed depthwise
    convolution, and faster forward and backward on the CPU. The filter stays a buffer
    so that checkpoints keep their keys.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        filt = _binomial_filter(4) * 4
        self.register_buffer("filt", filt[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class InstanceNorm(nn.Module):
    """Instance normalisation without affine terms or running statistics.

    Computed as group norm with one channel per group: the same numbers as
    `nn.InstanceNorm2d`, but forward and backward run ~3x faster on the CPU, where
    instance norm goes through a reshaped batch norm. No parameters, so checkpoints of
    either form load into the other.
    """

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.channels, self.eps = channels, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.group_norm(x, self.channels, eps=self.eps)


def _norm(channels: int) -> nn.Module:
    return InstanceNorm(channels)


class RGBOutputConv(nn.Conv2d):
    """The generator's last convolution (to 3 channels). oneDNN runs a convolution with
    so few output channels ~1.5x faster on the CPU in channels-last layout, so there it
    is computed that way and handed back in the usual layout: the same weights and
    state-dict keys, the same numbers up to float rounding."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or x.is_contiguous(memory_format=torch.channels_last):
            return super().forward(x)
        return super().forward(x.contiguous(memory_format=torch.channels_last)).contiguous()


class ResnetBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3),
            _norm(dim),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3),
            _norm(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """Encoder (7x7 conv, two anti-aliased downsamplings, ResNet blocks) and decoder."""

    def __init__(self, config: CUTConfig) -> None:
        super().__init__()
        self.config = config
        ngf = config.ngf
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(config.input_nc, ngf, 7),
            _norm(ngf),
            nn.ReLU(True),
        ]
        for i in range(2):
            mult = 2**i
            layers += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, 3, padding=1),
                _norm(ngf * mult * 2),
                nn.ReLU(True),
                Downsample(ngf * mult * 2),
            ]
        layers += [ResnetBlock(ngf * 4) for _ in range(config.n_blocks)]
        for i in range(2):
            mult = 2 ** (2 - i)
            layers += [
                Upsample(ngf * mult),
                nn.Conv2d(ngf * mult, ngf * mult // 2, 3, padding=1),
                _norm(ngf * mult // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), RGBOutputConv(ngf, config.output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def forward_with_features(
        self, x: torch.Tensor, layers: Sequence[int]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The translation and the encoder features at `layers`, in one pass."""
        feats = []
        wanted = set(layers)
        for index, layer in enumerate(self.model):
            x = layer(x)
            if index in wanted:
                feats.append(x)
        return x, feats

    def encode(self, x: torch.Tensor, layers: Sequence[int]) -> list[torch.Tensor]:
        """Features at `layers` only, stopping after the last one (no decoder)."""
        feats = []
        wanted, last = set(layers), max(layers)
        for index, layer in enumerate(self.model):
            x = layer(x)
            if index in wanted:
                feats.append(x)
            if index == last:
                break
        return feats


class NLayerDiscriminator(nn.Module):
    """PatchGAN: a grid of real/fake scores, one per overlapping patch."""

    def __init__(self, config: CUTConfig) -> None:
        super().__init__()
        ndf, n_layers = config.ndf, config.n_layers_D
        layers: list[nn.Module] = [
            nn.Conv2d(config.output_nc, ndf, 4, padding=1),
            nn.LeakyReLU(0.2, True),
            Downsample(ndf),
        ]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2**n, 8)
            layers += [
                nn.Conv2d(ndf * prev, ndf * mult, 4, padding=1),
                _norm(ndf * mult),
                nn.LeakyReLU(0.2, True),
                Downsample(ndf * mult),
            ]
        prev, mult = mult, min(2**n_layers, 8)
        layers += [
            nn.Conv2d(ndf * prev, ndf * mult, 4, padding=1),
            _norm(ndf * mult),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * mult, 1, 4, padding=1),
        ]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def _l2_normalize(x: torch.Tensor) -> torch.Tensor:
    return x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-7)


class PatchSampleF(nn.Module):
    """Samples patch positions from each feature map and projects them with a 2-layer MLP.

    Built eagerly from the feature channel counts (the reference builds it lazily on the
    first batch, which complicates DDP, optimisers and checkpoints).
    """

    def __init__(self, channels: Sequence[int], nc: int) -> None:
        super().__init__()
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(c, nc), nn.ReLU(), nn.Linear(nc, nc)) for c in channels
        )

    def forward(
        self,
        feats: Sequence[torch.Tensor],
        num_patches: int,
        patch_ids: Sequence[torch.Tensor] | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Returns per layer (batch * patches, nc) unit vectors, and the patch ids used."""
        out, ids = [], []
        for index, (feat, mlp) in enumerate(zip(feats, self.mlps, strict=True)):
            flat = feat.permute(0, 2, 3, 1).flatten(1, 2)  # B, H*W, C
            if patch_ids is not None:
                pid = patch_ids[index]
            else:
                count = flat.shape[1]
                pid = torch.randperm(count, generator=generator)[: min(num_patches, count)]
                pid = pid.to(feat.device, non_blocking=True)
            sample = flat[:, pid, :].flatten(0, 1)
            out.append(_l2_normalize(mlp(sample).float()))
            ids.append(pid)
        return out, ids


def init_weights(module: nn.Module, gain: float) -> None:
    """Xavier-normal weights with the reference's small gain, zero biases."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.xavier_normal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def feature_channels(generator: ResnetGenerator, layers: Sequence[int]) -> list[int]:
    """Channel count at each NCE layer, from a tiny dummy forward (so F is built eagerly)."""
    config = generator.config
    dummy = torch.zeros(1, config.input_nc, 8, 8, device=next(generator.parameters()).device)
    with torch.no_grad():
        return [f.shape[1] for f in generator.encode(dummy, layers)]


def build_networks(config: CUTConfig) -> tuple[ResnetGenerator, NLayerDiscriminator, PatchSampleF]:
    """G, D and F, initialised as in the reference."""
    netG = ResnetGenerator(config)
    netD = NLayerDiscriminator(config)
    netF = PatchSampleF(feature_channels(netG, config.nce_layers), config.netF_nc)
    for net in (netG, netD, netF):
        init_weights(net, config.init_gain)
    return netG, netD, netF


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
