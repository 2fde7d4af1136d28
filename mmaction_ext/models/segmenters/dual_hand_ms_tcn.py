"""Registered segmenter: MS-TCN for two hands, a shared first stage and a refiner per hand."""
from __future__ import annotations

import torch
from mmaction.registry import MODELS

from .base_segmenter import BaseSegmenter
from .tcn_blocks import RefinementStages, SingleStageTCN


@MODELS.register_module()
class DualHandMSTCN(BaseSegmenter):
    """MS-TCN over both hands' features at once, each hand with its own classes.

    The first stage reads both hands' features stacked (``D_lh + D_rh`` rows), so each
    hand's first prediction already sees the other hand, and outputs ``C_lh + C_rh``
    logits split per hand; each hand's logits then go through its own ``num_stages - 1``
    refinement stages (as MS-TCN's), which see only that hand's predictions. The loss
    (``MSTCNLoss`` per hand over its stages, the shared stage's slice included) is
    summed over the hands and logged per hand.

    Args:
        in_channels: ``{'lh': D_lh, 'rh': D_rh}``.
        num_classes: ``{'lh': C_lh, 'rh': C_rh}``.
    """

    def __init__(self, in_channels: dict[str, int], num_classes: dict[str, int],
                 num_stages: int = 4, num_layers: int = 10, num_f_maps: int = 64,
                 dropout: float = 0.5, loss: dict | None = None,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None) -> None:
        super().__init__(in_channels, num_classes, loss, data_preprocessor, init_cfg)
        if num_stages < 1:
            raise ValueError(f'num_stages must be >= 1, got {num_stages}')
        self.shared_stage = SingleStageTCN(num_layers, num_f_maps, sum(in_channels.values()),
                                           sum(num_classes.values()), dropout)
        self.refiners = torch.nn.ModuleDict({
            t: RefinementStages(num_stages - 1, num_layers, num_f_maps, c, dropout)
            for t, c in num_classes.items()})

    def stage_logits(self, x: dict[str, torch.Tensor], mask: torch.Tensor
                     ) -> dict[str, list[torch.Tensor]]:
        shared = self.shared_stage(torch.cat([x[t] for t in self.tracks], dim=1), mask)
        firsts = shared.split([self.num_classes[t] for t in self.tracks], dim=1)
        return {t: [first] + self.refiners[t](first, mask)
                for t, first in zip(self.tracks, firsts)}
