"""Selecting EMA weights: the originals' ``model_ema`` and MMEngine EMAHook checkpoints.

Loading is done by MMEngine's Runner (what ``load_from`` and ``tools/test.py`` use), with
``OriginalCheckpointHook(weights=...)`` choosing the weights; files are written in the
originals' layout (``model`` + ``model_ema`` + ``args``) and by MMEngine's own EMAHook.
"""
from __future__ import annotations

import argparse
import importlib.util
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import EMAHook
from mmengine.model import ExponentialMovingAverage
from mmengine.runner import Runner
from reference_vit import RefViT

from mmaction_ext.checkpoint import CheckpointLoadError
from mmaction_ext.checkpoint.ema import select_weights

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

CONFIG = '''
_base_ = {base!r}
model = dict(
    type='ViTRecognizer3D',
    backbone=dict(type='MAEVisionTransformer', arch=dict(embed_dims=48, depth=2, num_heads=4),
                  img_size=32, num_frames=4),
    cls_head=dict(type='TimeSformerHead', num_classes=5, in_channels=48),
    data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW'))
work_dir = {work!r}
'''


def _runner(tmp_path, weights: str | None, load_from: str | None = None) -> Runner:
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(CONFIG.format(base=os.path.join(REPO, 'configs/_base_/ext_runtime.py'),
                                      work=str(tmp_path / 'work')))
    cfg = Config.fromfile(str(cfg_file))
    if weights is not None:
        cfg.default_hooks.original_checkpoint.weights = weights   # the config key
    cfg.load_from = load_from
    return Runner.from_cfg(cfg)


def _logits(runner, x):
    model = runner.model.eval()
    with torch.no_grad():
        return model.cls_head(model.backbone(x))


@pytest.fixture()
def original_with_ema(tmp_path):
    torch.manual_seed(0)
    raw, ema = RefViT().eval(), RefViT().eval()
    path = tmp_path / 'checkpoint-best.pth'
    torch.save({'model': raw.state_dict(), 'model_ema': ema.state_dict(), 'epoch': 29,
                'args': argparse.Namespace(model_ema=True, model_key='model|module')}, path)
    return str(path), raw, ema


@pytest.mark.parametrize('weights,which', [(None, 'raw'), ('model', 'raw'), ('ema', 'ema')])
def test_original_model_ema_selected_by_config(tmp_path, original_with_ema, weights, which):
    path, raw, ema = original_with_ema
    runner = _runner(tmp_path, weights)
    runner.load_checkpoint(path)
    x = torch.randn(2, 3, 4, 32, 32)
    expected = (ema if which == 'ema' else raw)(x)
    assert (_logits(runner, x) - expected).abs().max() < 1e-5


def test_mmengine_ema_checkpoint(tmp_path):
    runner = _runner(tmp_path, None)
    model = runner.model
    averaged = {k: v + 0.05 * torch.randn_like(v) if v.is_floating_point() else v
                for k, v in model.state_dict().items()}
    ema = ExponentialMovingAverage(model)
    ema.module.load_state_dict(averaged)
    hook = EMAHook()
    hook.ema_model = ema
    checkpoint = {'meta': {}, 'state_dict': {k: v.clone() for k, v in
                                             model.state_dict().items()}}
    raw = {k: v.clone() for k, v in model.state_dict().items()}
    hook.before_save_checkpoint(None, checkpoint)   # MMEngine's own swap
    path = str(tmp_path / 'epoch_3.pth')
    torch.save(checkpoint, path)
    for weights, expected in (('ema', averaged), ('model', raw), (None, averaged)):
        runner = _runner(tmp_path, weights)
        runner.load_checkpoint(path)
        state = runner.model.state_dict()
        for key in ('backbone.blocks.0.attn.qkv.weight', 'cls_head.fc_cls.weight'):
            assert torch.equal(state[key], expected[key]), (weights, key)


def test_ema_asked_of_a_file_without_ema_is_an_error(tmp_path):
    torch.manual_seed(0)
    path = str(tmp_path / 'no_ema.pth')
    torch.save({'model': RefViT().state_dict(), 'epoch': 1}, path)
    runner = _runner(tmp_path, 'ema', load_from=path)
    with pytest.raises(CheckpointLoadError, match=r'no_ema.pth: asked for the .ema. weights'):
        runner.load_or_resume()
    with pytest.raises(CheckpointLoadError, match='unknown weights'):
        select_weights({}, 'averaged')


def test_test_tool_ema_option(tmp_path):
    spec = importlib.util.spec_from_file_location(
        'ext_test_tool', os.path.join(REPO, 'tools', 'test.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    base = dict(config='c.py', checkpoint='ck.pth', show=False, show_dir=None, dump=None,
                launcher='none', cfg_options=None, work_dir=str(tmp_path),
                allow_partial_checkpoint=False)
    for default_hooks in (dict(original_checkpoint=dict(type='OriginalCheckpointHook')),
                          dict(logger=dict(type='LoggerHook'))):   # a stock config
        cfg = tool.merge_args(Config(dict(default_hooks=default_hooks)),
                              argparse.Namespace(**base, ema=True))
        hook = cfg.default_hooks.original_checkpoint
        assert hook.type == 'OriginalCheckpointHook' and hook.weights == 'ema'
    cfg = tool.merge_args(Config(dict(default_hooks=dict())),
                          argparse.Namespace(**base, ema=False))
    assert 'original_checkpoint' not in cfg.default_hooks


def test_adh_vit_file_into_eps_1e6_layer_norms_warns(tmp_path):
    """load_from of an ADH-ViT file: the log says which eps its weights need."""
    from unittest import mock
    torch.manual_seed(0)
    path = str(tmp_path / 'adh.pth')
    torch.save({'model': RefViT(dual=True, eps=1e-5).state_dict()}, path)
    dual = CONFIG.format(base=os.path.join(REPO, 'configs/_base_/ext_runtime.py'),
                         work=str(tmp_path / 'work')) + """
model = dict(type='DualHandRecognizer',
             backbone=dict(type='MAEVisionTransformer',
                           arch=dict(embed_dims=48, depth=2, num_heads=4), img_size=32,
                           num_frames=4, norm_cfg=dict(type='LN', eps=EPS)),
             lh_head=dict(num_classes=5, in_channels=48),
             rh_head=dict(num_classes=7, in_channels=48))
"""
    for eps, warned in (('1e-6', True), ('1e-5', False)):
        cfg_file = tmp_path / f'dual_{eps}.py'
        cfg_file.write_text(dual.replace('EPS', eps))
        runner = Runner.from_cfg(Config.fromfile(str(cfg_file)))
        with mock.patch('mmaction_ext.checkpoint.arch_checks.print_log') as log:
            runner.load_checkpoint(path)
        texts = ' '.join(str(c.args[0]) for c in log.call_args_list)
        assert ('eps 1e-05' in texts and 'eps=1e-5' in texts) is warned, texts
