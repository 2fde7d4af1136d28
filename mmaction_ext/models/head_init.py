"""The original fine-tuning's head initialisation, shared by the project's recognizers."""
from __future__ import annotations

from typing import Iterable

import torch
from torch import nn


def scale_fresh_heads(model: nn.Module, head_names: Iterable[str], init_scale: float) -> None:
    """Multiply each named head's ``fc_cls`` weight and bias by ``init_scale``.

    VideoMAEv2 / AMD fine-tuning starts a new classifier from trunc_normal (std 0.02)
    times ``init_scale`` (0.001), so early updates come from the backbone's features
    rather than from a random head. (ADH-ViT's two heads are built after that scaling
    and keep std 0.02: ``DualHandRecognizer`` defaults to 1.0.) Call it right after the first
    ``init_weights``; a head later loaded from a checkpoint overwrites the scaled values.
    """
    if init_scale == 1:
        return
    with torch.no_grad():
        for name in head_names:
            fc = getattr(getattr(model, name, None), 'fc_cls', None)
            if fc is None:
                continue
            fc.weight.mul_(init_scale)
            if fc.bias is not None:
                fc.bias.mul_(init_scale)
