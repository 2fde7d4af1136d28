"""AlternatingTrainLoop end to end: exact resume after a kill, 2-process DDP lockstep."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from mmaction.registry import HOOKS
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
NUM_CLASSES = dict(lh=3, rh=4)


# tiny_havid (lh: 6 training clips, rh: 4; batch 2: 3 + 2 batches per epoch): conftest.py


def tiny_config(data_root: str, work_dir: str, max_epochs: int = 2, **extra) -> dict:
    pipeline = [dict(type='DecordInit'),
                dict(type='SampleFrames', clip_len=4, num_clips=1, test_mode=True),
                dict(type='DecordDecode'), dict(type='Resize', scale=(32, 32), keep_ratio=False),
                dict(type='FormatShape', input_format='NCTHW'), dict(type='PackActionInputs')]
    dataset = dict(type='HAViDDataset', data_root=data_root, num_classes=NUM_CLASSES,
                   pipeline=pipeline)
    cfg = dict(
        _base_=os.path.join(REPO, 'configs/_base_/ext_runtime.py'),
        work_dir=work_dir,
        model=dict(
            type='DualHandRecognizer',
            backbone=dict(type='VisionTransformer', img_size=32, patch_size=16, embed_dims=32,
                          depth=1, num_heads=2, num_frames=4, tubelet_size=2,
                          norm_cfg=dict(type='LN', eps=1e-6), drop_path_rate=0.2),
            lh_head=dict(num_classes=3, in_channels=32),
            rh_head=dict(num_classes=4, in_channels=32),
            data_preprocessor=dict(
                type='ActionDataPreprocessor', format_shape='NCTHW', mean=[114.75] * 3,
                std=[57.4] * 3,
                blending=dict(type='HandAwareBlending', num_classes=NUM_CLASSES,
                              blending=dict(type='MixupBlending', alpha=0.4)))),
        train_dataloader=dict(
            batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
            batch_sampler=dict(type='AlternatingHandBatchSampler', switch_every=2),
            dataset=dict(dataset, split='train')),
        train_cfg=dict(type='AlternatingTrainLoop', max_epochs=max_epochs, val_interval=100),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-2, weight_decay=0.05),
                           clip_grad=dict(max_norm=1.0)),
        param_scheduler=[dict(type='LinearLR', start_factor=0.2, by_epoch=False, begin=0,
                              end=4),
                         dict(type='CosineAnnealingLR', T_max=1, by_epoch=True, begin=1,
                              end=2, convert_to_iter_based=True)],
        default_hooks=dict(logger=dict(interval=1),
                           checkpoint=dict(by_epoch=False, interval=3, save_last=False)),
        custom_hooks=[dict(type='HandTraceHook')],
        randomness=dict(seed=0),
        experiment_name=os.path.basename(work_dir))
    cfg.update(extra)
    return cfg


class SimulatedKill(RuntimeError):
    pass


@HOOKS.register_module(force=True)
class KillAtIterHook(Hook):
    """Die after iteration ``at`` (after later checkpoints were written)."""

    priority = 'LOWEST'

    def __init__(self, at: int) -> None:
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.at:
            raise SimulatedKill(f'killed after iteration {self.at}')


def _run(cfg: dict, resume_from: str | None = None) -> Runner:
    config = Config(cfg) if '_base_' not in cfg else _from_dict(cfg)
    if resume_from:
        config.resume, config.load_from = True, resume_from
    runner = Runner.from_cfg(config)
    runner.train()
    return runner


def _from_dict(cfg: dict) -> Config:
    path = os.path.join(cfg['work_dir'] + '_cfg.py')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        for key, value in cfg.items():
            f.write(f'{key} = {value!r}\n')
    return Config.fromfile(path)


def _trace(work_dir: str, rank: int = 0) -> list[tuple[int, str, str]]:
    with open(os.path.join(work_dir, f'hand_trace_rank{rank}.txt')) as f:
        return [tuple(line.split()) for line in f]


@pytest.mark.slow
@pytest.mark.parametrize('interval', [3, 5])
def test_killed_run_resumes_exactly(tiny_havid, tmp_path, interval):
    """10 iterations in one go == killed after 7 then resumed from the last checkpoint:
    iteration 6 (mid-epoch, inside a block of left-hand batches) or 5 (an epoch's last
    batch, saved before the epoch-end hooks ran)."""
    full_cfg = tiny_config(tiny_havid, str(tmp_path / 'full'))
    full_cfg['default_hooks']['checkpoint']['interval'] = interval
    full = _run(full_cfg)
    assert full.iter == 10 and full.epoch == 2
    killed_dir = str(tmp_path / 'killed')
    cfg = tiny_config(tiny_havid, killed_dir,
                      custom_hooks=[dict(type='HandTraceHook'), dict(type='KillAtIterHook', at=7)])
    cfg['default_hooks']['checkpoint']['interval'] = interval
    with pytest.raises(SimulatedKill):
        _run(cfg)
    saved = 7 // interval * interval
    ckpt = os.path.join(killed_dir, f'iter_{saved}.pth')
    state = torch.load(ckpt, weights_only=False)
    assert state['meta']['iter'] == saved and state['alternation']['next_iter'] == saved
    resumed_cfg = tiny_config(tiny_havid, killed_dir)
    resumed_cfg['default_hooks']['checkpoint']['interval'] = interval
    resumed = _run(resumed_cfg, resume_from=ckpt)
    assert resumed.iter == 10
    trace_full, trace_resumed = _trace(str(tmp_path / 'full')), _trace(killed_dir)
    # (0-based) the killed run did iterations 0-6, the resumed run saved..9: nothing else
    # is replayed or skipped
    assert [t[0] for t in trace_resumed] == [str(i) for i in range(0, 7)] + \
        [str(i) for i in range(saved, 10)]
    assert trace_resumed[:saved] + trace_resumed[7:] == trace_full
    if saved == 6:
        assert trace_full[5][1] == trace_full[6][1] == 'lh'  # resumed mid-alternation
    for key, value in full.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[key], value), key


@pytest.mark.slow
def test_each_epoch_reshuffles_and_routes_by_hand(tiny_havid, tmp_path):
    runner = _run(tiny_config(tiny_havid, str(tmp_path / 'w'), max_epochs=3))
    trace = _trace(str(tmp_path / 'w'))
    hands = [t[1] for t in trace]
    assert hands == ['lh', 'lh', 'rh', 'rh', 'lh'] * 3
    epochs = [[t[2] for t in trace[e * 5:(e + 1) * 5]] for e in range(3)]
    lh_orders = [[ids for ids, h in zip(ep, hands) if h == 'lh'] for ep in epochs]
    assert len({tuple(o) for o in lh_orders}) == 3, 'left-hand data not reshuffled'
    assert runner.train_loop.hand_sampler.epoch == 2


def _ddp_env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    env.pop('CUDA_VISIBLE_DEVICES', None)
    return env


@pytest.mark.slow
@pytest.mark.parametrize('idle_zero', [True, False])
def test_two_process_ddp_ranks_stay_on_the_same_hand(tiny_havid, tmp_path, idle_zero):
    work_dir = str(tmp_path / 'ddp')
    cfg = tiny_config(tiny_havid, work_dir, max_epochs=1)
    cfg['train_cfg'] = dict(type='AlternatingTrainLoop', max_iters=6, val_interval=100)
    cfg['train_dataloader']['batch_size'] = 1
    cfg['model']['idle_head_zero_loss'] = idle_zero
    cfg['default_hooks']['checkpoint'] = dict(by_epoch=False, interval=100)
    cfg_path = _from_dict(cfg).filename
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
           '--master_port', str(29500 + os.getpid() % 1000 + (0 if idle_zero else 1)),
           os.path.join(REPO, 'tools/train.py'), cfg_path, '--launcher', 'pytorch']
    proc = subprocess.run(cmd, env=_ddp_env(), capture_output=True, text=True, timeout=300)
    if not idle_zero:
        # without the idle head's zero loss, DDP (find_unused_parameters=False) refuses
        assert proc.returncode != 0
        assert 'find_unused_parameters' in proc.stdout + proc.stderr
        return
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ranks = [_trace(work_dir, r) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == 6
    for (i0, h0, ids0), (i1, h1, ids1) in zip(*ranks):
        assert i0 == i1 and h0 == h1, f'ranks on different hands at iteration {i0}'
        assert ids0 != ids1, f'both ranks trained on the same sample at iteration {i0}'
    # 6 lh + 4 rh clips, global batch 2: lh lh rh rh lh per epoch, then epoch 2 begins
    assert [t[1] for t in ranks[0]] == ['lh', 'lh', 'rh', 'rh', 'lh', 'lh']


@HOOKS.register_module(force=True)
class HeadSnapshotHook(Hook):
    """Keep (hand, lh_head weight, rh_head weight) after every training iteration."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.snapshots: list = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        model = runner.model
        self.snapshots.append((data_batch['data_samples'][0].metainfo['hand'],
                               model.lh_head.fc_cls.weight.detach().clone(),
                               model.rh_head.fc_cls.weight.detach().clone()))


