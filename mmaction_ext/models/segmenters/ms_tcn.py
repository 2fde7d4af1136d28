"""Registered segmenter: MS-TCN (Farha & Gall, CVPR 2019) on one stream of features."""
from __future__ import annotations

import torch
from mmaction.registry import MODELS

from .base_segmenter import BaseSegmenter
from .tcn_blocks import RefinementStages, SingleStageTCN


@MODELS.register_module()
class MSTCN(BaseSegmenter):
    """Multi-stage temporal convolutional network over ``(D, T)`` features of one stream.

    The published defaults (yabufarha/ms-tcn ``main.py``): 4 stages, 10 layers per
    stage, 64 feature maps, dropout 0.5, trained with ``MSTCNLoss`` (lambda 0.15, clamp
    16), Adam lr 5e-4, batch 1, 50 epochs.

    Args:
        in_channels: feature rows D (2048 for the I3D features of the benchmarks).
        num_classes: classes.
        track: the stream's name in inputs and data samples (``'label'``: keys
            ``gt_labels`` / ``pred_labels``).
    """

    def __init__(self, in_channels: int, num_classes: int, num_stages: int = 4,
                 num_layers: int = 10, num_f_maps: int = 64, dropout: float = 0.5,
                 track: str = 'label', loss: dict | None = None,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None) -> None:
        super().__init__({track: in_channels}, {track: num_classes}, loss,
                         data_preprocessor, init_cfg)
        if num_stages < 1:
            raise ValueError(f'num_stages must be >= 1, got {num_stages}')
        self.stage1 = SingleStageTCN(num_layers, num_f_maps, in_channels, num_classes, dropout)
        self.refine = RefinementStages(num_stages - 1, num_layers, num_f_maps, num_classes,
                                       dropout)

    def stage_logits(self, x: dict[str, torch.Tensor], mask: torch.Tensor
                     ) -> dict[str, list[torch.Tensor]]:
        (track,) = self.tracks
        first = self.stage1(x[track], mask)
        return {track: [first] + self.refine(first, mask)}
