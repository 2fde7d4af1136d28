"""Contract: ``MAEVisionTransformer`` keeps the stock ``VisionTransformer``'s promises.

Built with the stock constructor's arguments (as MMAction2's configs and its own
``tests/models/backbones/test_vit_mae.py`` do), it must accept them in the same order with
the same defaults, build the same parameters and compute the same outputs. Intended
differences are named in ``test_intended_difference_*``.
"""
from __future__ import annotations

import inspect

import pytest
import torch
from mmaction.models.backbones import VisionTransformer
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope

from mmaction_ext.models.backbones import MAEVisionTransformer
from mmaction_ext.models.backbones.mae_vit import STOCK_ARCH_DEFAULTS

STOCK_VITS_CFG = ('mmaction::recognition/videomaev2/'
                  'vit-small-p16_videomaev2-vit-g-dist-k710-pre_16x4x1_kinetics-400.py')
SMALL = dict(img_size=32, num_frames=4, embed_dims=48, depth=2, num_heads=4)


@pytest.fixture(autouse=True)
def mmaction_scope():
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


def _pair(**kwargs):
    """(ours, stock) built with the same stock arguments, stock holding our weights."""
    torch.manual_seed(0)
    ours = MAEVisionTransformer(**kwargs)
    ours.init_weights()
    with torch.no_grad():  # non-trivial biases / norms / gammas, not just the init values
        for p in ours.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    stock = VisionTransformer(**kwargs)
    stock.load_state_dict(ours.state_dict(), strict=True)
    return ours, stock


