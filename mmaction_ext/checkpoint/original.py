"""Convert VideoMAEv2 / AMD / ADH-ViT checkpoints to this project's recognizer key names.

One pure function, :func:`convert_original_checkpoint` (timm's ``checkpoint_filter_fn``
for this family): unwrap and rename (:mod:`.key_mapping`), check the architecture
(:mod:`.arch_checks`), rebuild or resample the position table
(:mod:`.pos_embed_conversion`), keep or renew heads (:mod:`.heads`). It is called from
one place, :func:`~.convert_once.convert_once`, which every entry point goes through and
which marks its result so that nothing converts a file twice.

The conversion only renames and converts: keys the file lacks stay missing and tensors
the model has no place for stay in the state dict (under their names in the file), so
``strict=True`` fails on an incomplete file exactly as in PyTorch/MMEngine. Two results
are generated rather than read, and are recorded in the report for the coverage check
(:mod:`.coverage`): a fresh head when the class count differs, and a fixed sinusoid
position table that the file does not store.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, Mapping, Tuple

import torch
from torch import Tensor, nn

from .arch_checks import backbone_prefix, check_arch, check_optional
from .errors import ArchitectureMismatchError, CheckpointLoadError, NoRecognisedKeysError
from .heads import DEFAULT_INIT_SCALE, HEADS, handle_heads
from .key_mapping import (
    PREFIXES,
    PRETRAIN_ONLY,
    WRAPPERS,
    describe_format,
    map_key,
    strip_prefixes,
    unwrap,
)
from .pos_embed_conversion import handle_pos_embed
from .report import LoadReport

__all__ = ['convert_original_checkpoint', 'convert_for_module', 'is_native',
           'model_pos_grid', 'ArchitectureMismatchError', 'CheckpointLoadError',
           'NoRecognisedKeysError', 'DEFAULT_INIT_SCALE', 'HEADS', 'PREFIXES', 'WRAPPERS']


def convert_original_checkpoint(
        checkpoint: Mapping[str, Any],
        target: Mapping[str, Tensor],
        init_scale: float = DEFAULT_INIT_SCALE,
        pos_grid: Tuple[int, int, int] | None = None) -> Tuple[OrderedDict, LoadReport]:
    """Turn an original (or already converted) checkpoint into ``target``'s key space.

    Args:
        checkpoint: the loaded file: bare or under ``model``/``module``/``state_dict``;
            keys may carry ``_orig_mod.``, ``module.``, ``encoder.``, ``backbone.``.
        target: the receiving model's ``state_dict()`` (a recognizer with ``backbone.*``
            and ``cls_head``/``lh_head``/``rh_head``, or a bare backbone).
        init_scale: factor on a fresh head's trunc_normal(0.02) weights (original: 0.001).
        pos_grid: (T', H', W') token grid the model's position table is built for.

    Returns:
        The converted state dict and a :class:`LoadReport`. Keys ``target`` has but the
        file lacks are absent (and listed in ``report.missing``); tensors ``target`` has
        no place for are kept under their names in the file (listed in
        ``report.dropped`` with the reason), so the caller's ``strict`` decides.

    Raises:
        NoRecognisedKeysError, ArchitectureMismatchError: with both sides named.
    """
    if not isinstance(checkpoint, Mapping):
        raise CheckpointLoadError(
            f'a checkpoint must be a dict of tensors (optionally under "model", "module" or '
            f'"state_dict"), got {type(checkpoint).__name__}')
    report = LoadReport()
    sd, report.wrappers, report.ignored_entries, args = unwrap(checkpoint)
    bb = backbone_prefix(target)
    out: Dict[str, Tensor] = OrderedDict()
    extra: Dict[str, Tensor] = OrderedDict()  # not loadable here: left for strict to see
    for key, value in sd.items():
        if not torch.is_tensor(value):
            report.ignored_entries.append(key)
            continue
        key0 = strip_prefixes(key, PREFIXES[:2], report.prefixes)
        if key0 in target:                      # already this model's own name
            out[key0] = value
            report.loaded.append(key0)
            continue
        short = strip_prefixes(key0, PREFIXES[2:], report.prefixes)
        if PRETRAIN_ONLY.fullmatch(short):
            report.drop(key, 'pre-training-only tensors (decoder, generators, projections)')
            extra[key] = value
            continue
        name, renamed = map_key(short)
        if name is None:
            report.drop(key, 'unrecognised tensors')
            extra[key] = value
            continue
        if name.startswith('backbone.'):
            name = bb + name[len('backbone.'):]
        out[name] = value
        if renamed:
            report.converted[short] = name
    if not any(k.startswith(bb + 'blocks.') or k == bb + 'patch_embed.projection.weight'
               for k in out):
        sample = ', '.join(list(sd)[:5])
        raise NoRecognisedKeysError(
            f'no ViT backbone weights recognised among {len(sd)} entries (first: {sample}). '
            f'Expected VideoMAEv2/AMD/ADH-ViT keys such as patch_embed.proj.weight and '
            f'blocks.0.attn.qkv.weight (bare or under model/module/state_dict, prefixes '
            f'{", ".join(PREFIXES)}), or an MMEngine checkpoint of this model.')
    report.source_format = describe_format(sd, out, report)
    check_arch(out, target, bb)
    check_optional(out, target, bb, report, extra)
    handle_pos_embed(out, target, bb, report, pos_grid, args)
    handle_heads(out, target, report, init_scale, extra)
    result = OrderedDict()
    for key in target:
        if key in out:
            result[key] = out[key]
            if key not in report.loaded:
                report.loaded.append(key)
        else:
            report.missing.append(key)
    for key in out:
        if key not in target:
            report.drop(key, 'tensors this model does not have')
            result[key] = out[key]
    for key, value in extra.items():
        result.setdefault(key, value)
    return result, report


def model_pos_grid(module: nn.Module) -> Tuple[int, int, int] | None:
    backbone = getattr(module, 'backbone', module)
    grid = getattr(backbone, 'pos_grid', None)
    if grid is None and hasattr(backbone, 'grid_size') and hasattr(backbone, 'pos_embed'):
        gh, gw = backbone.grid_size
        grid = (backbone.pos_embed.shape[1] // (gh * gw), gh, gw)
    return grid


def is_native(sd: Mapping[str, Any], target: Mapping[str, Tensor]) -> bool:
    return (len(sd) == len(target) and all(
        k in target and torch.is_tensor(v) and v.shape == target[k].shape
        for k, v in sd.items()))


def convert_for_module(checkpoint: Mapping[str, Any],
                       module: nn.Module) -> Tuple[OrderedDict, LoadReport]:
    """:func:`convert_original_checkpoint` with target, init_scale and grid from ``module``."""
    return convert_original_checkpoint(
        checkpoint, module.state_dict(),
        init_scale=getattr(module, 'init_scale', DEFAULT_INIT_SCALE),
        pos_grid=model_pos_grid(module))