@pytest.mark.slow
def test_accumulation_layer_decay_and_ema_leave_the_idle_head_alone(tiny_havid, tmp_path):
    """Every optimizer step (2 accumulated batches of one hand) moves only that hand's head:
    AdamW momentum and weight decay must not touch the idle one."""
    cfg = tiny_config(tiny_havid, str(tmp_path / 'acc'), max_epochs=2,
                      custom_hooks=[dict(type='HeadSnapshotHook'),
                                    dict(type='EMAHook', momentum=0.01, begin_iter=2)])
    cfg['model']['backbone'] = dict(type='MAEVisionTransformer',
                                    arch=dict(embed_dims=32, depth=2, num_heads=2),
                                    img_size=32, num_frames=4, drop_path_rate=0.1)
    cfg['optim_wrapper'] = dict(
        optimizer=dict(type='AdamW', lr=1e-2, weight_decay=0.5), accumulative_counts=2,
        constructor='LearningRateDecayOptimizerConstructor',
        paramwise_cfg=dict(decay_rate=0.9, decay_type='layer_wise', num_layers=2),
        clip_grad=dict(max_norm=1.0))
    runner = _run(cfg)
    groups = runner.optim_wrapper.optimizer.param_groups
    assert len({g['lr'] for g in groups}) >= 3, 'layer-wise lr decay not applied'
    snaps = next(h for h in runner.hooks if isinstance(h, HeadSnapshotHook)).snapshots
    # schedule lh lh rh rh lh | lh lh rh rh lh; steps after iterations 1, 3, 5, 7, 9
    windows = [(2, 3), (4, 5)]  # windows whose two batches share a hand (after the first)
    for first, last in windows:
        hand = snaps[last][0]
        assert snaps[first][0] == hand
        before = snaps[first - 1]
        idle, active = (2, 1) if hand == 'lh' else (1, 2)
        assert torch.equal(snaps[last][idle], before[idle]), f'idle head moved ({hand} step)'
        assert not torch.equal(snaps[last][active], before[active])
