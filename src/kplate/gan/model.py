"""One CUT/FastCUT training step, without repeated work.

Per step: one generator pass over real A (and real B for the identity NCE) that also
returns the encoder features of the reals, one encoder-only pass over the outputs, one
projection of the (gradient-free) key features and one of the queries, one discriminator
pass over fake and real together, and one over the fake for G's GAN loss after D moved.
The reference runs G's encoder over the reals again for every NCE loss; their features
are detached in PatchNCE, so reusing the forward's features gives the same loss.

FastCUT's flip-equivariance (with probability 1/2): G translates flip(x), its output is
flipped back before D sees it, and the NCE compares the features of G(flip(x)) flipped back
against the features of x, as in the paper. D therefore never sees a mirrored plate, and G
is never asked to make a mirrored plate look real.

G and F live in one `GeneratorSide` module so that DistributedDataParallel wraps the
whole generator-side forward (several G passes) with a single gradient reduction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from kplate.gan.config import CUTConfig
from kplate.gan.losses import lsgan_loss, patch_nce_loss
from kplate.gan.networks import NLayerDiscriminator, PatchSampleF, ResnetGenerator
from kplate.gan.text_loss import TextLoss

LOSS_NAMES = ("D_real", "D_fake", "G_GAN", "NCE", "NCE_Y", "G", "D")
#: The text-preserving loss's column, logged only by runs that use it (lambda_text > 0),
#: so a plain CUT run's logs are what they were.
TEXT_LOSS = "TEXT"


def loss_names(config: CUTConfig) -> tuple[str, ...]:
    """The logged losses of a run with this config, in `StepResult.losses` order."""
    return (*LOSS_NAMES, TEXT_LOSS) if config.lambda_text > 0 else LOSS_NAMES


class GeneratorSide(nn.Module):
    """G and F: translation plus PatchNCE, one forward for DDP."""

    def __init__(self, netG: ResnetGenerator, netF: PatchSampleF, config: CUTConfig) -> None:
        super().__init__()
        self.netG = netG
        self.netF = netF
        self.config = config

    def forward(
        self, real_A: torch.Tensor, real_B: torch.Tensor, flip: bool, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns fake_B (un-mirrored), the per-patch NCE losses for A, and for B (or empty)."""
        cfg, layers = self.config, self.config.nce_layers
        n = real_A.shape[0]
        real = torch.cat((real_A, real_B)) if cfg.nce_idt else real_A
        if flip:
            fake_flipped = self.netG(torch.flip(real, [3]))
            fake = torch.flip(fake_flipped, [3])
            feat_k = self.netG.encode(real, layers)  # features of x itself
            feat_q = [torch.flip(f, [3]) for f in self.netG.encode(fake_flipped, layers)]
        else:
            fake, feat_k = self.netG.forward_with_features(real, layers)
            feat_q = self.netG.encode(fake, layers)
        with torch.no_grad():  # keys are detached in PatchNCE: no graph needed
            pool_k, ids = self.netF([f.detach() for f in feat_k], cfg.num_patches, None, generator)
        pool_q, _ = self.netF(feat_q, cfg.num_patches, ids)
        total = real.shape[0]
        per_layer = [
            patch_nce_loss(q, k, total, cfg.nce_T) * cfg.lambda_NCE
            for q, k in zip(pool_q, pool_k, strict=True)
        ]
        # (layers, images, patches) -> the A images' and B images' losses.
        stacked = torch.stack([loss.view(total, -1).mean(1) for loss in per_layer])
        nce_a = stacked[:, :n]
        nce_b = stacked[:, n:]
        return fake[:n], nce_a, nce_b


@dataclass
class StepResult:
    losses: torch.Tensor  # LOSS_NAMES order, detached, on the device
    fake_B: torch.Tensor


