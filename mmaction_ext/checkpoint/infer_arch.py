"""Read a recognizer config off an original checkpoint's tensors (no config given).

Used by ``tools/convert_checkpoint.py`` without ``--config``. Every fact the tensors
determine is read from them (width, depth, patch, tubelet, MLP ratio, layer scale, cosine
attention and its head count, pooling, position table, heads, ADH-ViT's LayerNorm eps);
a fact they leave open is taken from the file's saved ``args`` or the caller, and when
neither has it the function refuses instead of guessing. Each returned note says where
a value came from, so the tool can print it.
"""
from __future__ import annotations

import argparse
import math
import re
from typing import Any, Dict, List, Mapping, Tuple

import torch
from torch import Tensor

from .arch_checks import ADH_VIT_LN_EPS
from .key_mapping import PREFIXES, WRAPPERS
from .pos_embed import grid_candidates, is_sinusoid_table
from .safe_load import CheckpointLoadError
from .vit_sizes import named_heads

# VideoMAEv2 / AMD: partial(nn.LayerNorm, eps=1e-6); ADH-ViT: nn.LayerNorm's 1e-5.
VIDEOMAE_LN_EPS = 1e-6

_PRETRAIN = re.compile(r'(decoder\.|encoder_to_decoder\.|mask_token|generators\.)')


class ArchitectureUndeterminedError(CheckpointLoadError):
    """The checkpoint does not determine a fact the model needs; the caller must give it."""


def flat_tensors(checkpoint: Mapping) -> Dict[str, Tensor]:
    """The weights with wrappers and prefixes removed (to read shapes)."""
    sd = checkpoint
    while isinstance(sd, Mapping) and any(isinstance(sd.get(w), Mapping) for w in WRAPPERS):
        sd = next(sd[w] for w in WRAPPERS if isinstance(sd.get(w), Mapping))
    out = {}
    for key, value in sd.items():
        if not torch.is_tensor(value):
            continue
        changed = True
        while changed:
            changed = False
            for p in PREFIXES:
                if key.startswith(p):
                    key, changed = key[len(p):], True
        out[key] = value
    return out


def saved_args(checkpoint: Mapping) -> Any:
    """The ``args`` Namespace an original training run saved beside its weights."""
    sd = checkpoint
    for _ in range(len(WRAPPERS) + 1):
        if not isinstance(sd, Mapping):
            return None
        if isinstance(sd.get('args'), argparse.Namespace):
            return sd['args']
        sd = next((sd[w] for w in WRAPPERS if isinstance(sd.get(w), Mapping)), None)
    return None


def with_clip_hint(checkpoint: Mapping, frames: int | None, size: int | None) -> dict:
    """``checkpoint`` with ``args`` telling the clip it was trained with (frames, size).

    The loader reads the source token grid of a learned position table from ``args``, as
    the originals save it; given values override saved ones.
    """
    if frames is None and size is None:
        return dict(checkpoint)
    ns = argparse.Namespace(**vars(saved_args(checkpoint) or argparse.Namespace()))
    if frames is not None:
        ns.num_frames = frames
    if size is not None:
        ns.input_size = size
    return dict(checkpoint, args=ns)


