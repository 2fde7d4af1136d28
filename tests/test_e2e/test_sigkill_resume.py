"""SIGKILL during a step, a checkpoint write or validation; ``--resume`` finishes the run
with exactly the weights of an uninterrupted one (CPU, num_workers=0, seeded)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest
import torch

from mmaction_ext.checkpoint import safe_torch_load
from mmaction_ext.synthetic.havid import make_havid_dataset

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
pytestmark = pytest.mark.slow

CONFIG = '''
_base_ = {base!r}
data_root = {data!r}
pipeline = [dict(type='DecordInit'),
            dict(type='SampleFrames', clip_len=4, num_clips=1, test_mode=True),
            dict(type='DecordDecode'), dict(type='Resize', scale=(32, 32), keep_ratio=False),
            dict(type='FormatShape', input_format='NCTHW'), dict(type='PackActionInputs')]
dataset = dict(type='HAViDDataset', data_root=data_root, num_classes=dict(lh=3, rh=4),
               pipeline=pipeline)
model = dict(
    type='DualHandRecognizer',
    backbone=dict(type='MAEVisionTransformer', img_size=32, num_frames=4, drop_path_rate=0.2,
                  arch=dict(embed_dims=32, depth=1, num_heads=2)),
    lh_head=dict(num_classes=3, in_channels=32), rh_head=dict(num_classes=4, in_channels=32),
    data_preprocessor=dict(
        type='ActionDataPreprocessor', format_shape='NCTHW', mean=[114.75] * 3, std=[57.4] * 3,
        blending=dict(type='HandAwareBlending', num_classes=dict(lh=3, rh=4),
                      blending=dict(type='MixupBlending', alpha=0.4))))
train_dataloader = dict(
    batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AlternatingHandBatchSampler', switch_every=2),
    dataset=dict(dataset, split='train'))
val_dataloader = dict(batch_size=2, num_workers=0,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(dataset, split='val', test_mode=True))
val_evaluator = dict(type='HandAccMetric', topk=(1,))
val_cfg = dict(type='ValLoop')
train_cfg = dict(type='AlternatingTrainLoop', max_epochs=3, val_interval=1)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-2, weight_decay=0.05),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=3, by_epoch=True,
                        convert_to_iter_based=True)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval=2, max_keep_ckpts=1,
                                     save_last=True, save_best=None))
randomness = dict(seed=0)
'''


@pytest.fixture(scope='module')
def config_file(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp('sigkill')
    data = str(root / 'data')
    make_havid_dataset(data, 'dual_hand', dict(lh=3, rh=4),
                       {'train': {'lh': 2, 'rh': 1}, 'val': {'lh': 1, 'rh': 1}},
                       num_frames=4, size=(64, 64), ext='.avi')
    path = root / 'cfg.py'
    path.write_text(CONFIG.format(base=os.path.join(REPO, 'configs/_base_/ext_runtime.py'),
                                  data=data))
    return str(path)


def _command(config: str, work_dir, *extra: str) -> list[str]:
    return [sys.executable, 'tools/train.py', config, '--work-dir', str(work_dir), *extra]


ENV = {**os.environ, 'PYTHONWARNINGS': 'ignore', 'OMP_NUM_THREADS': '1',
       'PYTHONUNBUFFERED': '1'}


def _final(work_dir) -> tuple[int, dict]:
    """(iteration, model weights) of the run's last checkpoint."""
    last = open(os.path.join(work_dir, 'last_checkpoint')).read().strip()
    state = safe_torch_load(last)
    return state['meta']['iter'], state['state_dict']


def _run_until(config: str, work_dir, trigger: re.Pattern, nth: int) -> str:
    """Start training; SIGKILL it when ``trigger`` has matched ``nth`` log lines."""
    proc = subprocess.Popen(_command(config, work_dir), cwd=REPO, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen, log = 0, []
    for line in proc.stdout:
        log.append(line)
        if trigger.search(line):
            seen += 1
            if seen == nth:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL, ''.join(log[-30:])
    return ''.join(log)


@pytest.fixture(scope='module')
def reference(config_file, tmp_path_factory) -> tuple[int, dict]:
    work = tmp_path_factory.mktemp('reference')
    subprocess.run(_command(config_file, work), cwd=REPO, env=ENV, check=True,
                   capture_output=True, timeout=600)
    return _final(work)


@pytest.mark.parametrize('moment, trigger, nth', [
    ('during a step', r'Epoch\(train\).* lr: ', 3),  # iteration 4, after iter_2.pth
    ('during a checkpoint write', r'Saving checkpoint at \d+ iterations', 2),
    ('during validation', r'Epoch\(val\)', 1),
])
def test_sigkill_then_resume_reaches_the_uninterrupted_weights(
        config_file, reference, tmp_path, moment, trigger, nth):
    _run_until(config_file, tmp_path, re.compile(trigger), nth)
    resumed = subprocess.run(_command(config_file, tmp_path, '--resume'), cwd=REPO, env=ENV,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, (resumed.stdout + resumed.stderr)[-3000:]
    out = resumed.stdout + resumed.stderr
    assert 'latest checkpoint None' not in out  # a checkpoint existed and was resumed
    assert re.search(r'resumed epoch: \d+, iter: [1-9]', out), out[-3000:]
    final_iter, final = _final(tmp_path)
    reference_iter, reference = reference
    assert final_iter == reference_iter
    assert final.keys() == reference.keys()
    for key, value in reference.items():
        assert torch.equal(final[key], value), f'{moment}: {key} differs after resume'
