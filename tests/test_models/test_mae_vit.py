"""MAEVisionTransformer: stock numerics, fused attention, with_cp, position tables, lr decay."""
from __future__ import annotations

import copy

import pytest
import torch
from mmaction.models.backbones import VisionTransformer
from mmaction.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import DefaultScope
from reference_vit import reference_interpolate, sinusoid

from mmaction_ext.checkpoint.pos_embed import infer_pos_grid, interpolate_pos_embed
from mmaction_ext.models.backbones import ARCH_SETTINGS, MAEVisionTransformer
from mmaction_ext.models.backbones.mae_vit import resolve_arch

TINY = dict(embed_dims=48, depth=2, num_heads=4)


@pytest.fixture(autouse=True)
def mmaction_scope():
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


def tiny(**kw) -> MAEVisionTransformer:
    cfg = dict(type='MAEVisionTransformer', arch=TINY, img_size=32, num_frames=4)
    cfg.update(kw)
    model = MODELS.build(cfg)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.2 + (1.0 if p.dim() == 1 else 0.0) * 0.1)
    return model


def stock_like(model: MAEVisionTransformer, **kw) -> VisionTransformer:
    stock = VisionTransformer(img_size=32, patch_size=16, embed_dims=48, depth=2, num_heads=4,
                              num_frames=4, **kw)
    stock.load_state_dict(model.state_dict(), strict=True)
    return stock


def test_same_outputs_and_grads_as_stock():
    torch.manual_seed(1)
    ours = tiny()
    stock = stock_like(ours)
    x = torch.randn(2, 3, 4, 32, 32)
    ours.train(), stock.train()
    out_a, out_b = ours(x), stock(x)
    assert (out_a - out_b).abs().max() < 1e-5
    w = torch.randn_like(out_a)
    (out_a * w).sum().backward()
    (out_b * w).sum().backward()
    grads_b = dict(stock.named_parameters())
    for name, p in ours.named_parameters():
        assert torch.allclose(p.grad, grads_b[name].grad, atol=1e-5), name
    assert isinstance(ours, VisionTransformer)
    assert 'VisionTransformer' in type(ours).__name__  # layer-decay constructor's test


def test_layer_scale_matches_stock():
    ours = tiny(init_values=0.1)
    stock = stock_like(ours, init_values=0.1)
    x = torch.randn(1, 3, 4, 32, 32)
    assert 'blocks.1.gamma_2' in ours.state_dict()
    assert (ours.eval()(x) - stock.eval()(x)).abs().max() < 1e-5


