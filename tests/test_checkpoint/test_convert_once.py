"""Every entry point converts a foreign file exactly once (the convert-once mark).

Before: ``OriginalCheckpointHook`` converted, the recognizer's load hook converted again
(and read the first pass's fresh head as "kept"), a stock ``Recognizer3D``'s backbone
hook converted a third time; ``record_report`` kept a list to survive that.
"""
from __future__ import annotations

import os
from unittest import mock

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from reference_vit import RefViT

from mmaction_ext.checkpoint import conversion_mark, load_checkpoint_into, original
from mmaction_ext.engine.hooks.original_checkpoint_hook import OriginalCheckpointHook

TINY = dict(embed_dims=48, depth=2, num_heads=4)
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


@pytest.fixture(autouse=True)
def mmaction_scope():
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


def backbone(**kw):
    return dict(type='MAEVisionTransformer', arch=TINY, img_size=32, num_frames=4, **kw)


def build(kind='ViTRecognizer3D', num_classes=6):
    return MODELS.build(dict(type=kind, backbone=backbone(), cls_head=dict(
        type='TimeSformerHead', num_classes=num_classes, in_channels=48)))


@pytest.fixture
def k400_file(tmp_path) -> str:
    torch.manual_seed(0)
    path = str(tmp_path / 'k400.pth')
    torch.save({'model': RefViT(num_classes=400).state_dict(), 'epoch': 3}, path)
    return path


@pytest.fixture
def count_conversions():
    with mock.patch('mmaction_ext.checkpoint.convert_once.convert_for_module',
                    wraps=original.convert_for_module) as spy:
        yield spy


def test_runner_hook_then_model_load_converts_once(k400_file, count_conversions):
    """tools/test.py's path: the hook converts, the model's pre-hook sees the mark."""
    from mmengine.runner.checkpoint import _load_checkpoint
    model = build()
    checkpoint = _load_checkpoint(k400_file)
    runner = mock.Mock(model=model, _resume=False, _load_from=k400_file)
    OriginalCheckpointHook().after_load_checkpoint(runner, checkpoint)
    assert conversion_mark(checkpoint['state_dict'])['fresh_heads'] == {'cls_head': [400, 6]}
    _load_checkpoint_to_model(model, checkpoint)
    assert count_conversions.call_count == 1
    assert model.last_load_report.fresh_heads == {'cls_head': (400, 6)}
    assert not hasattr(model, 'load_reports')


@pytest.mark.parametrize('kind', ['ViTRecognizer3D', 'Recognizer3D'])
def test_recognizer_and_backbone_hooks_convert_once(k400_file, count_conversions, kind):
    """load_from / init_cfg Pretrained: the outer hook converts, the backbone's skips;
    inside a stock Recognizer3D only the backbone has a hook, and it converts (its
    original keys under ``backbone.``, as MMEngine hands a backbone its part)."""
    model = build(kind)
    if kind == 'Recognizer3D':
        sd = torch.load(k400_file, weights_only=True)['model']
        torch.save({'state_dict': {'backbone.' + k: v for k, v in sd.items()
                                   if not k.startswith('head.')}}, k400_file)
    load_checkpoint(model, k400_file)
    assert count_conversions.call_count == 1
    converted_by = model if kind == 'ViTRecognizer3D' else model.backbone
    assert converted_by.last_load_report.source_format == 'VideoMAEv2/AMD fine-tuned'
    saved = torch.load(k400_file, weights_only=True)
    key = 'patch_embed.proj.weight'
    expected = saved['model'][key] if 'model' in saved else saved['state_dict'][
        'backbone.' + key]
    assert torch.equal(model.backbone.patch_embed.projection.weight, expected)


def test_pretrained_backbone_converts_once(k400_file, count_conversions):
    model = MODELS.build(backbone(pretrained=k400_file))
    model.init_weights()
    assert count_conversions.call_count == 1
    assert 'a backbone loads no head' in ' '.join(model.last_load_report.dropped)


def test_ema_copy_and_model_share_one_conversion(tmp_path, k400_file, count_conversions):
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(f'''
_base_ = {os.path.join(REPO, 'configs/_base_/ext_runtime.py')!r}
model = dict(type='ViTRecognizer3D', backbone={backbone()!r},
             cls_head=dict(type='TimeSformerHead', num_classes=400, in_channels=48),
             data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW'))
custom_hooks = [dict(type='EMAHook')]
work_dir = {str(tmp_path / 'work')!r}
''')
    runner = Runner.from_cfg(Config.fromfile(str(cfg_file)))
    runner.call_hook('before_run')
    runner.load_checkpoint(k400_file)
    assert count_conversions.call_count == 1
    ema = next(h for h in runner.hooks if type(h).__name__ == 'EMAHook').ema_model.module
    assert torch.equal(ema.cls_head.fc_cls.weight, runner.model.cls_head.fc_cls.weight)


def test_a_native_file_is_not_converted(tmp_path, count_conversions):
    model = build()
    path = tmp_path / 'native.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    load_checkpoint_into(build(), str(path), complete=True)
    assert count_conversions.call_count == 0


def test_the_mark_is_plain_data_and_local_to_this_process(k400_file):
    """Saved and read back by another process, a marked dict counts as unconverted."""
    from mmaction_ext.checkpoint.convert_once import MARK, convert_once
    model = build()
    sd, _ = convert_once(torch.load(k400_file, weights_only=True), model)
    mark = dict(sd._metadata[MARK])
    assert set(mark) >= {'token', 'fresh_heads', 'generated'}
    assert all(isinstance(v, (str, bool, list, dict)) for v in mark.values())
    sd._metadata[MARK] = dict(mark, token='another process')
    assert conversion_mark(sd) is None
