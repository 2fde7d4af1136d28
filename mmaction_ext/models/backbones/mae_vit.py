"""The VideoMAEv2 / AMD ViT as a stock MMAction2 ``VisionTransformer`` with fused attention.

Same parameter names and numerics as ``mmaction.models.backbones.VisionTransformer``
(so stock checkpoints, ``TimeSformerHead`` and ``LearningRateDecayOptimizerConstructor``
work unchanged), plus what the original codebases offer: named sizes S/B/L/H/g, layer
scale, cosine attention, per-block activation checkpointing, a position table for any
clip length / crop size, and loading of their checkpoints by path (``pretrained``).
"""
from __future__ import annotations

import math
from typing import Dict, List, Tuple, Union

import torch
from mmaction.models.backbones.vit_mae import VisionTransformer
from mmaction.registry import MODELS
from mmengine.model import ModuleList
from torch import Tensor, nn
from torch.utils.checkpoint import (
    CheckpointPolicy,
    checkpoint,
    create_selective_checkpoint_contexts,
)

from mmaction_ext.checkpoint.pos_embed import (
    interpolate_pos_embed,
    is_sinusoid_table,
    sinusoid_table,
)
from mmaction_ext.checkpoint.vit_sizes import ARCH_ALIASES, ARCH_SETTINGS

from .mae_blocks import MAEBlock

# Fused attention kernels (CPU and GPU): their outputs are kept under activation
# checkpointing, because recomputing attention costs far more than storing (N, C) per block.
_ATTENTION_OPS = tuple(
    getattr(torch.ops.aten, name).default for name in (
        '_scaled_dot_product_flash_attention_for_cpu', '_scaled_dot_product_flash_attention',
        '_scaled_dot_product_efficient_attention', '_scaled_dot_product_cudnn_attention')
    if hasattr(torch.ops.aten, name))


def _keep_attention(ctx, op, *args, **kwargs) -> CheckpointPolicy:
    if op in _ATTENTION_OPS:
        return CheckpointPolicy.MUST_SAVE
    return CheckpointPolicy.PREFER_RECOMPUTE


def _keep_attention_context():
    return create_selective_checkpoint_contexts(_keep_attention)


DEFAULT_INIT_CFG = [
    dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.),
    dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
]


def resolve_arch(arch: Union[str, dict]) -> dict:
    """``'s'``/``'small'`` ... or a dict with embed_dims, depth, num_heads (+ optional
    patch_size, mlp_ratio) -> full settings."""
    if isinstance(arch, str):
        key = ARCH_ALIASES.get(arch.lower(), arch.lower())
        if key not in ARCH_SETTINGS:
            raise ValueError(f'unknown ViT arch {arch!r}; use one of '
                             f'{sorted(ARCH_SETTINGS)} or a dict(embed_dims=, depth=, '
                             f'num_heads=)')
        return dict(ARCH_SETTINGS[key])
    missing = {'embed_dims', 'depth', 'num_heads'} - set(arch)
    if missing:
        raise ValueError(f'arch dict {dict(arch)} lacks {sorted(missing)}')
    return dict(dict(patch_size=16, mlp_ratio=4.), **arch)


# The stock constructor's architecture arguments and their stock defaults.
STOCK_ARCH_DEFAULTS: Dict[str, float] = dict(
    patch_size=16, embed_dims=768, depth=12, num_heads=12, mlp_ratio=4.)


def merge_arch(arch: Union[str, dict, None], explicit: Dict[str, object]) -> dict:
    """Architecture settings from ``arch`` and the explicitly given stock arguments.

    Rule: without ``arch`` the stock arguments apply, each defaulting as in the stock
    ``VisionTransformer``. With ``arch`` the shortcut supplies them; an argument also given
    explicitly must agree with it (``arch='s', embed_dims=384`` is fine,
    ``arch='s', embed_dims=768`` is an error naming both), so no value is silently dropped.
    """
    given = {k: v for k, v in explicit.items() if v is not None}
    if arch is None:
        return dict(STOCK_ARCH_DEFAULTS, **given)
    settings = resolve_arch(arch)
    conflicts = {k: (v, settings[k]) for k, v in given.items() if v != settings[k]}
    if conflicts:
        detail = ', '.join(f'{k}={v!r} but arch gives {a!r}' for k, (v, a) in conflicts.items())
        raise ValueError(
            f'MAEVisionTransformer: arch={arch!r} conflicts with explicit arguments ({detail}). '
            f'Give either arch or the stock arguments (embed_dims, depth, num_heads, '
            f'patch_size, mlp_ratio), or make them agree.')
    return settings


