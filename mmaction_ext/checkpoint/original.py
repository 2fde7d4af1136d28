"""Convert VideoMAEv2 / AMD / ADH-ViT checkpoints to this project's recognizer key names.

One pure function, :func:`convert_original_checkpoint`, does the work (unwrap, strip
prefixes, rename, drop pre-training parts, resample a learned position table, keep or
renew heads, check the architecture); a ``load_state_dict`` pre-hook
(:func:`install_original_checkpoint_hook`) runs it whenever a model is loaded, so
``load_from``, ``tools/test.py CFG ORIGINAL.pth``, ``init_cfg=Pretrained`` and
``tools/convert_checkpoint.py`` all share it. Checkpoints already in this model's own key
names pass through untouched.

The conversion only renames and converts: keys the file lacks stay missing and tensors
the model has no place for stay in the state dict (under their names in the file), so
``strict=True`` fails on an incomplete file exactly as in PyTorch/MMEngine. Two results
are generated rather than read, and are recorded in the report for the evaluation guard
(:mod:`mmaction_ext.engine.hooks.checkpoint_coverage_hook`): a fresh head when the class count
differs, and a fixed sinusoid position table that the file does not store.
"""
from __future__ import annotations

import argparse
import logging
import math
import re
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Tuple

import torch
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader
from torch import Tensor, nn

from .pos_embed import (
    grid_candidates,
    infer_pos_grid,
    interpolate_pos_embed,
    is_sinusoid_table,
)
from .report import LoadReport
from .safe_load import CheckpointLoadError
from .vit_sizes import named_size

WRAPPERS = ('state_dict', 'model', 'module')
# torch.compile, DDP/DeepSpeed, pre-training encoder, MMEngine recognizer.
PREFIXES = ('_orig_mod.', 'module.', 'encoder.', 'backbone.')
HEADS = ('cls_head', 'lh_head', 'rh_head')
DEFAULT_INIT_SCALE = 0.001

