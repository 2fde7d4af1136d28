"""MS-TCN's building blocks (Farha & Gall, CVPR 2019) and batching of variable-length videos.

Same layers as yabufarha/ms-tcn ``model.py``: a stage is a 1x1 convolution into
``num_f_maps`` channels, ``num_layers`` dilated residual layers (dilation 2^i, kernel 3,
ReLU, 1x1 convolution, dropout 0.5, residual, masked) and a 1x1 convolution to the
classes; later stages take the softmax of the previous stage's logits.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

IGNORE_INDEX = -100


class DilatedResidualLayer(nn.Module):
    """``x + dropout(conv1x1(relu(dilated conv3(x))))``, zeroed past each video's end."""

    def __init__(self, dilation: int, channels: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.conv_dilated = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.conv_1x1 = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = self.dropout(self.conv_1x1(F.relu(self.conv_dilated(x))))
        return (x + out) * mask


class SingleStageTCN(nn.Module):
    """One MS-TCN stage: ``(N, in_channels, T)`` to ``(N, num_classes, T)`` logits."""

    def __init__(self, num_layers: int, num_f_maps: int, in_channels: int, num_classes: int,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.conv_1x1 = nn.Conv1d(in_channels, num_f_maps, 1)
        self.layers = nn.ModuleList(
            [DilatedResidualLayer(2 ** i, num_f_maps, dropout) for i in range(num_layers)])
        self.conv_out = nn.Conv1d(num_f_maps, num_classes, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = self.conv_1x1(x)
        for layer in self.layers:
            out = layer(out, mask)
        return self.conv_out(out) * mask


class RefinementStages(nn.Module):
    """``num_stages`` stages each refining the softmax of the previous stage's logits."""

    def __init__(self, num_stages: int, num_layers: int, num_f_maps: int, num_classes: int,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.stages = nn.ModuleList([
            SingleStageTCN(num_layers, num_f_maps, num_classes, num_classes, dropout)
            for _ in range(num_stages)])

    def forward(self, logits: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for stage in self.stages:
            logits = stage(F.softmax(logits, dim=1) * mask, mask)
            outputs.append(logits)
        return outputs


def pad_batch(features: Sequence[torch.Tensor], in_channels: int, where: Sequence[str]
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``(D, T_i)`` arrays into ``(N, D, T_max)`` zeros-padded, and ``(N, 1, T_max)`` mask."""
    for feat, name in zip(features, where):
        if feat.ndim != 2 or feat.shape[0] != in_channels:
            raise ValueError(
                f'{name}: features of shape {tuple(feat.shape)}, the model expects '
                f'({in_channels}, T); set in_channels to the files\' first dimension')
    longest = max(int(f.shape[1]) for f in features)
    x = features[0].new_zeros(len(features), in_channels, longest)
    mask = features[0].new_zeros(len(features), 1, longest)
    for i, feat in enumerate(features):
        x[i, :, :feat.shape[1]] = feat
        mask[i, :, :feat.shape[1]] = 1
    return x, mask


def pad_targets(targets: Sequence[torch.Tensor], length: int) -> torch.Tensor:
    """``(N, T_max)`` long targets, :data:`IGNORE_INDEX` past each video's end."""
    out = torch.full((len(targets), length), IGNORE_INDEX, dtype=torch.long,
                     device=targets[0].device)
    for i, t in enumerate(targets):
        out[i, :len(t)] = t
    return out


def frame_labels(logits: torch.Tensor, length: int, sample_rate: int, num_frames: int
                 ) -> torch.Tensor:
    """Labels of the first ``length`` steps, each repeated ``sample_rate`` times (as MS-TCN
    upsamples), cut to ``num_frames``."""
    labels = logits[:, :length].argmax(0)
    return labels.repeat_interleave(sample_rate)[:num_frames]