@MODELS.register_module()
class MAEVisionTransformer(VisionTransformer):
    """ViT of VideoMAE / VideoMAEv2 / AMD, stock-compatible, with fused attention.

    A drop-in for ``mmaction.models.backbones.VisionTransformer``: same arguments in the
    same order with the same defaults (a stock config works with only ``type`` changed),
    same parameter names and numerics. Architecture arguments left at ``None`` take the
    stock defaults (patch 16, 768 dims, depth 12, 12 heads, mlp ratio 4), or ``arch``'s.

    Args:
        img_size, patch_size, in_channels, embed_dims, depth, num_heads, mlp_ratio,
        qkv_bias, qk_scale, drop_rate, attn_drop_rate, drop_path_rate, norm_cfg,
        init_values, use_learnable_pos_emb, num_frames, tubelet_size, use_mean_pooling,
        return_feat_map, init_cfg: as in the stock ``VisionTransformer``.
        pretrained (str, optional): an original (VideoMAEv2 / AMD / ADH-ViT) or MMEngine
            checkpoint; loaded by ``init_weights`` with the converter, heads ignored.
            (The stock class records it in ``init_cfg`` and then overwrites it: ignored.)
        arch (str | dict, optional): shortcut for the architecture arguments: 's', 'b',
            'l', 'h', 'g' (patch 14, mlp ratio 48/11) or ``dict(embed_dims=, depth=,
            num_heads=[, patch_size=16, mlp_ratio=4.])``. Explicit architecture arguments
            must agree with it (see :func:`merge_arch`).
        with_cp (bool): activation checkpointing per block while training: each block
            keeps its input and its attention output and recomputes the rest (layer norms,
            linear layers, GELU) in backward. The last block is not checkpointed: its
            backward comes first, so checkpointing it would save no peak memory.
            Defaults to False.
        cos_attn (bool): cosine attention with learned ``attn.scale``. Defaults to False.
        fc_norm_eps (float, optional): eps of ``fc_norm`` when it differs from
            ``norm_cfg``'s: Hugging Face's VideoMAE classifier normalises with a plain
            ``nn.LayerNorm`` (eps 1e-5) while its encoder uses ``layer_norm_eps``
            (1e-12). Defaults to None (``norm_cfg``'s eps, as the stock class).

    Input (N, C, T, H, W); output (N, embed_dims): tokens mean-pooled, then ``fc_norm``.
    """

    def __init__(self,
                 img_size: int = 224,
                 patch_size: int | None = None,
                 in_channels: int = 3,
                 embed_dims: int | None = None,
                 depth: int | None = None,
                 num_heads: int | None = None,
                 mlp_ratio: float | None = None,
                 qkv_bias: bool = True,
                 qk_scale: float | None = None,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_cfg: dict | None = None,
                 init_values: float = 0.,
                 use_learnable_pos_emb: bool = False,
                 num_frames: int = 16,
                 tubelet_size: int = 2,
                 use_mean_pooling: bool = True,
                 pretrained: str | None = None,
                 return_feat_map: bool = False,
                 init_cfg: Union[dict, List[dict]] | None = DEFAULT_INIT_CFG,
                 arch: Union[str, dict, None] = None,
                 with_cp: bool = False,
                 cos_attn: bool = False,
                 fc_norm_eps: float | None = None,
                 **kwargs) -> None:
        if norm_cfg is None:
            norm_cfg = dict(type='LN', eps=1e-6)
        settings = merge_arch(arch, dict(
            patch_size=patch_size, embed_dims=embed_dims, depth=depth, num_heads=num_heads,
            mlp_ratio=mlp_ratio))
        # depth=0: the stock constructor builds patch embedding, position table and norms;
        # the blocks (with fused attention) are built once, below. ``pretrained`` is ours.
        super().__init__(
            img_size=img_size, patch_size=settings['patch_size'], in_channels=in_channels,
            embed_dims=settings['embed_dims'], depth=0, num_heads=settings['num_heads'],
            mlp_ratio=settings['mlp_ratio'], qkv_bias=qkv_bias, qk_scale=qk_scale,
            drop_rate=drop_rate, attn_drop_rate=attn_drop_rate, norm_cfg=norm_cfg,
            use_learnable_pos_emb=use_learnable_pos_emb, num_frames=num_frames,
            tubelet_size=tubelet_size, use_mean_pooling=use_mean_pooling,
            return_feat_map=return_feat_map, init_cfg=init_cfg, **kwargs)
        self.arch_settings = settings
        if fc_norm_eps is not None and self.fc_norm is not None:
            self.fc_norm = nn.LayerNorm(self.embed_dims, eps=float(fc_norm_eps))
        self.depth = settings['depth']
        self.num_heads = settings['num_heads']
        self.tubelet_size = tubelet_size
        self.with_cp = with_cp
        self.pretrained = pretrained
        self.use_learnable_pos_emb = use_learnable_pos_emb
        self.pos_grid: Tuple[int, int, int] = (num_frames // tubelet_size, *self.grid_size)
        dpr = torch.linspace(0, drop_path_rate, self.depth, device='cpu').tolist()
        self.blocks = ModuleList([
            MAEBlock(embed_dims=self.embed_dims, num_heads=self.num_heads,
                     mlp_ratio=settings['mlp_ratio'], qkv_bias=qkv_bias, qk_scale=qk_scale,
                     drop_rate=drop_rate, attn_drop_rate=attn_drop_rate,
                     drop_path_rate=dpr[i], norm_cfg=norm_cfg, init_values=float(init_values),
                     cos_attn=cos_attn)
            for i in range(self.depth)])
        from mmaction_ext.checkpoint.convert_once import install_original_checkpoint_hook
        install_original_checkpoint_hook(self)

    def init_weights(self) -> None:
        """Stock initialisation, then the ``pretrained`` checkpoint if one is given."""
        first = not self.is_init
        super().init_weights()
        if first and self.pretrained:
            from mmaction_ext.checkpoint.loading import load_original_checkpoint
            load_original_checkpoint(self, self.pretrained)

    def pos_embed_for(self, grid: Tuple[int, int, int]) -> Tensor:
        """Position table for a (T', H', W') token grid.

        The configured grid uses the ``pos_embed`` tensor itself; another grid gets the
        fixed sinusoid rebuilt for it (as the originals would build the model), or a
        learned table resampled (bicubic in space, linear in time).
        """
        if tuple(grid) == self.pos_grid:
            return self.pos_embed
        n = math.prod(grid)
        if not self.use_learnable_pos_emb and is_sinusoid_table(self.pos_embed):
            return sinusoid_table(n, self.embed_dims).to(self.pos_embed)
        return interpolate_pos_embed(self.pos_embed, self.pos_grid, grid)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, T, H, W) -> (N, embed_dims), or (N, C, T', H', W') if return_feat_map."""
        b, _, t, h, w = x.shape
        grid = (t // self.tubelet_size, h // self.patch_size, w // self.patch_size)
        x = self.patch_embed(x)[0]
        x = self.pos_drop(x + self.pos_embed_for(grid))
        use_cp = self.with_cp and self.training and torch.is_grad_enabled()
        last = len(self.blocks) - 1
        for i, blk in enumerate(self.blocks):
            if use_cp and i < last:
                x = checkpoint(blk, x, use_reentrant=False,
                               context_fn=_keep_attention_context)
            else:
                x = blk(x)
        x = self.norm(x)
        if self.return_feat_map:
            return x.reshape(b, *grid, self.embed_dims).permute(0, 4, 1, 2, 3)
        if self.fc_norm is not None:
            return self.fc_norm(x.mean(1))
        return x[:, 0]


__all__ = ['MAEVisionTransformer', 'ARCH_SETTINGS', 'STOCK_ARCH_DEFAULTS', 'merge_arch',
           'resolve_arch']
