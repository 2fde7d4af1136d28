"""Mixup whose partner for sample i is sample B-1-i, as timm's ``Mixup`` pairs them."""
from __future__ import annotations

import torch
from mmaction.models.utils.blending_utils import MixupBlending
from mmaction.registry import MODELS


@MODELS.register_module()
class ReversedMixupBlending(MixupBlending):
    """``MixupBlending`` with timm's partner: the batch reversed, not a random permutation.

    VideoMAEv2 / ADH-ViT mix with ``timm.data.Mixup`` (``x.flip(0)``). With repeated
    augmentation the two copies of a clip sit side by side in a batch, so a reversed
    partner is almost never the sample's own clip, while a random permutation pairs a
    copy with its twin about once per batch (1/(B-1) per sample). ``lam`` is drawn from
    Beta(alpha, alpha) as in the parent.
    """

    def do_blending(self, imgs: torch.Tensor, label: torch.Tensor, **kwargs) -> tuple:
        if kwargs:
            raise TypeError(f'unexpected arguments for mixup: {sorted(kwargs)}')
        lam = self.beta.sample()
        mixed_imgs = lam * imgs + (1 - lam) * imgs.flip(0)
        mixed_label = lam * label + (1 - lam) * label.flip(0)
        return mixed_imgs, mixed_label
