"""The DCGAN networks: the seed studies' architecture and the PyTorch tutorial's.

Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional Generative
Adversarial Networks" (ICLR 2016).

* ``study``: what the seed studies used (Keras style). A dense layer maps z to 4x4x(4*g_width), then
  upsample + 3x3 conv + batch norm + ReLU blocks double the size up to 32 px; a final block upsamples
  by the *resolution multiplier* ``size // 32`` (1, 2, 3, 4 -> 32, 64, 96, 128 px). The discriminator is
  strided convs with LeakyReLU and dropout, then a dense logit.
* ``tutorial``: the PyTorch DCGAN tutorial (transposed convs, batch norm), 64 px and a 32 px variant.

The discriminators return logits; the trainer's losses use ``BCEWithLogits`` (the tutorial's
Sigmoid + BCELoss, computed stably). Every constructor takes a validated :class:`ModelConfig`.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from core.dcgan.config import ModelConfig


def _init_dcgan_weights(module: nn.Module) -> None:
    # DCGAN paper: all weights from N(0, 0.02); batch-norm scales from N(1, 0.02).
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class StudyGenerator(nn.Module):
    """Dense -> 4x4 map -> (upsample, 3x3 conv, BN, ReLU) blocks -> 3x3 conv -> tanh."""

    def __init__(self, cfg: ModelConfig):  # cfg: arch "study"; size, latent_dim and g_width are used
        super().__init__()
        self.latent_dim = cfg.latent_dim
        self.base = 4 * cfg.g_width
        self.fc = nn.Linear(cfg.latent_dim, 4 * 4 * self.base, bias=False)
        self.fc_bn = nn.BatchNorm1d(4 * 4 * self.base)
        # Three doublings reach 32 px; the resolution multiplier (1..4) sets the last upsampling.
        factors = [2, 2, 2] + ([cfg.size // 32] if cfg.size > 32 else [])
        widths = [4 * cfg.g_width, 2 * cfg.g_width, cfg.g_width, max(8, cfg.g_width // 2)]
        blocks, c_in = [], self.base
        for factor, c_out in zip(factors, widths):
            blocks += [nn.Upsample(scale_factor=factor, mode="nearest"),
                       nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                       nn.BatchNorm2d(c_out), nn.ReLU(True)]
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.to_rgb = nn.Conv2d(c_in, 3, 3, padding=1)
        self.apply(_init_dcgan_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, (tuple(z.shape), self.latent_dim)
        x = F.relu(self.fc_bn(self.fc(z)))
        x = x.view(z.shape[0], self.base, 4, 4)
        return torch.tanh(self.to_rgb(self.blocks(x)))


class StudyDiscriminator(nn.Module):
    """Strided 4x4 convs with LeakyReLU(0.2) and dropout down to <= 4 px, then a dense logit."""

    def __init__(self, cfg: ModelConfig):  # cfg: arch "study"; size, d_width and d_dropout are used
        super().__init__()
        layers, c_in, side, c_out = [], 3, cfg.size, cfg.d_width
        while side > 4 and side % 2 == 0:
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.2, True), nn.Dropout(cfg.d_dropout)]
            c_in, side, c_out = c_out, side // 2, min(c_out * 2, 8 * cfg.d_width)
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in * side * side, 1)
        self.apply(_init_dcgan_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.ndim == 4 and x.shape[1] == 3, f"expected N x 3 x H x W, got {tuple(x.shape)}"
        return self.fc(self.features(x).flatten(1)).view(-1)


class TutorialGenerator(nn.Module):
    """PyTorch DCGAN tutorial generator: ConvTranspose(4, s2) + BN + ReLU stack, tanh output."""

    def __init__(self, cfg: ModelConfig):  # cfg: arch "tutorial"; size (32/64), latent_dim, g_width
        super().__init__()
        self.latent_dim = cfg.latent_dim
        g = cfg.g_width
        mult = cfg.size // 8  # 8 at 64 px (ngf*8 at 4x4), 4 at 32 px
        layers = [nn.ConvTranspose2d(cfg.latent_dim, g * mult, 4, 1, 0, bias=False),
                  nn.BatchNorm2d(g * mult), nn.ReLU(True)]
        while mult > 1:
            layers += [nn.ConvTranspose2d(g * mult, g * mult // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(g * mult // 2), nn.ReLU(True)]
            mult //= 2
        layers += [nn.ConvTranspose2d(g, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.apply(_init_dcgan_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, (tuple(z.shape), self.latent_dim)
        return self.main(z.view(z.shape[0], -1, 1, 1))


class TutorialDiscriminator(nn.Module):
    """PyTorch DCGAN tutorial discriminator (the final Sigmoid is folded into the loss)."""

    def __init__(self, cfg: ModelConfig):  # cfg: arch "tutorial"; size (32/64) and d_width are used
        super().__init__()
        d = cfg.d_width
        layers: list[nn.Module] = [nn.Conv2d(3, d, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        c, side = d, cfg.size // 2
        while side > 4:
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2),
                       nn.LeakyReLU(0.2, True)]
            c, side = c * 2, side // 2
        layers += [nn.Conv2d(c, 1, 4, 1, 0, bias=False)]
        self.main = nn.Sequential(*layers)
        self.apply(_init_dcgan_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.ndim == 4 and x.shape[1] == 3, f"expected N x 3 x H x W, got {tuple(x.shape)}"
        return self.main(x).view(-1)


def build_models(cfg: ModelConfig) -> tuple[nn.Module, nn.Module]:
    """Generator and discriminator for ``cfg`` (weights drawn from torch's global RNG)."""
    cfg.validate()
    if cfg.arch == "study":
        return StudyGenerator(cfg), StudyDiscriminator(cfg)
    return TutorialGenerator(cfg), TutorialDiscriminator(cfg)


def build_generator(cfg: ModelConfig) -> nn.Module:
    """The generator alone (inference); ``cfg`` is validated first."""
    cfg.validate()
    return StudyGenerator(cfg) if cfg.arch == "study" else TutorialGenerator(cfg)
