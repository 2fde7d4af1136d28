"""Attention and block of :class:`MAEVisionTransformer`: the stock modules, fused attention.

Subclassing MMAction2's ``Attention``/``Block`` keeps every parameter name
(``attn.qkv``, ``attn.q_bias``, ``mlp.layers.0.0`` ...) so stock checkpoints and the
layer-wise lr decay constructor see the same network; only the attention product changes
to ``scaled_dot_product_attention`` (flash / memory-efficient kernels, no N x N matrix
kept for backward on CPU either).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from mmaction.models.backbones.vit_mae import Attention, Block
from torch import Tensor, nn

# The cosine-attention logit scale is clamped at the literal 4.6052 of VideoMAEv2 / AMD /
# ADH-ViT (`torch.clamp(self.scale, max=4.6052)`), not at log(100) = 4.605170...: a
# trained scale above the clamp gives logits 3e-5 relative apart otherwise.
COS_ATTN_MAX_LOG_SCALE = 4.6052


class FusedAttention(Attention):
    """Stock ``Attention`` computed with ``F.scaled_dot_product_attention``.

    Args:
        cos_attn (bool): cosine attention (VideoMAEv2 option): q and k are L2-normalised
            and scaled per head by ``exp(min(scale, 4.6052))``, where ``scale`` is a
            learned (num_heads, 1, 1) parameter saved as ``attn.scale``.
        Others as in ``mmaction.models.backbones.vit_mae.Attention``.
    """

    def __init__(self, embed_dims: int, num_heads: int = 8, cos_attn: bool = False,
                 **kwargs) -> None:
        super().__init__(embed_dims, num_heads=num_heads, **kwargs)
        self.cos_attn = cos_attn
        if cos_attn:
            self.scale = nn.Parameter(torch.full((num_heads, 1, 1), math.log(10.0)))

    def forward(self, x: Tensor) -> Tensor:
        """(B, N, C) -> (B, N, C)."""
        b, n, c = x.shape
        if hasattr(self, 'q_bias'):
            bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
            qkv = F.linear(x, self.qkv.weight, bias)
        else:
            qkv = self.qkv(x)
        q, k, v = qkv.reshape(b, n, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        scale: float | None = self.scale
        if self.cos_attn:
            logit_scale = self.scale.clamp(max=COS_ATTN_MAX_LOG_SCALE).exp()
            q = F.normalize(q, dim=-1) * logit_scale
            k = F.normalize(k, dim=-1)
            scale = 1.0
        drop = self.attn_drop.p if self.training else 0.0
        x = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, scale=scale)
        x = x.transpose(1, 2).reshape(b, n, c)
        return self.proj_drop(self.proj(x))


class MAEBlock(Block):
    """Stock ``Block`` whose attention is :class:`FusedAttention`."""

    def __init__(self, embed_dims: int, num_heads: int, qkv_bias: bool = True,
                 qk_scale: float | None = None, drop_rate: float = 0.,
                 attn_drop_rate: float = 0., cos_attn: bool = False, **kwargs) -> None:
        super().__init__(embed_dims, num_heads, qkv_bias=qkv_bias, qk_scale=qk_scale,
                         drop_rate=drop_rate, attn_drop_rate=attn_drop_rate, **kwargs)
        self.attn = FusedAttention(
            embed_dims, num_heads=num_heads, qkv_bias=qkv_bias, qk_scale=qk_scale,
            attn_drop_rate=attn_drop_rate, drop_rate=drop_rate, cos_attn=cos_attn)
