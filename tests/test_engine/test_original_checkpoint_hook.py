"""EMA + ``load_from=ORIGINAL.pth``: the EMA copy starts from the loaded original weights."""
from __future__ import annotations

import os

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from reference_vit import RefViT

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

CONFIG = '''
_base_ = {base!r}
model = dict(
    type='ViTRecognizer3D',
    backbone=dict(type='MAEVisionTransformer', arch=dict(embed_dims=48, depth=2, num_heads=4),
                  img_size=64, num_frames=8),
    cls_head=dict(type='TimeSformerHead', num_classes=4, in_channels=48),
    data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW'))
custom_hooks = [dict(type='EMAHook')]   # replaces any custom_hooks list, as users do
work_dir = {work!r}
'''


def _runner(tmp_path, without_hook: bool = False) -> Runner:
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(CONFIG.format(base=os.path.join(REPO, 'configs/_base_/ext_runtime.py'),
                                      work=str(tmp_path / 'work')))
    cfg = Config.fromfile(str(cfg_file))
    if without_hook:
        cfg.default_hooks.pop('original_checkpoint')
    runner = Runner.from_cfg(cfg)
    runner.call_hook('before_run')  # EMAHook builds its averaged copy here
    return runner


@pytest.fixture()
def original_checkpoint(tmp_path) -> tuple[str, RefViT]:
    torch.manual_seed(0)
    ref = RefViT(frames=8, size=64, num_classes=4)
    path = tmp_path / 'vit_tiny_ft.pth'
    torch.save({'model': ref.state_dict(), 'epoch': 29}, path)
    return str(path), ref


def test_stock_ema_hook_cannot_read_an_original_file(tmp_path, original_checkpoint):
    runner = _runner(tmp_path, without_hook=True)
    with pytest.raises(KeyError, match='state_dict'):
        runner.load_checkpoint(original_checkpoint[0])


def test_ema_copy_and_model_both_get_the_original_weights(tmp_path, original_checkpoint):
    path, ref = original_checkpoint
    runner = _runner(tmp_path)
    runner.load_checkpoint(path)
    ema = next(h for h in runner.hooks if type(h).__name__ == 'EMAHook').ema_model.module
    expected = {'backbone.patch_embed.projection.weight': ref.state_dict()[
                    'patch_embed.proj.weight'],
                'cls_head.fc_cls.weight': ref.state_dict()['head.weight'],
                'backbone.blocks.1.mlp.layers.1.weight': ref.state_dict()[
                    'blocks.1.mlp.fc2.weight']}
    for module in (runner.model, ema):
        state = module.state_dict()
        for key, value in expected.items():
            assert torch.equal(state[key], value), key
