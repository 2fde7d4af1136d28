"""Position tables of the VideoMAE-family ViTs: the fixed sinusoid and learned-table resampling.

The original codebases use a 1-D sinusoid over the flattened (t, h, w) token index, so the
table for fewer frames is a prefix of the 16-frame one; it is never saved. A learned table
found in a checkpoint is resampled bicubically in space (per temporal slice) and linearly in
time, so a model built for another clip length or crop size still starts from it.
"""
from __future__ import annotations

import math
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

Grid = Tuple[int, int, int]


def sinusoid_table(num_tokens: int, embed_dims: int) -> Tensor:
    """The fixed table, shape (1, num_tokens, embed_dims), float32.

    MMAction2's stock function computes the originals' table (float64, cast to float32);
    tests compare it with an independent formula.
    """
    from mmaction.models.backbones.vit_mae import get_sinusoid_encoding
    return get_sinusoid_encoding(num_tokens, embed_dims)


def is_sinusoid_table(table: Tensor, atol: float = 1e-5) -> bool:
    """True when ``table`` (1, N, C) is the fixed sinusoid for its own length."""
    if table.dim() != 3 or table.shape[0] != 1:
        return False
    ref = sinusoid_table(table.shape[1], table.shape[2])
    return torch.allclose(table.detach().float().cpu(), ref, atol=atol)


def interpolate_pos_embed(table: Tensor, src_grid: Sequence[int],
                          dst_grid: Sequence[int]) -> Tensor:
    """Resample a (1, T*H*W, C) table from ``src_grid`` (T, H, W) to ``dst_grid``.

    Space: bicubic (align_corners=False) on each temporal slice. Time: linear
    (align_corners=False) at every spatial position of the already resized slices.
    """
    t0, h0, w0 = (int(v) for v in src_grid)
    t1, h1, w1 = (int(v) for v in dst_grid)
    n, c = table.shape[-2:]
    if n != t0 * h0 * w0:
        raise ValueError(f'pos_embed has {n} tokens, not {t0}x{h0}x{w0}={t0 * h0 * w0}')
    dtype = table.dtype
    x = table.reshape(t0, h0, w0, c).permute(0, 3, 1, 2).float()   # (T, C, H, W)
    if (h0, w0) != (h1, w1):
        x = F.interpolate(x, size=(h1, w1), mode='bicubic', align_corners=False)
    x = x.permute(2, 3, 1, 0).reshape(h1 * w1, c, t0)              # (HW, C, T)
    if t0 != t1:
        x = F.interpolate(x, size=t1, mode='linear', align_corners=False)
    x = x.reshape(h1, w1, c, t1).permute(3, 0, 1, 2).reshape(1, t1 * h1 * w1, c)
    return x.to(dtype)


def grid_candidates(num_tokens: int) -> list:
    """Every (T, S, S) grid of ``num_tokens`` tokens, T ascending."""
    fits = []
    for t in range(1, num_tokens + 1):
        if num_tokens % t == 0:
            s = math.isqrt(num_tokens // t)
            if s * s == num_tokens // t:
                fits.append((t, s, s))
    return fits


def infer_pos_grid(num_tokens: int, prefer: Grid, hint: Grid | None = None) -> Grid:
    """Guess the (T, H, W) grid of a saved table with ``num_tokens`` square-grid tokens.

    Order: ``hint`` (from the checkpoint's saved args) if it fits; a grid with the model's
    T; one with the model's H=W; else the most balanced grid (H closest to T in ratio, e.g.
    1568 tokens -> 8x14x14, the originals' 16 frames at 224). The load report shows the
    choice.
    """
    if hint is not None and hint[0] * hint[1] * hint[2] == num_tokens:
        return tuple(int(v) for v in hint)
    fits = []
    for t in range(1, num_tokens + 1):
        if num_tokens % t:
            continue
        s = math.isqrt(num_tokens // t)
        if s * s == num_tokens // t:
            fits.append((t, s, s))
    for test in (lambda g: g[0] == prefer[0], lambda g: g[1:] == tuple(prefer[1:])):
        chosen = [g for g in fits if test(g)]
        if len(chosen) == 1:
            return chosen[0]
    if not fits:
        raise ValueError(f'a saved pos_embed with {num_tokens} tokens is no T x S x S grid; '
                         f'drop pos_embed from the checkpoint to use the fixed sinusoid')
    return min(fits, key=lambda g: abs(math.log(g[1] / g[0])))
