"""CutMix whose partner for sample i is sample B-1-i, as timm's ``Mixup`` pairs them."""
from __future__ import annotations

import torch
from mmaction.models.utils.blending_utils import CutmixBlending
from mmaction.registry import MODELS


@MODELS.register_module()
class ReversedCutmixBlending(CutmixBlending):
    """``CutmixBlending`` with timm's partner: the batch reversed, not a random permutation.

    The box comes from the parent's ``rand_bbox`` (one box for every frame and view of
    the batch, as timm cuts the ``(B, C*T, H, W)`` view) and ``lam`` is corrected to the
    box's actual area, as both do. See :class:`ReversedMixupBlending` for why the
    partner matters with repeated augmentation.
    """

    def do_blending(self, imgs: torch.Tensor, label: torch.Tensor, **kwargs) -> tuple:
        if kwargs:
            raise TypeError(f'unexpected arguments for cutmix: {sorted(kwargs)}')
        lam = self.beta.sample()
        x1, y1, x2, y2 = self.rand_bbox(imgs.size(), lam)
        partner = imgs.flip(0)
        imgs[..., y1:y2, x1:x2] = partner[..., y1:y2, x1:x2]
        lam = 1 - (1.0 * (x2 - x1) * (y2 - y1) / (imgs.size(-1) * imgs.size(-2)))
        return imgs, lam * label + (1 - lam) * label.flip(0)
