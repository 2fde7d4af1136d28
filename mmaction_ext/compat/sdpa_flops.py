"""Teach MMEngine's FLOP counter the fused attention op the plugin's ViT uses.

Upstream gap (MMEngine 0.10.7): ``mmengine.analysis.FlopAnalyzer`` (behind MMAction2's
``tools/analysis_tools/get_flops.py``) has no handle for
``aten::scaled_dot_product_attention``; it logs "Unsupported operator" and counts zero,
so a ViT-S 16x224 reads 34.3 GFLOPs instead of the stock model's 57.0. Here that op gets
a handle counting what the stock ``q @ k^T`` and ``attn @ v`` matmuls count (one
multiply-add = one FLOP): ``B*H*L*S*E + B*H*L*S*Ev``. The activation counter gets the
output size, which is all a fused kernel materialises (the stock model also counts its
(L, S) attention matrix). Registered only where MMEngine has no handle of its own.
"""
from __future__ import annotations

import math
from typing import Any, List

SDPA_OP = 'aten::scaled_dot_product_attention'


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """Multiply-adds of ``softmax(q k^T) v`` for q (..., L, E), k (..., S, E), v (..., S, Ev).

    A causal mask is counted in full, as the stock unfused matmuls would be.
    """
    from mmengine.analysis.jit_handles import get_shape
    q, k, v = (get_shape(x) for x in inputs[:3])
    batch = math.prod(q[:-2])
    length, embed, source, embed_v = q[-2], q[-1], k[-2], v[-1]
    return batch * length * source * (embed + embed_v)


def register_sdpa_flop_handle() -> bool:
    """Add the handles to MMEngine's default FLOP / activation tables; True if added."""
    try:
        from mmengine.analysis import complexity_analysis as ca
        from mmengine.analysis.jit_handles import generic_activation_jit
    except ImportError:  # pragma: no cover - MMEngine without the analysis package
        return False
    added = False
    if SDPA_OP not in ca._DEFAULT_SUPPORTED_FLOP_OPS:
        ca._DEFAULT_SUPPORTED_FLOP_OPS[SDPA_OP] = sdpa_flop_jit
        added = True
    if SDPA_OP not in ca._DEFAULT_SUPPORTED_ACT_OPS:
        ca._DEFAULT_SUPPORTED_ACT_OPS[SDPA_OP] = generic_activation_jit()
        added = True
    return added
