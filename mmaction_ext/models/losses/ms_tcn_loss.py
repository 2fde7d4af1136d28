"""MS-TCN's training loss: cross-entropy plus a truncated MSE smoothing term, every stage."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from torch import nn

from ..segmenters.tcn_blocks import IGNORE_INDEX


@MODELS.register_module()
class MSTCNLoss(nn.Module):
    """Sum over stages of ``CE + smooth_weight * T-MSE`` (yabufarha/ms-tcn ``model.py``).

    CE is the mean over labelled frames of the batch; T-MSE is the squared difference of
    consecutive frames' log-softmax (the earlier frame detached), clamped at ``clamp``
    (16, i.e. tau = 4), zeroed past each video's end and averaged over all
    ``N x C x (T - 1)`` entries, padded ones included, exactly as the reference does.

    Args:
        smooth_weight: lambda of the paper (0.15).
        clamp: the truncation tau^2 (16).
    """

    def __init__(self, smooth_weight: float = 0.15, clamp: float = 16.0) -> None:
        super().__init__()
        self.smooth_weight = smooth_weight
        self.clamp = clamp

    def forward(self, stage_logits: Sequence[torch.Tensor], targets: torch.Tensor,
                mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{'ce', 'tmse'}`` summed over stages (T-MSE already weighted).

        Args:
            stage_logits: per stage ``(N, C, T)``.
            targets: ``(N, T)`` class indices, :data:`IGNORE_INDEX` where unlabelled.
            mask: ``(N, 1, T)``, 1 on real frames.
        """
        ce = tmse = stage_logits[0].new_zeros(())
        for logits in stage_logits:
            ce = ce + F.cross_entropy(logits.transpose(1, 2).reshape(-1, logits.shape[1]),
                                      targets.reshape(-1), ignore_index=IGNORE_INDEX)
            diff = F.mse_loss(F.log_softmax(logits[:, :, 1:], dim=1),
                              F.log_softmax(logits.detach()[:, :, :-1], dim=1),
                              reduction='none')
            tmse = tmse + self.smooth_weight * torch.mean(
                torch.clamp(diff, min=0, max=self.clamp) * mask[:, :, 1:])
        return {'ce': ce, 'tmse': tmse}
