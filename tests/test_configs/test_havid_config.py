"""configs/havid_alternating.py: the ADH-ViT recipe, buildable, paths overridable."""
from __future__ import annotations

import os

import pytest
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def test_recipe_values_and_overrides():
    cfg = Config.fromfile(os.path.join(REPO, 'configs/havid_alternating.py'))
    cfg.merge_from_dict({'model.backbone.pretrained': '/ckpt/vit_b.pth',
                         'train_dataloader.dataset.data_root': '/data/havid'})
    assert cfg.model.backbone.pretrained == '/ckpt/vit_b.pth'
    assert cfg.train_dataloader.dataset.data_root == '/data/havid'
    assert cfg.model.backbone.arch == 'b' and cfg.model.backbone.drop_path_rate == 0.3
    assert cfg.model.lh_head.num_classes == cfg.model.rh_head.num_classes == 75
    assert cfg.train_cfg.type == 'AlternatingTrainLoop' and cfg.train_cfg.max_epochs == 50
    assert cfg.train_dataloader.batch_sampler.switch_every == 50
    assert cfg.optim_wrapper.paramwise_cfg.decay_rate == 0.9
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.1
    assert cfg.optim_wrapper.clip_grad.max_norm == 5.0
    assert cfg.param_scheduler[0].end == 5 and cfg.auto_scale_lr.base_batch_size == 256
    sample = cfg.train_dataloader.dataset.pipeline[1]
    assert (sample.clip_len, sample.frame_interval) == (16, 4)
    test_sample = cfg.test_dataloader.dataset.pipeline[1]
    test_types = [step.type for step in cfg.test_dataloader.dataset.pipeline]
    assert test_sample.num_clips == 5 and 'ThreeCrop' in test_types
    # the authors flip HA-ViD (configs/havid_alternating_no-flip.py does not)
    per_copy = cfg.train_dataloader.dataset.pipeline[-1].transforms
    assert [t.flip_ratio for t in per_copy if t.type == 'Flip'] == [0.5]
    assert cfg.train_dataloader.batch_size == 4 and cfg.amp_dtype == 'bfloat16'
    assert cfg.train_dataloader.batch_sampler.schedule == 'original'


def test_model_builds_with_per_hand_blending():
    cfg = Config.fromfile(os.path.join(REPO, 'configs/havid_alternating.py'))
    init_default_scope('mmaction')
    cfg.model.backbone.update(arch=dict(embed_dims=32, depth=1, num_heads=2), img_size=32,
                              num_frames=4, pretrained=None)
    cfg.model.lh_head.in_channels = cfg.model.rh_head.in_channels = 32
    model = MODELS.build(cfg.model)
    blending = model.data_preprocessor.blending
    assert {h: b.num_classes for h, b in blending.blendings.items()} == {'lh': 75, 'rh': 75}
    assert model.lh_head.fc_cls.out_features == model.rh_head.fc_cls.out_features == 75


# ---- the whole recipe, shrunk by --cfg-options, through the tools (slow) ----

def _shrink_options(data_root: str, out: str) -> list[str]:
    """ViT-S on 32x32 4-frame clips of the tiny_havid lists, 3 epochs of 3 iterations;
    every recipe step of the config stays in place."""
    opts = [f'data_root={data_root}', 'model.backbone.arch=s', 'model.backbone.img_size=32',
            'model.backbone.num_frames=4', 'model.backbone.pretrained=None',
            'model.lh_head.in_channels=384', 'model.rh_head.in_channels=384',
            'model.lh_head.num_classes=3', 'model.rh_head.num_classes=4',
            'model.data_preprocessor.blending.num_classes.lh=3',
            'model.data_preprocessor.blending.num_classes.rh=4',
            'val_dataloader.dataset.pipeline.2.scale=(-1,32)',
            'val_dataloader.dataset.pipeline.3.crop_size=32',
            'test_dataloader.dataset.pipeline.2.scale=(-1,32)',
            'test_dataloader.dataset.pipeline.3.crop_size=32',
            f'test_evaluator.out_dir={out}/confusion']
    for loader in ('train', 'val', 'test'):
        key = f'{loader}_dataloader'
        opts += [f'{key}.dataset.num_classes.lh=3', f'{key}.dataset.num_classes.rh=4',
                 f'{key}.num_workers=0', f'{key}.persistent_workers=False',
                 f'{key}.dataset.pipeline.1.clip_len=4',
                 f'{key}.dataset.pipeline.1.frame_interval=1']
    train = ['train_dataloader.batch_size=2', 'train_dataloader.batch_sampler.switch_every=2',
             'train_dataloader.dataset.pipeline.3.transforms.0.crop_size=32',
             'train_dataloader.dataset.pipeline.3.transforms.2.scale=(32,32)',
             'train_cfg.max_epochs=3', 'param_scheduler.0.end=1', 'param_scheduler.1.begin=1',
             'param_scheduler.1.end=3', 'param_scheduler.1.T_max=2',
             'default_hooks.logger.interval=1']
    return opts, train


def _tool(name: str, *args: str):
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, os.path.join(REPO, 'tools', name), *args],
                          env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_whole_recipe_trains_and_tests_on_cpu(tiny_havid, tmp_path):
    import glob
    import re
    config = os.path.join(REPO, 'configs/havid_alternating.py')
    opts, train_opts = _shrink_options(tiny_havid, str(tmp_path))
    work = str(tmp_path / 'work')
    proc = _tool('train.py', config, '--work-dir', work, '--seed', '0',
                 '--cfg-options', *opts, *train_opts)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = open(glob.glob(f'{work}/*/*.log')[0]).read()
    # ADH-ViT's epoch: the left list's 3 batches (6 clips / 2), lh first, switch after 2
    for epoch in (1, 2, 3):
        assert f'Epoch(train) [{epoch}][1/3] iter {3 * epoch - 2}: hand lh for batches 1-2' \
            in log
        assert f'Epoch(train) [{epoch}][3/3] iter {3 * epoch}: hand rh for batches 3-3' in log
    assert os.path.isfile(f'{work}/epoch_3.pth')
    assert not glob.glob(f'{work}/best_*.pth')              # no selection on the val list
    proc = _tool('test.py', config, f'{work}/epoch_3.pth', '--work-dir',
                 str(tmp_path / 'test'), '--cfg-options', *opts)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = {m[0]: int(m[1]) for m in re.findall(r'^(lh|rh)\s+(\d+)\s', proc.stdout, re.M)}
    assert rows == {'lh': 3, 'rh': 4}                      # every val clip, by its hand


@pytest.mark.slow
def test_model_selection_variant_selects_on_held_out_training_clips(tiny_havid, tmp_path):
    import glob
    config = os.path.join(REPO, 'configs/havid_alternating_model-selection.py')
    opts, train_opts = _shrink_options(tiny_havid, str(tmp_path))
    work = str(tmp_path / 'work')
    holdout = ['train_dataloader.dataset.holdout_fraction=0.5',
               'val_dataloader.dataset.holdout_fraction=0.5', 'train_cfg.max_epochs=2',
               'param_scheduler.1.end=2', 'param_scheduler.1.T_max=1']
    proc = _tool('train.py', config, '--work-dir', work, '--cfg-options', *opts,
                 *train_opts, *holdout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert len(glob.glob(f'{work}/best_hand_acc_mean_top1_epoch_*.pth')) == 1
    log = open(glob.glob(f'{work}/*/*.log')[0]).read()
    assert 'hand lh for batches 1-1' in log                 # 3 lh training clips left