def test_arch_table():
    assert resolve_arch('S') == ARCH_SETTINGS['s'] == resolve_arch('small')
    assert resolve_arch(dict(TINY))['patch_size'] == 16
    with pytest.raises(ValueError, match='unknown ViT arch'):
        resolve_arch('xl')
    with pytest.raises(ValueError, match='num_heads'):
        resolve_arch(dict(embed_dims=8, depth=1))
    expected = {'s': (384, 12, 1536, 16), 'b': (768, 12, 3072, 16), 'l': (1024, 24, 4096, 16),
                'h': (1280, 32, 5120, 16), 'g': (1408, 40, 6144, 14)}
    for arch, (dim, depth, hidden, patch) in expected.items():
        settings = resolve_arch(arch)
        assert (settings['embed_dims'], settings['depth'], settings['patch_size']) == (
            dim, depth, patch)
        assert int(dim * settings['mlp_ratio']) == hidden
        if arch not in ('s', 'g'):
            continue
        with torch.device('meta'):  # built without allocating: shapes only
            m = MAEVisionTransformer(arch=arch)
        assert len(m.blocks) == depth and m.embed_dims == dim
        assert m.blocks[0].mlp.layers[0][0].out_features == hidden
        assert m.patch_embed.projection.kernel_size == (2, patch, patch)
        assert m.pos_embed.shape == (1, 8 * (224 // patch) ** 2, dim)


@pytest.mark.parametrize('drop_path', [0.0, 0.3])
def test_with_cp_equal_outputs_and_grads(drop_path):
    a = tiny(drop_path_rate=drop_path)
    b = tiny(drop_path_rate=drop_path, with_cp=True)
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 4, 32, 32)
    a.train(), b.train()
    torch.manual_seed(7)
    out_a = a(x)
    torch.manual_seed(7)
    out_b = b(x)
    assert torch.equal(out_a, out_b)
    out_a.square().sum().backward()
    out_b.square().sum().backward()
    grads = dict(a.named_parameters())
    for name, p in b.named_parameters():
        assert torch.allclose(p.grad, grads[name].grad, atol=1e-6, rtol=1e-5), name


def test_cos_attn_has_scale_and_sdpa_matches_explicit():
    model = tiny(cos_attn=True).eval()
    attn = model.blocks[0].attn
    assert attn.scale.shape == (4, 1, 1)
    x = torch.randn(2, 9, 48)
    # explicit cosine attention computed here from the parameters
    bias = torch.cat([attn.q_bias, torch.zeros_like(attn.q_bias), attn.v_bias])
    q, k, v = (x @ attn.qkv.weight.t() + bias).view(2, 9, 3, 4, 12).permute(2, 0, 3, 1, 4)
    q, k = q / q.norm(dim=-1, keepdim=True), k / k.norm(dim=-1, keepdim=True)
    logits = q @ k.transpose(-1, -2) * attn.scale.clamp(max=4.60517).exp()
    ref = attn.proj((logits.softmax(-1) @ v).transpose(1, 2).reshape(2, 9, 48))
    assert (attn(x) - ref).abs().max() < 1e-5


def test_sinusoid_table_and_prefix_property():
    m16 = MAEVisionTransformer(arch=TINY, img_size=32, num_frames=16)
    m4 = MAEVisionTransformer(arch=TINY, img_size=32, num_frames=4)
    assert torch.allclose(m16.pos_embed, sinusoid(8 * 4, 48), atol=1e-6)
    assert torch.equal(m4.pos_embed, m16.pos_embed[:, :2 * 4])
    assert 'pos_embed' in m4.state_dict()  # stock-compatible persistent buffer


def test_position_table_rebuilt_for_other_input_size():
    small = tiny().eval()
    big = tiny(img_size=48, num_frames=8).eval()
    big.load_state_dict({k: v for k, v in small.state_dict().items() if k != 'pos_embed'},
                        strict=False)
    x = torch.randn(1, 3, 8, 48, 48)
    assert (small(x) - big(x)).abs().max() < 1e-6


def test_learned_table_interpolated_at_other_input_size():
    model = tiny(use_learnable_pos_emb=True).eval()
    x = torch.randn(1, 3, 8, 48, 48)
    table = reference_interpolate(model.pos_embed.detach(), (2, 2, 2), (4, 3, 3))
    manual = copy.deepcopy(model)
    manual.pos_grid = (4, 3, 3)
    manual.pos_embed = torch.nn.Parameter(table)
    assert (model(x) - manual(x)).abs().max() < 1e-5


@pytest.mark.parametrize('src,dst', [((2, 3, 3), (4, 5, 5)), ((4, 4, 4), (2, 4, 4)),
                                     ((3, 2, 2), (3, 4, 4)), ((8, 2, 2), (5, 3, 3))])
def test_interpolate_pos_embed_matches_reference(src, dst):
    table = torch.randn(1, src[0] * src[1] * src[2], 16)
    out = interpolate_pos_embed(table, src, dst)
    assert out.shape == (1, dst[0] * dst[1] * dst[2], 16)
    assert (out - reference_interpolate(table, src, dst)).abs().max() < 1e-5


def test_infer_pos_grid():
    assert infer_pos_grid(8 * 196, (8, 14, 14)) == (8, 14, 14)
    assert infer_pos_grid(8 * 49, (4, 14, 14)) == (2, 14, 14)  # the model's crop first
    assert infer_pos_grid(8 * 49, (4, 10, 10)) == (8, 7, 7)    # then the balanced grid
    assert infer_pos_grid(8 * 196, (4, 10, 10)) == (8, 14, 14)
    assert infer_pos_grid(8, (4, 3, 3)) == (2, 2, 2)
    with pytest.raises(ValueError, match='no T x S x S grid'):
        infer_pos_grid(0, (5, 5, 5))
    assert infer_pos_grid(72, (1, 1, 1), hint=(8, 3, 3)) == (8, 3, 3)


def test_layer_decay_optimizer_constructor_builds_decayed_groups():
    import mmaction.engine  # noqa: F401  registers the constructor
    model = MODELS.build(dict(
        type='ViTRecognizer3D', backbone=dict(type='MAEVisionTransformer', arch=TINY,
                                              img_size=32, num_frames=4),
        cls_head=dict(type='TimeSformerHead', num_classes=3, in_channels=48)))
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='LearningRateDecayOptimizerConstructor',
        optim_wrapper_cfg=dict(type='OptimWrapper',
                               optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05)),
        paramwise_cfg=dict(num_layers=2, decay_rate=0.75, decay_type='layer_wise')))
    wrapper = constructor(model)
    lr_of = {}
    for group in wrapper.optimizer.param_groups:
        for name in group['param_names']:
            lr_of[name] = (group['lr'], group['weight_decay'])
    assert lr_of['backbone.patch_embed.projection.weight'] == (pytest.approx(1e-3 * .75 ** 3), 0.05)
    assert lr_of['backbone.blocks.0.attn.qkv.weight'][0] == pytest.approx(1e-3 * .75 ** 2)
    assert lr_of['backbone.blocks.1.mlp.layers.0.0.weight'][0] == pytest.approx(1e-3 * .75)
    assert lr_of['backbone.blocks.1.attn.q_bias'] == (pytest.approx(1e-3 * .75), 0.0)
    assert lr_of['cls_head.fc_cls.weight'][0] == pytest.approx(1e-3)
    assert lr_of['backbone.fc_norm.weight'] == (pytest.approx(1e-3), 0.0)


def _saved_bytes(model, x) -> int:
    """Activation bytes autograd keeps outside checkpointed regions in one forward."""
    total = 0
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}

    def pack(t):
        nonlocal total
        if t.untyped_storage().data_ptr() not in weights:
            total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return total


def test_with_cp_keeps_less_for_backward():
    a = tiny(arch=dict(TINY, depth=8)).train()
    b = tiny(arch=dict(TINY, depth=8), with_cp=True).train()
    x = torch.randn(2, 3, 4, 32, 32)
    assert _saved_bytes(b, x) < 0.5 * _saved_bytes(a, x)
    with torch.no_grad():  # no checkpointing (nor its cost) outside training
        assert torch.equal(a.eval()(x), a(x))