_PRETRAIN_ONLY = re.compile(
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


class ArchitectureMismatchError(CheckpointLoadError):
    """The checkpoint's ViT has another size or layout than the configured one."""


class NoRecognisedKeysError(CheckpointLoadError):
    """Nothing in the checkpoint looks like ViT backbone weights."""


def _unwrap(checkpoint: Mapping) -> Tuple[Mapping, List[str], List[str], Any]:
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


def _strip(key: str, prefixes: Tuple[str, ...], used: List[str]) -> str:
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


def _map_key(key: str) -> Tuple[str | None, bool]:
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


def _backbone_prefix(target: Mapping[str, Tensor]) -> str:
    for prefix in ('backbone.', ''):
        if prefix + 'patch_embed.projection.weight' in target:
            return prefix
    raise CheckpointLoadError(
        'the model has no ViT backbone (no `patch_embed.projection.weight` nor '
        '`backbone.patch_embed.projection.weight` in its state dict); original VideoMAEv2/'
        'AMD checkpoints load only into MAEVisionTransformer / VisionTransformer models')


def _arch(sd: Mapping[str, Tensor], bb: str) -> Tuple[int | None, int]:
    blocks = [int(m.group(1)) for k in sd
              if (m := re.match(re.escape(bb) + r'blocks\.(\d+)\.', k))]
    dim = None
    for key in (bb + 'patch_embed.projection.weight', bb + 'blocks.0.norm1.weight'):
        if key in sd:
            dim = sd[key].shape[0]
            break
    return dim, (max(blocks) + 1 if blocks else 0)


def _check_arch(out: Dict[str, Tensor], target: Mapping[str, Tensor], bb: str) -> None:
    (cd, cdepth), (td, tdepth) = _arch(out, bb), _arch(target, bb)
    if (cd, cdepth) != (td, tdepth):
        name = named_size(cd, cdepth)
        hint = (f'it is a ViT-{name.upper()}: use arch=\'{name}\'' if name else
                f'use arch=dict(embed_dims={cd}, depth={cdepth}, num_heads=...)')
        raise ArchitectureMismatchError(
            f'wrong architecture: checkpoint embed dim {cd}, depth {cdepth}; config {td}, '
            f'{tdepth}. The backbone config must match the checkpoint ({hint}).')
    patch = bb + 'patch_embed.projection.weight'
    if patch in out and out[patch].shape != target[patch].shape:
        cs, ts = tuple(out[patch].shape), tuple(target[patch].shape)
        raise ArchitectureMismatchError(
            f'wrong architecture: checkpoint patch embedding {cs} (in_channels {cs[1]}, '
            f'tubelet {cs[2]}, patch {cs[3]}x{cs[4]}); config {ts} (in_channels {ts[1]}, '
            f'tubelet {ts[2]}, patch {ts[3]}x{ts[4]}). Set tubelet_size / arch patch_size '
            f'to match the checkpoint.')
    bad = [f'{k}: checkpoint {tuple(v.shape)}, config {tuple(target[k].shape)}'
           for k, v in out.items()
           if k.startswith(bb) and k != bb + 'pos_embed' and k in target
           and v.shape != target[k].shape]
    if bad:
        raise ArchitectureMismatchError(
            'wrong architecture (same width and depth, other layout): ' + '; '.join(bad[:4])
            + ('' if len(bad) <= 4 else f'; ... {len(bad) - 4} more') + '. Check mlp_ratio '
            '(ViT-g uses 48/11) and cos_attn in the backbone config.')


def _grid_hint(args: Any, patch_weight: Tensor | None) -> Tuple[int, int, int] | None:
    """(T', H', W') from saved args; patch and (if args lack it) tubelet from the weights."""
    try:
        p = patch_weight.shape[-1]
        tubelet = getattr(args, 'tubelet_size', None) or patch_weight.shape[2]
        s = int(args.input_size) // p
        return int(args.num_frames) // int(tubelet), s, s
    except (AttributeError, TypeError, ValueError):
        return None


def _new_head(weight: Tensor, bias: Tensor | None, init_scale: float) -> Dict[str, Tensor]:
    """The original fine-tuning's fresh head: trunc_normal(std=0.02), bias 0, both x scale."""
    w = torch.empty(weight.shape, dtype=weight.dtype)
    nn.init.trunc_normal_(w, std=0.02)
    out = {'weight': w * init_scale}
    if bias is not None:
        out['bias'] = torch.zeros(bias.shape, dtype=bias.dtype)
    return out


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
    sd, report.wrappers, report.ignored_entries, args = _unwrap(checkpoint)
    bb = _backbone_prefix(target)
    out: Dict[str, Tensor] = OrderedDict()
    extra: Dict[str, Tensor] = OrderedDict()  # not loadable here: left for strict to see
    for key, value in sd.items():
        if not torch.is_tensor(value):
            report.ignored_entries.append(key)
            continue
        key0 = _strip(key, PREFIXES[:2], report.prefixes)
        if key0 in target:                      # already this model's own name
            out[key0] = value
            report.loaded.append(key0)
            continue
        short = _strip(key0, PREFIXES[2:], report.prefixes)
        if _PRETRAIN_ONLY.fullmatch(short):
            report.drop(key, 'pre-training-only tensors (decoder, generators, projections)')
            extra[key] = value
            continue
        name, renamed = _map_key(short)
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
    report.source_format = _describe(sd, out, report)
    _check_arch(out, target, bb)
    _check_optional(out, target, bb, report, extra)
    _handle_pos_embed(out, target, bb, report, pos_grid, args)
    _handle_heads(out, target, report, init_scale, extra)
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


def _describe(sd: Mapping, out: Mapping, report: LoadReport) -> str:
    dropped = ' '.join(k for keys in report.dropped.values() for k in keys)
    if 'decoder' in dropped or 'encoder_to_decoder' in dropped:
        return ('AMD pre-training' if 'generators' in dropped or 'projection_heads' in dropped
                else 'VideoMAE pre-training')
    if any(k.startswith(('lh_head.', 'rh_head.')) for k in out):
        return 'ADH-ViT dual-head'
    if not report.converted and not report.wrappers[:1] == ['model']:
        return 'MMEngine / already converted'
    return 'VideoMAEv2/AMD fine-tuned'


def _check_optional(out: Dict[str, Tensor], target: Mapping[str, Tensor], bb: str,
                    report: LoadReport, extra: Dict[str, Tensor]) -> None:
    """Layer scale and cosine attention must be configured to be loaded; norm may go."""
    needs = [('gamma_1', 'layer scale (blocks.N.gamma_1/gamma_2)', 'init_values=0.1'),
             ('attn.scale', 'cosine attention (blocks.N.attn.scale)', 'cos_attn=True')]
    for suffix, what, fix in needs:
        key = f'{bb}blocks.0.{suffix}'
        if key in out and key not in target:
            raise ArchitectureMismatchError(
                f'the checkpoint uses {what} but the configured backbone does not: set '
                f'{fix} in the backbone config')
    _check_pooling(out, target, bb, report)
    for key in [k for k in out if k in (bb + 'norm.weight', bb + 'norm.bias')]:
        if key not in target:
            report.drop(key, 'unused (the model mean-pools with fc_norm)')
            # Kept under the file's name, outside the backbone's prefix: a second pass
            # (the backbone's own load hook) must not read it as a class-token model.
            extra[key[len(bb):]] = out.pop(key)


def _check_pooling(out: Mapping[str, Tensor], target: Mapping[str, Tensor], bb: str,
                   report: LoadReport) -> None:
    """A class-token model (``norm.*``, no ``fc_norm.*``) needs use_mean_pooling=False.

    Pre-training encoders also have ``norm.*`` only (fine-tuning mean-pools after them),
    so a file counts as class-token only with a classification head beside it; a
    head-less one keeps the pre-training reading (the report lists norm.* as dropped).
    """
    pretrain = report.source_format.endswith('pre-training')
    has_head = any(f'{h}.fc_cls.weight' in out for h in HEADS)
    ck_norm, ck_fc = bb + 'norm.weight' in out, bb + 'fc_norm.weight' in out
    if (ck_norm and not ck_fc and has_head and not pretrain
            and bb + 'fc_norm.weight' in target):
        raise ArchitectureMismatchError(
            'the checkpoint pools the first token after `norm` (it has norm.*, no fc_norm.*: '
            'use_mean_pooling=False in the original), but the configured backbone mean-pools '
            'with fc_norm: set use_mean_pooling=False in the backbone config')
    if ck_fc and bb + 'fc_norm.weight' not in target and bb + 'norm.weight' in target:
        raise ArchitectureMismatchError(
            'the checkpoint mean-pools with fc_norm (it has fc_norm.*), but the configured '
            'backbone pools the first token after norm: set use_mean_pooling=True')


def _handle_pos_embed(out: Dict[str, Tensor], target: Mapping[str, Tensor], bb: str,
                      report: LoadReport, pos_grid: Tuple[int, int, int] | None,
                      args: Any) -> None:
    key = bb + 'pos_embed'
    if key not in target:
        return
    tgt = target[key]
    if pos_grid is None:
        pos_grid = infer_pos_grid(tgt.shape[1], (8, 0, 0))
    grid_txt = 'x'.join(map(str, pos_grid))
    if key not in out:
        if is_sinusoid_table(tgt):  # a function of the config, not a weight
            out[key] = tgt
            report.pos_embed = f'fixed sinusoid (not saved) built for {grid_txt} tokens'
            report.generated.append(key)
        return
    table = out[key]
    if table.dim() == 2:
        table = table.unsqueeze(0)
    if is_sinusoid_table(table):
        out[key] = tgt
        report.pos_embed = f'fixed sinusoid in checkpoint, rebuilt for {grid_txt} tokens'
        return
    if table.shape == tgt.shape:
        out[key] = table
        report.pos_embed = f'learned table loaded ({grid_txt} tokens)'
        return
    src, why = _source_grid(table.shape[1], args,
                            out.get(bb + 'patch_embed.projection.weight'))
    out[key] = interpolate_pos_embed(table, src, pos_grid)
    report.pos_embed = (f'learned table resampled {"x".join(map(str, src))} -> {grid_txt} '
                        f'(bicubic in space, linear in time; source grid: {why})')


def _source_grid(num_tokens: int, args: Any,
                 patch_weight: Tensor | None) -> Tuple[Tuple[int, int, int], str]:
    """The token grid a saved learned table was trained for: never a guess.

    From the saved ``args`` (num_frames, input_size) when they fit, else the only
    T x S x S grid with that many tokens; several candidates are refused.
    """
    hint = _grid_hint(args, patch_weight)
    if hint is not None and math.prod(hint) == num_tokens:
        return hint, 'grid from the saved args'
    fits = grid_candidates(num_tokens)
    if len(fits) == 1:
        return fits[0], f'the only grid with {num_tokens} tokens'
    shown = ', '.join('x'.join(map(str, g)) for g in fits) or 'none'
    raise CheckpointLoadError(
        f'the checkpoint\'s learned position table has {num_tokens} tokens and the file does '
        f'not record the clip it was trained with (no args.num_frames/args.input_size'
        + (f' that fit: they give {"x".join(map(str, hint))}' if hint else '')
        + f'), so its token grid (T x H x W) could be {shown}. Convert it once, naming that '
        f'clip: python tools/convert_checkpoint.py SRC DST --config CFG --frames F --size S '
        f'(frames and crop size of its training), then load DST.')


def _handle_heads(out: Dict[str, Tensor], target: Mapping[str, Tensor], report: LoadReport,
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


def _model_pos_grid(module: nn.Module) -> Tuple[int, int, int] | None:
    backbone = getattr(module, 'backbone', module)
    grid = getattr(backbone, 'pos_grid', None)
    if grid is None and hasattr(backbone, 'grid_size') and hasattr(backbone, 'pos_embed'):
        gh, gw = backbone.grid_size
        grid = (backbone.pos_embed.shape[1] // (gh * gw), gh, gw)
    return grid


def _is_native(sd: Mapping[str, Any], target: Mapping[str, Tensor]) -> bool:
    return (len(sd) == len(target) and all(
        k in target and torch.is_tensor(v) and v.shape == target[k].shape
        for k, v in sd.items()))


def convert_for_module(checkpoint: Mapping[str, Any],
                       module: nn.Module) -> Tuple[OrderedDict, LoadReport]:
    """:func:`convert_original_checkpoint` with target, init_scale and grid from ``module``."""
    return convert_original_checkpoint(
        checkpoint, module.state_dict(),
        init_scale=getattr(module, 'init_scale', DEFAULT_INIT_SCALE),
        pos_grid=_model_pos_grid(module))


def _pre_hook(module: nn.Module, state_dict: Dict[str, Any], prefix: str, *args) -> None:
    """Convert the part of ``state_dict`` under ``prefix`` in place before loading."""
    keys = [k for k in state_dict if k.startswith(prefix)]
    sub = OrderedDict((k[len(prefix):], state_dict[k]) for k in keys)
    if _is_native(sub, module.state_dict()):
        return
    converted, report = convert_for_module(sub, module)
    for k in keys:
        del state_dict[k]
    for k, v in converted.items():
        state_dict[prefix + k] = v
    record_report(module, report)
    print_log(report.format(f'checkpoint into {type(module).__name__}'), logger='current')


def record_report(module: nn.Module, report: LoadReport) -> None:
    """Keep ``report`` on ``module``: the latest one, and every one since the last reset.

    The evaluation guard reads ``load_reports``: a checkpoint may be converted twice (by
    ``OriginalCheckpointHook``, then again when the model loads it), and the second pass
    sees the first one's fresh head as "kept".
    """
    module.last_load_report = report
    if not isinstance(getattr(module, 'load_reports', None), list):
        module.load_reports = []
    module.load_reports.append(report)


def install_original_checkpoint_hook(model: nn.Module) -> None:
    """Make ``model.load_state_dict`` (hence MMEngine's ``load_from``/``load_checkpoint``)
    accept original VideoMAEv2 / AMD / ADH-ViT checkpoints. Idempotent."""
    if getattr(model, '_original_checkpoint_hook', False):
        return
    model.register_load_state_dict_pre_hook(_pre_hook)
    model._original_checkpoint_hook = True


# ADH-ViT's registered models build nn.LayerNorm without eps: its checkpoints need 1e-5.
ADH_VIT_LN_EPS = 1e-5


def check_layer_norm_eps(module: nn.Module, report: LoadReport, source: str = '') -> bool:
    """Warn when an ADH-ViT checkpoint goes into LayerNorms whose eps is not 1e-5.

    VideoMAEv2/AMD use 1e-6, ADH-ViT nn.LayerNorm's default 1e-5; the weights run as
    trained only with their own eps (logits move by ~1e-6 on random ViT-B weights, more
    on trained ones). Returns True when the eps fits (or the file is no ADH-ViT one).
    """
    if report.source_format != 'ADH-ViT dual-head':
        return True
    other = sorted({m.eps for m in module.modules()
                    if isinstance(m, nn.LayerNorm) and m.eps != ADH_VIT_LN_EPS})
    if not other:
        return True
    print_log(f'{source or "checkpoint"}: an ADH-ViT checkpoint (lh_head/rh_head) runs with '
              f'LayerNorm eps {ADH_VIT_LN_EPS:g} (nn.LayerNorm default in its models), but '
              f'this model uses eps {", ".join(f"{e:g}" for e in other)}: set '
              f'backbone.norm_cfg=dict(type=\'LN\', eps=1e-5) to reproduce its outputs',
              logger='current', level=logging.WARNING)
    return False


def load_original_checkpoint(module: nn.Module, path: str) -> LoadReport:
    """Load ``path`` (original or MMEngine format) into ``module`` and log the report.

    ``path`` may use any of MMEngine's schemes (``https://``, ``open-mmlab://``, ...);
    all load through the safe loaders. Errors name the file: missing, not a checkpoint,
    unsafe pickle, wrong architecture.
    """
    checkpoint = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    try:
        state_dict, report = convert_for_module(checkpoint, module)
    except CheckpointLoadError as err:
        raise type(err)(f'{path}: {err}') from err
    # Initialisation from a pretrained file: parts it lacks (a fresh fc_norm for a
    # pre-training file) keep their initial values, as in the original fine-tuning.
    module.load_state_dict(state_dict, strict=False)
    record_report(module, report)
    print_log(report.format(f'{path} into {type(module).__name__}'), logger='current')
    check_layer_norm_eps(module, report, path)
    return report
