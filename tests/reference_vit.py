"""An independent plain-torch model of the VideoMAEv2 / AMD / ADH-ViT ViT, for tests only.

Written from the architecture description in DESIGN.md (not from the code under test):
its ``state_dict()`` has the original key names, so tests write checkpoints in every
original format with it and compare logits. Attention is the explicit softmax(q k^T) form.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Dict

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn


def sinusoid(num_tokens: int, dims: int) -> Tensor:
    """Original 1-D table: angle = pos / 10000^(2*(j//2)/dims); sin on even j, cos on odd."""
    pos = np.arange(num_tokens, dtype=np.float64)[:, None]
    j = np.arange(dims)[None, :]
    angle = pos / np.power(10000.0, 2 * (j // 2) / dims)
    table = np.where(j % 2 == 0, np.sin(angle), np.cos(angle))
    return torch.tensor(table, dtype=torch.float32)[None]


# The originals' cosine-attention clamp: torch.clamp(scale, max=4.6052).
ORIGINAL_COS_CLAMP = 4.6052


class RefAttention(nn.Module):
    def __init__(self, dim: int, heads: int, cos_attn: bool = False,
                 cos_clamp: float = ORIGINAL_COS_CLAMP) -> None:
        super().__init__()
        self.heads = heads
        self.cos_clamp = cos_clamp
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias = nn.Parameter(torch.randn(dim) * 0.1)
        self.v_bias = nn.Parameter(torch.randn(dim) * 0.1)
        self.cos_attn = cos_attn
        if cos_attn:
            self.scale = nn.Parameter(torch.log(10 * torch.ones(heads, 1, 1))
                                      + 0.3 * torch.randn(heads, 1, 1))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        bias = torch.cat([self.q_bias, torch.zeros_like(self.q_bias), self.v_bias])
        qkv = (x @ self.qkv.weight.t() + bias).view(b, n, 3, self.heads, c // self.heads)
        q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))
        if self.cos_attn:
            q = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            k = k / k.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            logits = q @ k.transpose(-1, -2) * torch.exp(torch.minimum(
                self.scale, torch.tensor(self.cos_clamp, dtype=self.scale.dtype)))
        else:
            logits = (q @ k.transpose(-1, -2)) / math.sqrt(c // self.heads)
        out = torch.softmax(logits, dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class RefMlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class RefBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float, layer_scale: float,
                 cos_attn: bool, eps: float = 1e-6,
                 cos_clamp: float = ORIGINAL_COS_CLAMP) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = RefAttention(dim, heads, cos_attn, cos_clamp)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = RefMlp(dim, int(dim * mlp_ratio))
        if layer_scale:
            self.gamma_1 = nn.Parameter(layer_scale * (1 + torch.rand(dim)))
            self.gamma_2 = nn.Parameter(layer_scale * (1 + torch.rand(dim)))
        else:
            self.gamma_1 = self.gamma_2 = None

    def forward(self, x: Tensor) -> Tensor:
        a, m = self.attn(self.norm1(x)), None
        x = x + (a if self.gamma_1 is None else self.gamma_1 * a)
        m = self.mlp(self.norm2(x))
        return x + (m if self.gamma_2 is None else self.gamma_2 * m)


class RefPatchEmbed(nn.Module):
    def __init__(self, dim: int, patch: int, tubelet: int) -> None:
        super().__init__()
        self.proj = nn.Conv3d(3, dim, (tubelet, patch, patch), (tubelet, patch, patch))

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class RefViT(nn.Module):
    """Original fine-tuning ViT; ``dual=True`` gives ADH-ViT's lh_head/rh_head.

    ``eps``: LayerNorm eps (VideoMAEv2/AMD 1e-6; ADH-ViT's models nn.LayerNorm's default
    1e-5). ``cos_clamp``: max of the cosine-attention log scale (originals: 4.6052).
    """

    def __init__(self, dim: int = 48, depth: int = 2, heads: int = 4, patch: int = 16,
                 tubelet: int = 2, frames: int = 4, size: int = 32, mlp_ratio: float = 4.,
                 num_classes: int = 5, dual: bool = False, num_classes_rh: int = 7,
                 layer_scale: float = 0., cos_attn: bool = False,
                 learned_pos: bool = False, mean_pooling: bool = True,
                 eps: float = 1e-6, cos_clamp: float = ORIGINAL_COS_CLAMP) -> None:
        super().__init__()
        self.patch_embed = RefPatchEmbed(dim, patch, tubelet)
        n = (frames // tubelet) * (size // patch) ** 2
        if learned_pos:
            self.pos_embed = nn.Parameter(torch.randn(1, n, dim) * 0.5)
        else:
            self.register_buffer('pos_embed', sinusoid(n, dim), persistent=False)
        self.blocks = nn.ModuleList(
            RefBlock(dim, heads, mlp_ratio, layer_scale, cos_attn, eps, cos_clamp)
            for _ in range(depth))
        self.mean_pooling = mean_pooling
        if mean_pooling:
            self.fc_norm = nn.LayerNorm(dim, eps=eps)
        else:
            self.norm = nn.LayerNorm(dim, eps=eps)
        self.dual = dual
        if dual:
            self.lh_head = nn.Linear(dim, num_classes)
            self.rh_head = nn.Linear(dim, num_classes_rh)
        else:
            self.head = nn.Linear(dim, num_classes)
        with torch.no_grad():  # non-trivial values everywhere, so no key goes unnoticed
            for name, p in self.named_parameters():
                if 'norm' in name:
                    p.copy_((1.0 if name.endswith('weight') else 0.0) + 0.2 * torch.randn_like(p))
                elif name.endswith('bias'):
                    p.copy_(0.1 * torch.randn_like(p))

    def features(self, x: Tensor, pos_embed: Tensor | None = None) -> Tensor:
        x = self.patch_embed(x)
        x = x + (self.pos_embed if pos_embed is None else pos_embed)
        for blk in self.blocks:
            x = blk(x)
        if self.mean_pooling:
            return self.fc_norm(x.mean(1))
        return self.norm(x)[:, 0]

    def forward(self, x: Tensor, hand: str = 'lh', pos_embed: Tensor | None = None) -> Tensor:
        f = self.features(x, pos_embed)
        if self.dual:
            return (self.lh_head if hand == 'lh' else self.rh_head)(f)
        return self.head(f)


def pretrain_state_dict(model: RefViT, amd: bool = False, dec_dim: int = 24) -> Dict[str, Tensor]:
    """Pre-training layout: the encoder (no fc_norm/head, with ``norm``) under ``encoder.``
    plus decoder parts; AMD adds ``encoder.projection_heads`` and ``generators``."""
    sd = OrderedDict()
    for k, v in model.state_dict().items():
        if k.startswith(('head.', 'fc_norm.', 'lh_head.', 'rh_head.')):
            continue
        sd['encoder.' + k] = v
    dim = model.patch_embed.proj.out_channels
    sd['encoder.norm.weight'] = torch.ones(dim) + 0.1 * torch.randn(dim)
    sd['encoder.norm.bias'] = 0.1 * torch.randn(dim)
    sd['encoder_to_decoder.weight'] = torch.randn(dec_dim, dim)
    sd['mask_token'] = torch.randn(1, 1, dec_dim)
    for i in range(2):
        sd[f'decoder.blocks.{i}.attn.qkv.weight'] = torch.randn(3 * dec_dim, dec_dim)
        sd[f'decoder.blocks.{i}.mlp.fc1.weight'] = torch.randn(4 * dec_dim, dec_dim)
    sd['decoder.norm.weight'] = torch.ones(dec_dim)
    sd['decoder.head.weight'] = torch.randn(1536, dec_dim)  # must not become the head
    sd['decoder.head.bias'] = torch.randn(1536)
    if amd:
        sd['encoder.projection_heads.0.weight'] = torch.randn(dim, dim)
        sd['encoder.projection_heads.0.bias'] = torch.randn(dim)
        sd['generators.0.blocks.0.attn.qkv.weight'] = torch.randn(3 * dec_dim, dec_dim)
        sd['generators.0.head.weight'] = torch.randn(10, dec_dim)
    return sd


def reference_interpolate(table: Tensor, src, dst) -> Tensor:
    """Per-slice bicubic in space, then linear in time by the explicit half-pixel formula."""
    t0, h0, w0 = src
    t1, h1, w1 = dst
    c = table.shape[-1]
    grid = table.reshape(t0, h0, w0, c)
    slices = []
    for t in range(t0):
        img = grid[t].permute(2, 0, 1)[None]
        if (h0, w0) != (h1, w1):
            img = F.interpolate(img, size=(h1, w1), mode='bicubic', align_corners=False)
        slices.append(img[0].permute(1, 2, 0))
    out = []
    for i in range(t1):
        pos = max((i + 0.5) * t0 / t1 - 0.5, 0.0)
        lo = min(int(math.floor(pos)), t0 - 1)
        hi = min(lo + 1, t0 - 1)
        frac = pos - lo
        out.append(slices[lo] * (1 - frac) + slices[hi] * frac)
    return torch.stack(out).reshape(1, t1 * h1 * w1, c)