def test_accepts_the_stock_signature_in_order_with_stock_defaults():
    stock = list(inspect.signature(VisionTransformer.__init__).parameters.values())[1:]
    ours = inspect.signature(MAEVisionTransformer.__init__).parameters
    names = [p.name for p in stock if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert list(ours)[1:len(names) + 1] == names  # positional calls bind the same way
    for p in stock:
        if p.kind is not p.POSITIONAL_OR_KEYWORD:
            continue
        if p.name in STOCK_ARCH_DEFAULTS:  # None = "stock default, or arch's"
            assert ours[p.name].default is None
            assert STOCK_ARCH_DEFAULTS[p.name] == p.default, p.name
        elif p.name == 'norm_cfg':  # None = the stock LN(eps=1e-6), no shared mutable default
            assert ours[p.name].default is None and p.default == dict(type='LN', eps=1e-6)
        else:
            assert ours[p.name].default == p.default, p.name


def test_stock_defaults_build_the_stock_network():
    ours, stock = MAEVisionTransformer(img_size=32), VisionTransformer(img_size=32)
    shapes = {k: v.shape for k, v in stock.state_dict().items()}
    assert {k: v.shape for k, v in ours.state_dict().items()} == shapes
    assert shapes['patch_embed.projection.weight'] == (768, 3, 2, 16, 16)
    assert ours.embed_dims == 768 and len(ours.blocks) == 12


def test_positional_stock_call():
    args = (32, 16, 3, 48, 2, 4, 2.)  # img_size, patch, in_ch, dims, depth, heads, mlp
    ours, stock = MAEVisionTransformer(*args), VisionTransformer(*args)
    assert ({k: v.shape for k, v in ours.state_dict().items()}
            == {k: v.shape for k, v in stock.state_dict().items()})
    assert ours.blocks[0].mlp.layers[0][0].out_features == 96


# The cases of MMAction2's own backbone test, plus the remaining stock options.
STOCK_CASES = [
    dict(qkv_bias=True, drop_path_rate=0.2, init_values=0.1),
    dict(use_learnable_pos_emb=True, drop_rate=0.1, use_mean_pooling=False),
    dict(return_feat_map=True),
    dict(qkv_bias=False, qk_scale=0.5, mlp_ratio=2),
    dict(patch_size=8, tubelet_size=1, norm_cfg=dict(type='LN', eps=1e-5)),
]


@pytest.mark.parametrize('case', STOCK_CASES, ids=lambda c: ','.join(c))
def test_stock_cases_same_outputs_and_grads(case):
    ours, stock = _pair(**SMALL, **case)
    x = torch.randn(2, 3, 4, 32, 32)
    ours.eval(), stock.eval()
    a, b = ours(x), stock(x)
    assert a.shape == b.shape
    assert (a - b).abs().max() <= 1e-5
    ours.train(), stock.train()  # dropouts off-path: same seed, same masks only if p == 0
    if not any(case.get(k) for k in ('drop_rate', 'drop_path_rate')):
        w = torch.randn_like(a)
        (ours(x) * w).sum().backward()
        (stock(x) * w).sum().backward()
        grads = dict(stock.named_parameters())
        for name, p in ours.named_parameters():
            if p.grad is not None or grads[name].grad is not None:
                assert torch.allclose(p.grad, grads[name].grad, atol=1e-5), name


def test_mmaction_test_shapes_at_stock_width():
    """MMAction2's own case (default width, init_values, drop path) -> (1, 768)."""
    x = torch.randn(1, 3, 4, 32, 32)
    model = MAEVisionTransformer(img_size=32, num_frames=4, qkv_bias=True,
                                 drop_path_rate=0.2, init_values=0.1)
    assert model(x).shape == (1, 768)
    model.eval()
    assert model(x).shape == (1, 768)


def test_arch_is_a_shortcut_with_a_conflict_rule():
    a = MAEVisionTransformer(arch='s', img_size=32)
    b = MAEVisionTransformer(embed_dims=384, depth=12, num_heads=6, img_size=32)
    assert ({k: v.shape for k, v in a.state_dict().items()}
            == {k: v.shape for k, v in b.state_dict().items()})
    MAEVisionTransformer(arch='s', embed_dims=384, num_heads=6, img_size=32)  # agreeing: ok
    with pytest.raises(ValueError, match=r"embed_dims=768 but arch gives 384"):
        MAEVisionTransformer(arch='s', embed_dims=768, img_size=32)
    with pytest.raises(ValueError, match='patch_size=16 but arch gives 14'):
        MAEVisionTransformer(arch='g', patch_size=16, img_size=28)


@pytest.mark.slow
def test_stock_videomaev2_config_with_only_the_type_changed(tmp_path):
    """MMAction2's ViT-S VideoMAEv2 config, ``type`` swapped, shrunk by options only."""
    user_cfg = tmp_path / 'user.py'
    user_cfg.write_text(f"_base_ = '{STOCK_VITS_CFG}'\n")
    cfg = Config.fromfile(str(user_cfg))
    shrink = {'model.backbone.img_size': 32, 'model.backbone.num_frames': 4,
              'model.cls_head.num_classes': 5}
    cfg.merge_from_dict(shrink)
    stock_model_cfg = cfg.model.copy()
    cfg.merge_from_dict({'model.backbone.type': 'MAEVisionTransformer'})
    assert cfg.model.backbone.embed_dims == 384 and cfg.model.backbone.patch_size == 16
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    stock = MODELS.build(stock_model_cfg)
    stock.load_state_dict(model.state_dict(), strict=True)
    assert type(model.backbone) is MAEVisionTransformer
    assert type(stock.backbone) is VisionTransformer

    from mmaction.structures import ActionDataSample
    inputs = [torch.randint(0, 255, (1, 3, 4, 32, 32), dtype=torch.uint8) for _ in range(2)]
    samples = [ActionDataSample().set_gt_label(torch.tensor(i)) for i in (1, 3)]
    data = dict(inputs=inputs, data_samples=samples)
    model.eval(), stock.eval()
    with torch.no_grad():
        a = model.val_step(data)
        b = stock.val_step(data)
    for sa, sb in zip(a, b):
        assert (sa.pred_score - sb.pred_score).abs().max() <= 1e-5
    x = model.data_preprocessor(data)['inputs'].flatten(0, 1)
    with torch.no_grad():
        feat, stock_feat = model.backbone(x), stock.backbone(x)
    assert feat.shape == (2, 384) and (feat - stock_feat).abs().max() <= 1e-5
    model.train()
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    before = model.backbone.blocks[0].attn.qkv.weight.detach().clone()
    losses = model.train_step(data, optim)
    assert torch.isfinite(losses['loss_cls'])
    assert not torch.equal(before, model.backbone.blocks[0].attn.qkv.weight)


def test_intended_difference_position_table_at_another_input_size():
    """Stock resizes the sinusoid table spatially (bicubic) and cannot change the clip
    length; ours rebuilds the fixed sinusoid for the new token grid, as the original
    VideoMAEv2 code builds the model for that size."""
    ours, stock = _pair(**SMALL)
    x = torch.randn(1, 3, 4, 64, 64)
    built_for_64 = MAEVisionTransformer(**dict(SMALL, img_size=64))
    built_for_64.load_state_dict(
        {k: v for k, v in ours.state_dict().items() if k != 'pos_embed'}, strict=False)
    ours.eval(), stock.eval(), built_for_64.eval()
    assert torch.allclose(ours(x), built_for_64(x), atol=1e-5)
    assert not torch.allclose(ours(x), stock(x), atol=1e-3)
    with pytest.raises(RuntimeError):
        stock(torch.randn(1, 3, 8, 32, 32))  # stock: clip length fixed by its table
    assert ours(torch.randn(1, 3, 8, 32, 32)).shape == (1, 48)


def test_intended_difference_integer_init_values_enable_layer_scale():
    """Stock enables layer scale only for a float ``init_values`` (``type(v) == float``),
    so ``init_values=1`` silently builds no gammas; ours treats any positive number alike."""
    ours = MAEVisionTransformer(**SMALL, init_values=1)
    stock = VisionTransformer(**SMALL, init_values=1)
    assert 'blocks.0.gamma_1' in ours.state_dict()
    assert 'blocks.0.gamma_1' not in stock.state_dict()
    assert torch.equal(ours.blocks[0].gamma_1, torch.ones(48))
