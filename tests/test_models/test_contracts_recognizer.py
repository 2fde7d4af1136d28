"""Contract: ``ViTRecognizer3D`` keeps ``Recognizer3D``'s promises.

Built from the same config (``type`` swapped) with the same weights, it must compute the
same losses, predictions and features, and load MMAction2 checkpoints (whole or partial,
ViT or not) exactly as ``Recognizer3D`` does. Intended differences, named below: an
original VideoMAEv2/AMD file is converted (ViT backbones), and a fresh head is scaled by
``init_scale``.
"""
from __future__ import annotations

import copy

import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.registry import DefaultScope

from mmaction_ext.models.recognizers.vit_recognizer import has_vit_backbone

PRE = dict(type='ActionDataPreprocessor', mean=[114.75] * 3, std=[57.375] * 3,
           format_shape='NCTHW')
VIT = dict(type='Recognizer3D',
           backbone=dict(type='MAEVisionTransformer', img_size=32, num_frames=4,
                         embed_dims=48, depth=2, num_heads=4),
           cls_head=dict(type='TimeSformerHead', num_classes=5, in_channels=48,
                         average_clips='prob'),
           data_preprocessor=PRE)
RESNET = dict(type='Recognizer3D',
              backbone=dict(type='ResNet3d', depth=18, pretrained=None, pretrained2d=False,
                            base_channels=4, in_channels=3),
              cls_head=dict(type='I3DHead', num_classes=5, in_channels=32,
                            average_clips='prob'),
              data_preprocessor=PRE)
CASES = {'vit': VIT, 'resnet3d': RESNET}


@pytest.fixture(autouse=True)
def mmaction_scope():
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


def _pair(cfg):
    """(stock Recognizer3D, ViTRecognizer3D with the stock one's weights)."""
    torch.manual_seed(0)
    stock = MODELS.build(copy.deepcopy(cfg))
    stock.init_weights()
    ours = MODELS.build(dict(copy.deepcopy(cfg), type='ViTRecognizer3D'))
    ours.load_state_dict(stock.state_dict(), strict=True)
    return stock, ours


def _data():
    torch.manual_seed(1)
    inputs = [torch.randint(0, 255, (1, 3, 4, 32, 32), dtype=torch.uint8) for _ in range(2)]
    samples = [ActionDataSample().set_gt_label(torch.tensor(i)) for i in (0, 3)]
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('name', sorted(CASES))
def test_same_loss_predictions_and_features(name):
    stock, ours = _pair(CASES[name])
    stock.eval(), ours.eval()
    with torch.no_grad():
        a, b = stock.val_step(_data()), ours.val_step(_data())
        for sa, sb in zip(a, b):
            assert torch.allclose(sa.pred_score, sb.pred_score, atol=1e-6)
            assert torch.equal(sa.pred_label, sb.pred_label)
        x = stock.data_preprocessor(_data())['inputs']
        fa, fb = stock.extract_feat(x)[0], ours.extract_feat(x)[0]
        assert torch.allclose(fa, fb, atol=1e-6)
        la = stock(**stock.data_preprocessor(_data(), True), mode='loss')
        lb = ours(**ours.data_preprocessor(_data(), True), mode='loss')
    assert la.keys() == lb.keys()
    for k in la:
        assert torch.allclose(la[k], lb[k], atol=1e-6), k


@pytest.mark.parametrize('name', sorted(CASES))
def test_loads_checkpoints_as_recognizer3d(name):
    """Whole and partial (backbone-only, strict=False) MMAction2 state dicts."""
    stock, _ = _pair(CASES[name])
    full = stock.state_dict()
    partial = {k: v for k, v in full.items() if k.startswith('backbone.')}
    for sd, strict in ((full, True), (partial, False)):
        torch.manual_seed(5)
        a = MODELS.build(copy.deepcopy(CASES[name]))
        torch.manual_seed(5)
        b = MODELS.build(dict(copy.deepcopy(CASES[name]), type='ViTRecognizer3D'))
        b.load_state_dict(a.state_dict())
        ra, rb = a.load_state_dict(sd, strict=strict), b.load_state_dict(sd, strict=strict)
        # Same as Recognizer3D, also for a ViT partial load: the converter only renames
        # keys, so missing ones are reported by load_state_dict (strict loading holds).
        assert sorted(ra.missing_keys) == sorted(rb.missing_keys)
        assert sorted(ra.unexpected_keys) == sorted(rb.unexpected_keys)
        sa, sb = a.state_dict(), b.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_non_vit_backbone_takes_any_checkpoint_recognizer3d_takes():
    """The reported bug: a non-ViT backbone raised from the original-checkpoint converter."""
    _, ours = _pair(RESNET)
    assert not has_vit_backbone(ours)
    renamed = {('extra.' + k if k.startswith('cls_head') else k): v
               for k, v in ours.state_dict().items()}
    result = ours.load_state_dict(renamed, strict=False)  # Recognizer3D: loads, reports
    assert sorted(result.missing_keys) == ['cls_head.fc_cls.bias', 'cls_head.fc_cls.weight']


def test_intended_difference_original_checkpoint_is_converted():
    """VideoMAEv2 names (patch_embed.proj, mlp.fc1, head) load into a ViT recognizer."""
    stock, ours = _pair(VIT)
    assert has_vit_backbone(ours)
    original = {}
    for k, v in stock.state_dict().items():
        k = k.replace('backbone.', '').replace('patch_embed.projection', 'patch_embed.proj')
        k = k.replace('mlp.layers.0.0', 'mlp.fc1').replace('mlp.layers.1', 'mlp.fc2')
        original[k.replace('cls_head.fc_cls', 'head')] = v
    fresh = MODELS.build(dict(copy.deepcopy(VIT), type='ViTRecognizer3D'))
    fresh.load_state_dict({'model': original}, strict=False)
    got = fresh.state_dict()
    assert all(torch.equal(v, got[k]) for k, v in stock.state_dict().items())


def test_intended_difference_fresh_head_scaled_by_init_scale():
    torch.manual_seed(0)
    stock = MODELS.build(copy.deepcopy(RESNET))
    stock.init_weights()
    torch.manual_seed(0)
    ours = MODELS.build(dict(copy.deepcopy(RESNET), type='ViTRecognizer3D', init_scale=0.5))
    ours.init_weights()
    assert torch.allclose(ours.cls_head.fc_cls.weight, stock.cls_head.fc_cls.weight * 0.5)
