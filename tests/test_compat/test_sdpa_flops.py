"""MMEngine's FLOP counter counts the plugin's fused attention as the stock ViT's matmuls."""
from __future__ import annotations

import pytest
import torch
from mmaction.models.backbones import VisionTransformer
from mmengine.analysis import FlopAnalyzer, get_model_complexity_info
from mmengine.analysis import complexity_analysis as ca

from mmaction_ext.compat.sdpa_flops import SDPA_OP, register_sdpa_flop_handle, sdpa_flop_jit
from mmaction_ext.models.backbones import MAEVisionTransformer

# ViT-S and ViT-B widths with stock arguments, on small clips (tracing stays fast).
SIZES = {'vit-s': dict(embed_dims=384, depth=2, num_heads=6),
         'vit-b': dict(embed_dims=768, depth=2, num_heads=12)}


def _flops(model: torch.nn.Module, shape) -> int:
    return FlopAnalyzer(model.eval(), (torch.randn(*shape),)).total()


@pytest.mark.parametrize('name', sorted(SIZES))
@pytest.mark.parametrize('frames,size', [(4, 32), (8, 64)])
def test_plugin_flops_equal_stock(name, frames, size):
    kw = dict(SIZES[name], img_size=size, num_frames=frames)
    shape = (1, 3, frames, size, size)
    ours, stock = _flops(MAEVisionTransformer(**kw), shape), _flops(VisionTransformer(**kw), shape)
    assert ours == stock


def test_attention_share_matches_formula(monkeypatch):
    """Without the handle the fused attention counts zero; with it, exactly the stock
    matmuls' 2 * N^2 * C multiply-adds per block (N tokens, C dims)."""
    kw = dict(SIZES['vit-s'], img_size=64, num_frames=8)
    model, shape = MAEVisionTransformer(**kw), (1, 3, 8, 64, 64)
    n, c = 4 * 4 * 4, 384
    with_handle = _flops(model, shape)
    monkeypatch.delitem(ca._DEFAULT_SUPPORTED_FLOP_OPS, SDPA_OP)  # MMEngine as shipped
    analyzer = FlopAnalyzer(model, (torch.randn(*shape),))
    without = analyzer.total()
    assert analyzer.unsupported_ops()[SDPA_OP] == 2  # the upstream symptom, one per block
    assert with_handle - without == 2 * (2 * n * n * c)


def test_get_model_complexity_info_reports_no_unsupported_attention():
    model = MAEVisionTransformer(**SIZES['vit-s'], img_size=32, num_frames=4)
    analyzer = FlopAnalyzer(model.eval(), (torch.randn(1, 3, 4, 32, 32),))
    analyzer.total()
    assert SDPA_OP not in analyzer.unsupported_ops()
    info = get_model_complexity_info(model, (3, 4, 32, 32), show_table=False,
                                     show_arch=False)
    stock = get_model_complexity_info(VisionTransformer(**SIZES['vit-s'], img_size=32,
                                                        num_frames=4),
                                      (3, 4, 32, 32), show_table=False, show_arch=False)
    assert info['flops'] == stock['flops']


def test_handle_counts_causal_and_cross_attention_shapes():
    class Cross(torch.nn.Module):
        def forward(self, q, k, v):
            return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=False)

    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 4)
    assert FlopAnalyzer(Cross(), (q, k, v)).total() == 2 * 3 * 5 * 7 * (8 + 4)
    assert sdpa_flop_jit.__name__ == 'sdpa_flop_jit'


def test_registration_keeps_an_upstream_handle(monkeypatch):
    """No-op where MMEngine already handles the op: an upstream handle is not replaced."""
    def upstream(inputs, outputs):
        return 1

    monkeypatch.setitem(ca._DEFAULT_SUPPORTED_FLOP_OPS, SDPA_OP, upstream)
    monkeypatch.setitem(ca._DEFAULT_SUPPORTED_ACT_OPS, SDPA_OP,
                        ca._DEFAULT_SUPPORTED_ACT_OPS[SDPA_OP])
    assert register_sdpa_flop_handle() is False
    assert ca._DEFAULT_SUPPORTED_FLOP_OPS[SDPA_OP] is upstream
