"""The head step of the conversion: keep a head whose class count fits, else renew it as
the original fine-tuning does (trunc_normal std 0.02 x ``init_scale``) and say so."""
from __future__ import annotations

from typing import Dict, Mapping

import torch
from torch import Tensor, nn

from .report import LoadReport

HEADS = ('cls_head', 'lh_head', 'rh_head')
DEFAULT_INIT_SCALE = 0.001

def _new_head(weight: Tensor, bias: Tensor | None, init_scale: float) -> Dict[str, Tensor]:
    """The original fine-tuning's fresh head: trunc_normal(std=0.02), bias 0, both x scale."""
    w = torch.empty(weight.shape, dtype=weight.dtype)
    nn.init.trunc_normal_(w, std=0.02)
    out = {'weight': w * init_scale}
    if bias is not None:
        out['bias'] = torch.zeros(bias.shape, dtype=bias.dtype)
    return out


def handle_heads(out: Dict[str, Tensor], target: Mapping[str, Tensor], report: LoadReport,
                  init_scale: float, extra: Dict[str, Tensor]) -> None:
    model_heads = [h for h in HEADS if f'{h}.fc_cls.weight' in target]
    for head in HEADS:
        w_key, b_key = f'{head}.fc_cls.weight', f'{head}.fc_cls.bias'
        if w_key not in out:
            continue
        if head not in model_heads:
            reason = ('heads the model does not have' if model_heads else
                      'heads (a backbone loads no head; use load_from on the recognizer)')
            for k in (w_key, b_key):
                if k in out:
                    report.drop(k, reason)
                    extra[k] = out.pop(k)
            continue
        ck_classes, cfg_classes = out[w_key].shape[0], target[w_key].shape[0]
        if out[w_key].shape == target[w_key].shape:
            report.heads[head] = f'kept from checkpoint ({ck_classes} classes)'
            continue
        for k in (w_key, b_key):
            if k in out:
                report.drop(k, 'head tensors with another class count')
                out.pop(k)
        report.heads[head] = (f'new: checkpoint has {ck_classes} classes, config '
                              f'{cfg_classes}')
        report.fresh_heads[head] = (ck_classes, cfg_classes)
    for head in model_heads:
        w_key, b_key = f'{head}.fc_cls.weight', f'{head}.fc_cls.bias'
        if w_key in out:
            continue
        if head not in report.heads:  # missing: the caller's strict decides
            report.heads[head] = ('not in the checkpoint (strict=False keeps the model\'s '
                                  'weights; a ViTRecognizer3D initialises it x init_scale)')
            continue
        report.heads[head] += (f'; initialised trunc_normal(std=0.02) x init_scale '
                               f'{init_scale:g}')
        fresh = _new_head(target[w_key], target.get(b_key), init_scale)
        out[w_key] = fresh['weight']
        if 'bias' in fresh:
            out[b_key] = fresh['bias']