class CUTModel:
    """Networks, optimisers and schedulers of one run, and its training step."""

    def __init__(
        self,
        config: CUTConfig,
        netG: ResnetGenerator,
        netD: NLayerDiscriminator,
        netF: PatchSampleF,
        lr_lambda: Callable[[int], float],
        amp_dtype: torch.dtype | None = None,
        text_loss: TextLoss | None = None,
    ) -> None:
        if config.lambda_text > 0 and text_loss is None:
            raise ValueError("lambda_text > 0 needs a text_loss (a frozen reader)")
        self.config = config
        # Only used when lambda_text > 0: with 0 the step is exactly plain CUT.
        self.text_loss = text_loss if config.lambda_text > 0 else None
        self.netG, self.netD, self.netF = netG, netD, netF
        self.gside: nn.Module = GeneratorSide(netG, netF, config)
        self.d_forward: nn.Module = netD
        betas = (config.beta1, config.beta2)
        self.opt_G = torch.optim.Adam(netG.parameters(), lr=config.lr, betas=betas)
        self.opt_D = torch.optim.Adam(netD.parameters(), lr=config.lr, betas=betas)
        self.opt_F = torch.optim.Adam(netF.parameters(), lr=config.lr, betas=betas)
        self.optimizers = {"G": self.opt_G, "D": self.opt_D, "F": self.opt_F}
        self.lr_lambda = lr_lambda
        self.schedulers = {
            k: torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
            for k, opt in self.optimizers.items()
        }
        self.amp_dtype = amp_dtype
        use_scaler = amp_dtype == torch.float16
        self.scaler_D = torch.amp.GradScaler("cuda", enabled=use_scaler)
        self.scaler_G = torch.amp.GradScaler("cuda", enabled=use_scaler)

    def wrap(self, wrapper: Callable[[nn.Module], nn.Module]) -> None:
        """Wrap the generator side and D (e.g. in DistributedDataParallel)."""
        self.gside = wrapper(self.gside)
        self.d_forward = wrapper(self.netD)

    def _autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=self.amp_dtype)

    def train_step(
        self,
        real_A: torch.Tensor,
        real_B: torch.Tensor,
        generator: torch.Generator,
        texts: Sequence[str | None] | None = None,
    ) -> StepResult:
        """One D step and one G/F step. `texts`: the labels of real_A's plates (None or a
        None entry: unlabelled), read by the text-preserving loss when it is on."""
        cfg = self.config
        flip = bool(cfg.flip_equivariance and torch.rand((), generator=generator).item() < 0.5)
        amp = self._autocast(real_A.device)
        with amp:
            fake_B, nce_a, nce_b = self.gside(real_A, real_B, flip, generator)

        # Discriminator: fake and real in one pass (instance norm is per image).
        self.netD.requires_grad_(True)
        self.opt_D.zero_grad(set_to_none=True)
        n = real_A.shape[0]
        with amp:
            pred = self.d_forward(torch.cat((fake_B.detach(), real_B)))
            loss_D_fake = lsgan_loss(pred[:n], False)
            loss_D_real = lsgan_loss(pred[n:], True)
            loss_D = (loss_D_fake + loss_D_real) * 0.5
        self.scaler_D.scale(loss_D).backward()
        self.scaler_D.step(self.opt_D)
        self.scaler_D.update()

        # Generator and F: D is frozen and called unwrapped (no DDP reduction for it).
        self.netD.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=True)
        self.opt_F.zero_grad(set_to_none=True)
        with amp:
            loss_G_GAN = lsgan_loss(self.netD(fake_B), True) * cfg.lambda_GAN
        loss_nce = nce_a.mean(1).mean()
        if cfg.nce_idt:
            loss_nce_y = nce_b.mean(1).mean()
            loss_nce_both = (loss_nce + loss_nce_y) * 0.5
        else:
            loss_nce_y = torch.zeros((), device=real_A.device)
            loss_nce_both = loss_nce
        loss_G = loss_G_GAN + loss_nce_both
        parts = [loss_D_real, loss_D_fake, loss_G_GAN, loss_nce, loss_nce_y]
        if self.text_loss is not None:
            loss_text = self.text_loss(fake_B, texts or [None] * n) * cfg.lambda_text
            loss_G = loss_G + loss_text
        self.scaler_G.scale(loss_G).backward()
        self.scaler_G.step(self.opt_G)
        self.scaler_G.step(self.opt_F)
        self.scaler_G.update()
        self.netD.requires_grad_(True)

        values = [*parts, loss_G, loss_D]
        if self.text_loss is not None:
            values.append(loss_text)
        losses = torch.stack(values).detach()
        return StepResult(losses=losses, fake_B=fake_B.detach())

    def step_schedulers(self) -> None:
        for scheduler in self.schedulers.values():
            scheduler.step()

    @property
    def lr(self) -> float:
        return float(self.opt_G.param_groups[0]["lr"])

    def state_dict(self) -> dict:
        return {
            "G": self.netG.state_dict(),
            "D": self.netD.state_dict(),
            "F": self.netF.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "scalers": {"D": self.scaler_D.state_dict(), "G": self.scaler_G.state_dict()},
        }

    def load_state_dict(self, state: dict) -> None:
        self.netG.load_state_dict(state["G"])
        self.netD.load_state_dict(state["D"])
        self.netF.load_state_dict(state["F"])
        for k, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][k])
        for k, sched in self.schedulers.items():
            sched.load_state_dict(state["schedulers"][k])
        if state.get("scalers"):
            self.scaler_D.load_state_dict(state["scalers"]["D"])
            self.scaler_G.load_state_dict(state["scalers"]["G"])

    def restore(self, state: dict) -> None:
        """Load a `state_dict()` to continue training from it, at this model's schedule.

        A resumed run may ask for another total than the saved one; the schedule is this
        model's `lr_lambda` (built for the new total), so every rate is set from it at the
        saved step rather than kept from the saved run.
        """
        self.load_state_dict(state)
        for scheduler in self.schedulers.values():
            rate = self.lr_lambda(scheduler.last_epoch)
            for group, base in zip(
                scheduler.optimizer.param_groups, scheduler.base_lrs, strict=True
            ):
                group["lr"] = base * rate
