"""Original VideoMAEv2 / AMD / ADH-ViT key names -> this project's recognizer key names.

Unwrapping (``state_dict``/``model``/``module``), prefix stripping (``_orig_mod.``,
``module.``, ``encoder.``, ``backbone.``) and full-key renames, so ``decoder.head`` never
becomes the head. Pure functions over key strings.
"""
from __future__ import annotations

import argparse
import re
from typing import Any, List, Mapping, Tuple

import torch

from .report import LoadReport

WRAPPERS = ('state_dict', 'model', 'module')
# torch.compile, DDP/DeepSpeed, pre-training encoder, MMEngine recognizer.
PREFIXES = ('_orig_mod.', 'module.', 'encoder.', 'backbone.')

PRETRAIN_ONLY = re.compile(
    r'(decoder\..*|encoder_to_decoder\..*|mask_token|generators\..*|projection_heads\..*)')
_RENAMES = [
    (re.compile(r'patch_embed\.proj\.(weight|bias)'), r'patch_embed.projection.\1'),
    (re.compile(r'blocks\.(\d+)\.mlp\.fc1\.(weight|bias)'), r'blocks.\1.mlp.layers.0.0.\2'),
    (re.compile(r'blocks\.(\d+)\.mlp\.fc2\.(weight|bias)'), r'blocks.\1.mlp.layers.1.\2'),
]
_NATIVE = re.compile(
    r'patch_embed\.projection\.(weight|bias)|pos_embed|(fc_norm|norm)\.(weight|bias)'
    r'|blocks\.\d+\.(norm1|norm2)\.(weight|bias)|blocks\.\d+\.gamma_[12]'
    r'|blocks\.\d+\.attn\.(q_bias|v_bias|scale|qkv\.(weight|bias)|proj\.(weight|bias))'
    r'|blocks\.\d+\.mlp\.layers\.(0\.0|1)\.(weight|bias)')
_HEAD_KEYS = [
    (re.compile(r'head\.(weight|bias)'), r'cls_head.fc_cls.\1'),
    (re.compile(r'(cls_head|lh_head|rh_head)\.fc_cls\.(weight|bias)'), r'\1.fc_cls.\2'),
    (re.compile(r'(lh_head|rh_head)\.(weight|bias)'), r'\1.fc_cls.\2'),
]


def unwrap(checkpoint: Mapping) -> Tuple[Mapping, List[str], List[str], Any]:
    """Descend through ``state_dict``/``model``/``module``; note what else sat beside."""
    sd, wrappers, ignored, args = checkpoint, [], [], None
    for _ in range(len(WRAPPERS)):
        name = next((w for w in WRAPPERS if isinstance(sd.get(w), Mapping)), None)
        if name is None:
            break
        if isinstance(sd.get('args'), argparse.Namespace):
            args = sd['args']
        ignored += [k for k in sd if k != name and not torch.is_tensor(sd[k])]
        wrappers.append(name)
        sd = sd[name]
    if args is None and isinstance(sd.get('args'), argparse.Namespace):
        args = sd['args']  # a bare state dict given a clip hint (convert_checkpoint.py)
    return sd, wrappers, ignored, args


def strip_prefixes(key: str, prefixes: Tuple[str, ...], used: List[str]) -> str:
    changed = True
    while changed:
        changed = False
        for p in prefixes:
            if key.startswith(p):
                key = key[len(p):]
                changed = True
                if p not in used:
                    used.append(p)
    return key


def map_key(key: str) -> Tuple[str | None, bool]:
    """Canonical name relative to the backbone / recognizer root, and whether renamed.

    Full-key patterns only: ``decoder.head.weight`` never becomes the head.
    """
    for pattern, repl in _RENAMES:
        if pattern.fullmatch(key):
            return 'backbone.' + pattern.sub(repl, key), True
    if _NATIVE.fullmatch(key):
        return 'backbone.' + key, False
    for pattern, repl in _HEAD_KEYS:
        if pattern.fullmatch(key):
            new = pattern.sub(repl, key)
            return new, new != key
    return None, False


def describe_format(sd: Mapping, out: Mapping, report: LoadReport) -> str:
    dropped = ' '.join(k for keys in report.dropped.values() for k in keys)
    if 'decoder' in dropped or 'encoder_to_decoder' in dropped:
        return ('AMD pre-training' if 'generators' in dropped or 'projection_heads' in dropped
                else 'VideoMAE pre-training')
    if any(k.startswith(('lh_head.', 'rh_head.')) for k in out):
        return 'ADH-ViT dual-head'
    if not report.converted and not report.wrappers[:1] == ['model']:
        return 'MMEngine / already converted'
    return 'VideoMAEv2/AMD fine-tuned'