def infer_model_cfg(checkpoint: Mapping, frames: int | None = None, size: int | None = None,
                    num_classes: int | None = None,
                    num_heads: int | None = None) -> Tuple[dict, List[str]]:
    """Recognizer config for ``checkpoint`` and one note per inferred fact.

    Args:
        checkpoint: a loaded original (or MMEngine) file, any wrapper/prefix.
        frames, size: the clip the checkpoint was trained with (override saved ``args``).
        num_classes: head size for a file without head (pre-training).
        num_heads: for a width that is no named size and has no cosine attention.

    Raises:
        ArchitectureUndeterminedError: a fact is neither in the tensors, nor in the
            saved args, nor given; the message names the option that supplies it.
    """
    sd = flat_tensors(checkpoint)
    args = saved_args(checkpoint)
    patch = sd.get('patch_embed.proj.weight', sd.get('patch_embed.projection.weight'))
    if patch is None:
        raise CheckpointLoadError('no patch_embed.proj.weight: not a ViT checkpoint (pass '
                                  '--config to build the model yourself)')
    notes: List[str] = []
    dim, in_ch, tubelet, patch_size = (patch.shape[0], patch.shape[1], patch.shape[2],
                                       patch.shape[-1])
    depth = 1 + max(int(k.split('.')[1]) for k in sd if k.startswith('blocks.'))
    fc1 = sd.get('blocks.0.mlp.fc1.weight', sd.get('blocks.0.mlp.layers.0.0.weight'))
    mlp_ratio = fc1.shape[0] / dim
    notes.append(f'ViT width {dim}, depth {depth}, patch {patch_size}, tubelet {tubelet}, '
                 f'{in_ch} input channels, MLP ratio {mlp_ratio:g} (tensor shapes)')

    scale = sd.get('blocks.0.attn.scale')
    if scale is not None:
        heads, why = scale.shape[0], 'cosine attention: attn.scale has one entry per head'
        if num_heads is not None and num_heads != heads:
            raise ArchitectureUndeterminedError(
                f'--num-heads {num_heads} contradicts the checkpoint: blocks.0.attn.scale '
                f'has shape {tuple(scale.shape)}, i.e. {heads} heads')
    elif num_heads is not None:
        heads, why = num_heads, 'given'
    elif named_heads(dim, depth) is not None:
        heads, why = named_heads(dim, depth), 'the named ViT size with this width and depth'
    else:
        raise ArchitectureUndeterminedError(
            f'the head count of a width-{dim}, depth-{depth} ViT without cosine attention is '
            f'not recorded in the checkpoint (no named size has this width and depth): pass '
            f'--num-heads N or --config')
    if dim % heads:
        raise ArchitectureUndeterminedError(f'width {dim} is not divisible by {heads} heads')
    notes.append(f'{heads} attention heads ({why})')

    layer_scale = 'blocks.0.gamma_1' in sd
    cos_attn = scale is not None
    notes.append(f'layer scale {"on" if layer_scale else "off"} (gamma_1/gamma_2 '
                 f'{"present" if layer_scale else "absent"}); cosine attention '
                 f'{"on" if cos_attn else "off"}')

    pretrain = any(_PRETRAIN.match(k) for k in sd)
    has_fc_norm, has_norm = 'fc_norm.weight' in sd, 'norm.weight' in sd
    has_head = any(k.startswith(('head.', 'cls_head.', 'lh_head.', 'rh_head.')) for k in sd)
    if has_fc_norm or pretrain or not has_norm or not has_head:
        mean_pooling = True
        why = ('fc_norm.* present' if has_fc_norm else
               'pre-training file: fine-tuning mean-pools' if pretrain else
               'no norm.*' if not has_norm else
               'norm.* but no head: read as a pre-training encoder')
    else:
        mean_pooling = False
        why = 'norm.* present, no fc_norm.*'
    notes.append(f'pooling: {"mean of tokens + fc_norm" if mean_pooling else "first token + norm"}'
                 f' ({why})')

    adh = any(k.startswith(('lh_head.', 'rh_head.')) for k in sd)
    eps = ADH_VIT_LN_EPS if adh else VIDEOMAE_LN_EPS
    notes.append(f'LayerNorm eps {eps:g} ('
                 + ('ADH-ViT file (lh_head/rh_head): nn.LayerNorm default' if adh else
                    'VideoMAEv2/AMD') + ')')

    frames, size, pos_note, learned = _clip(sd.get('pos_embed'), args, frames, size,
                                            tubelet, patch_size)
    notes.append(pos_note)
    backbone = dict(
        type='MAEVisionTransformer',
        arch=dict(embed_dims=dim, depth=depth, num_heads=heads, patch_size=patch_size,
                  mlp_ratio=mlp_ratio),
        img_size=size, num_frames=frames, tubelet_size=tubelet, in_channels=in_ch,
        init_values=0.1 if layer_scale else 0., cos_attn=cos_attn,
        use_learnable_pos_emb=learned, use_mean_pooling=mean_pooling,
        norm_cfg=dict(type='LN', eps=eps))

    def head(name: str) -> dict:
        key = next((k for k in (f'{name}.weight', f'{name}.fc_cls.weight') if k in sd), None)
        return dict(type='TimeSformerHead', in_channels=dim,
                    num_classes=sd[key].shape[0] if key else num_classes)

    if adh:
        cfg = dict(type='DualHandRecognizer', backbone=backbone, lh_head=head('lh_head'),
                   rh_head=head('rh_head'))
        notes.append(f'heads: lh {cfg["lh_head"]["num_classes"]}, rh '
                     f'{cfg["rh_head"]["num_classes"]} classes')
        return cfg, notes
    cfg = dict(type='ViTRecognizer3D', backbone=backbone)
    name = 'head' if 'head.weight' in sd else 'cls_head'
    if f'{name}.weight' in sd or f'{name}.fc_cls.weight' in sd or num_classes:
        cfg['cls_head'] = head(name)
        notes.append(f'head: {cfg["cls_head"]["num_classes"]} classes')
    else:
        notes.append('no head (none in the file; --num-classes N adds one)')
    return cfg, notes


