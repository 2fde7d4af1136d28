"""Does the checkpoint's ViT fit the configured one? Errors name both sides and the fix."""
from __future__ import annotations

import logging
import re
from typing import Dict, Mapping, Tuple

from mmengine.logging import print_log
from torch import Tensor, nn

from .errors import ArchitectureMismatchError, CheckpointLoadError
from .heads import HEADS
from .report import LoadReport
from .vit_sizes import named_size


def backbone_prefix(target: Mapping[str, Tensor]) -> str:
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


def check_arch(out: Dict[str, Tensor], target: Mapping[str, Tensor], bb: str) -> None:
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


def check_optional(out: Dict[str, Tensor], target: Mapping[str, Tensor], bb: str,
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
            # Kept under the file's name, outside the backbone's prefix, so that strict
            # loading names it as the file does.
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
