"""The coverage check of the one way in: every weight from the file, all finite."""
from __future__ import annotations

import types

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from reference_vit import RefViT

from mmaction_ext.checkpoint import (
    NonFiniteWeightsError,
    PartialCheckpointError,
    load_checkpoint_into,
)
from mmaction_ext.checkpoint.coverage import ALLOW_ENV, nonfinite_keys, require_complete
from mmaction_ext.engine.hooks.checkpoint_coverage_hook import CheckpointCoverageHook

TINY = dict(embed_dims=48, depth=2, num_heads=4)


@pytest.fixture(autouse=True)
def mmaction_scope():
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


def build(num_classes=5):
    return MODELS.build(dict(
        type='ViTRecognizer3D',
        backbone=dict(type='MAEVisionTransformer', arch=TINY, img_size=32, num_frames=4),
        cls_head=dict(type='TimeSformerHead', num_classes=num_classes, in_channels=48)))


def test_nonfinite_keys_names_nan_and_inf_only_in_float_tensors():
    tensors = {'a': torch.tensor([1.0, float('nan')]), 'b': torch.tensor([float('-inf')]),
               'c': torch.ones(2), 'n': torch.tensor([3]), 'meta': 'x'}
    assert nonfinite_keys(tensors) == ['a', 'b']


def test_backbone_only_is_refused_naming_keys_and_remedy(monkeypatch):
    model = build()
    sd = {k: v for k, v in model.state_dict().items() if not k.startswith('cls_head.')}
    with pytest.raises(PartialCheckpointError) as err:
        require_complete(model.state_dict(), sd, 'ft.pth')
    text = str(err.value)
    assert 'ft.pth' in text and 'a backbone-only checkpoint?' in text
    assert 'cls_head.fc_cls.weight' in text and f'{ALLOW_ENV}=1' in text
    assert require_complete(model.state_dict(), sd, 'ft.pth', allow_partial=True) == [
        '2 tensors are not in the file (a backbone-only checkpoint?): '
        'cls_head.fc_cls.weight, cls_head.fc_cls.bias']
    monkeypatch.setenv(ALLOW_ENV, '1')
    assert len(require_complete(model.state_dict(), sd, 'ft.pth')) == 1


def test_nan_is_refused_even_when_partial_files_are_allowed():
    model = build()
    sd = dict(model.state_dict())
    sd['backbone.blocks.1.attn.qkv.weight'] = sd['backbone.blocks.1.attn.qkv.weight'].clone()
    sd['backbone.blocks.1.attn.qkv.weight'][0, 0] = float('nan')
    with pytest.raises(NonFiniteWeightsError, match=r'nan.pth: weights with NaN or infinite '
                       r'values: backbone\.blocks\.1\.attn\.qkv\.weight'):
        require_complete(model.state_dict(), sd, 'nan.pth', allow_partial=True)


def test_original_file_with_other_class_count_is_refused_for_inference(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / 'k400.pth'
    torch.save({'model': RefViT(num_classes=400).state_dict()}, path)
    with pytest.raises(PartialCheckpointError,
                       match='cls_head: 400 classes in the file, 6 in the config'):
        load_checkpoint_into(build(6), str(path), complete=True)
    model = build(400)
    load_checkpoint_into(model, str(path), complete=True)   # converted, complete: loads
    assert torch.equal(model.cls_head.fc_cls.weight,
                       torch.load(path, weights_only=True)['model']['head.weight'])


def test_coverage_hook_refuses_nan_weights_before_testing(tmp_path):
    model = build()
    sd = model.state_dict()
    sd['cls_head.fc_cls.bias'] = torch.full_like(sd['cls_head.fc_cls.bias'], float('inf'))
    torch.save({'state_dict': sd}, tmp_path / 'inf.pth')
    runner = types.SimpleNamespace(model=model, _has_loaded=False, _train_loop={},
                                   _load_from=str(tmp_path / 'inf.pth'))
    hook = CheckpointCoverageHook(allow_partial=True)
    hook.before_run(runner)
    load_checkpoint(model, str(tmp_path / 'inf.pth'))
    with pytest.raises(NonFiniteWeightsError, match=r'inf.pth: .*cls_head\.fc_cls\.bias'):
        hook.before_test(runner)