def _clip(table: Tensor | None, args: Any, frames: int | None, size: int | None,
          tubelet: int, patch: int) -> Tuple[int, int, str, bool]:
    """Frames and crop size of the model, and whether its position table is learned."""
    frames = frames or _int(args, 'num_frames')
    size = size or _int(args, 'input_size')
    source = 'given' if frames or size else ''
    if table is not None and table.dim() == 2:
        table = table.unsqueeze(0)
    if table is None or is_sinusoid_table(table):
        frames, size = frames or 16, size or 224
        what = 'not saved' if table is None else 'saved'
        return frames, size, (f'position table: fixed sinusoid ({what}); model built for '
                              f'{frames} frames at {size} (any clip runs)'), False
    n = table.shape[1]
    if frames and size:
        grid = (frames // tubelet, size // patch, size // patch)
        if math.prod(grid) != n:
            raise ArchitectureUndeterminedError(
                f'the learned position table has {n} tokens, but {frames} frames at {size} '
                f'(tubelet {tubelet}, patch {patch}) make {"x".join(map(str, grid))} = '
                f'{math.prod(grid)}: pass the clip the checkpoint was trained with '
                f'(--frames/--size)')
        return frames, size, (f'position table: learned, {"x".join(map(str, grid))} tokens '
                              f'({frames} frames at {size}, '
                              f'{source or "from the saved args"})'), True
    fits = grid_candidates(n)
    if frames:
        fits = [g for g in fits if g[0] == frames // tubelet]
    if size:
        fits = [g for g in fits if g[1] == size // patch]
    if len(fits) != 1:
        shown = ', '.join('x'.join(map(str, g)) for g in fits) or 'none'
        raise ArchitectureUndeterminedError(
            f'the learned position table has {n} tokens and the file does not record the '
            f'clip it was trained with: the token grid (T x H x W) could be {shown}. Pass '
            f'--frames and --size (the clip length and crop size of its training)')
    t, s, _ = fits[0]
    frames, size = t * tubelet, s * patch
    return frames, size, (f'position table: learned, {t}x{s}x{s} tokens ({frames} frames '
                          f'at {size}: the only grid with {n} tokens)'), True


def _int(args: Any, name: str) -> int | None:
    try:
        return int(getattr(args, name))
    except (AttributeError, TypeError, ValueError):
        return None
