"""Sharded training (ShardedDataParallel + ShardedRunner, torch FSDP2) on 2 CPU processes.

One torchrun launch of tests/sharded_worker.py runs every scenario (about a minute on 2
cores); the tests compare the checkpoints it wrote:

* single head (ViTRecognizer3D, original-format ``load_from``, with_cp on the sharded side
  only, layer-wise lr decay, gradient clipping, warm-up, 2 accumulated micro-batches per
  step): 6 iterations sharded == DDP;
* dual hand (DualHandRecognizer, AlternatingTrainLoop, mixup per hand, drop path, the idle
  head's gradients released, EMAHook): 6 steps sharded == DDP, EMA weights included;
* the sharded dual-hand run resumed from its mid-epoch checkpoint == the uninterrupted
  sharded run, bit for bit;
* the shipped ViT-g HA-ViD and ViT-L KTH configs, shrunk, train sharded; the ViT-g one's
  checkpoint is tested unsharded by tools/test.py.
"""
from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmaction_ext.checkpoint import safe_torch_load

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
FP32_TOL = 1e-5


@pytest.fixture(scope='module')
def runs(tmp_path_factory) -> tuple[str, str, str]:
    """(output dir, worker log, tiny HA-ViD root) of one 2-process launch."""
    from mmaction_ext.synthetic import make_classification_dataset
    from mmaction_ext.synthetic.havid import make_havid_dataset
    from mmaction_ext.synthetic.kth import make_kth_tree
    root = tmp_path_factory.mktemp('sharded')
    havid, motion, kth, out = (str(root / n) for n in ('havid', 'motion', 'kth', 'out'))
    make_havid_dataset(havid, 'dual_hand', dict(lh=3, rh=4),
                       {'train': {'lh': 2, 'rh': 1}, 'val': {'lh': 1, 'rh': 1}},
                       num_frames=4, size=(64, 64), ext='.avi')
    make_classification_dataset(motion, num_classes=4,
                                videos_per_class={'train': 2, 'val': 1},
                                num_frames=8, size=(32, 32))
    make_kth_tree(kth, persons=[11], scenarios=['d1'], num_frames=8, size=(32, 32),
                  sequences_file=None)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore',
           'PYTHONPATH': os.pathsep.join([REPO, os.path.join(REPO, 'tests')]),
           'MMACTION_EXT_DIST_TIMEOUT': '120'}
    env.pop('CUDA_VISIBLE_DEVICES', None)
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
           f'--master_port={29700 + os.getpid() % 200}',
           os.path.join(REPO, 'tests/sharded_worker.py'), out, havid, motion, kth]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    return out, log, havid


def _load(path: str) -> dict:
    return safe_torch_load(path)  # the project's weights-only loader


def _assert_full_plain(checkpoint: dict) -> None:
    """Saved by rank 0 as ordinary full tensors: no DTensor, no shard."""
    for value in checkpoint['state_dict'].values():
        assert type(value) is torch.Tensor
    for state in checkpoint['optimizer']['state'].values():
        for value in state.values():
            assert type(value) is torch.Tensor


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


def _optimizer_tensors(checkpoint: dict) -> list[torch.Tensor]:
    """exp_avg/exp_avg_sq in parameter order (DDP keys states by index, sharded by name)."""
    optimizer = checkpoint['optimizer']
    order = [p for group in optimizer['param_groups'] for p in group['params']]
    return [optimizer['state'][p][k] for p in order if p in optimizer['state']
            for k in ('exp_avg', 'exp_avg_sq')]


def _compare_with_ddp(out: str, prefix: str) -> None:
    ddp = _load(f'{out}/{prefix}_ddp/iter_6.pth')
    sharded = _load(f'{out}/{prefix}_sharded/iter_6.pth')
    _assert_full_plain(sharded)
    assert sharded['meta']['iter'] == ddp['meta']['iter'] == 6
    assert _max_diff(ddp['state_dict'], sharded['state_dict']) <= FP32_TOL
    early = _load(f'{out}/{prefix}_sharded/iter_3.pth')['state_dict']
    assert _max_diff(early, sharded['state_dict']) > 100 * FP32_TOL  # it did train
    a, b = _optimizer_tensors(ddp), _optimizer_tensors(sharded)
    assert len(a) == len(b) > 0
    assert max((x - y).abs().max().item() for x, y in zip(a, b)) <= FP32_TOL
    if 'ema_state_dict' in ddp:  # EMAHook: 'state_dict' holds the EMA, this the live model
        assert _max_diff(ddp['ema_state_dict'], sharded['ema_state_dict']) <= FP32_TOL
        assert _max_diff(sharded['ema_state_dict'], {
            'module.' + k: v for k, v in sharded['state_dict'].items()} | {
            'steps': sharded['ema_state_dict']['steps']}) > 100 * FP32_TOL
    lrs = [g['lr'] for g in sharded['optimizer']['param_groups']]
    assert lrs == pytest.approx([g['lr'] for g in ddp['optimizer']['param_groups']])
    assert len(set(lrs)) >= 3  # layer-wise lr decay survived sharding


@pytest.mark.slow
def test_single_head_sharded_equals_ddp(runs):
    out, log, _ = runs
    _compare_with_ddp(out, 'single')
    # the original VideoMAEv2-format load_from was converted (and sliced into shards)
    assert len(re.findall(r"cls_head +kept from checkpoint", log)) >= 2
    norms = [float(x) for x in re.findall(r'grad_norm: ([0-9.]+)', log)]
    assert max(norms) > 0.5  # gradient clipping (max_norm 0.5) acted


@pytest.mark.slow
def test_sharded_rank_holds_half_the_states_of_ddp(runs):
    """bench/fsdp_memory.py's count on the trained runs: params + grads + AdamW states."""
    out = runs[0]
    for rank in (0, 1):
        held = {}
        for name in ('ddp', 'sharded'):
            with open(f'{out}/single_{name}/state_bytes_rank{rank}.json') as f:
                held[name] = json.load(f)
        assert held['ddp']['grads'] == held['ddp']['params'] > 0
        # exp_avg, exp_avg_sq, and a 4-byte step count per parameter tensor
        assert 0 <= held['ddp']['optimizer'] - 2 * held['ddp']['params'] <= 4 * 64
        ratio = sum(held['sharded'].values()) / sum(held['ddp'].values())
        assert 0.45 < ratio <= 0.6, ratio


@pytest.mark.slow
def test_dual_hand_alternating_sharded_equals_ddp(runs):
    out, log, _ = runs
    _compare_with_ddp(out, 'dual')
    assert 'hand rh for batches' in log
    assert 'ema_state_dict' in _load(f'{out}/dual_sharded/iter_6.pth')


@pytest.mark.slow
def test_sharded_mid_epoch_resume_is_bit_identical(runs):
    out, log, _ = runs
    assert 'Epoch(train) [1] resuming at batch 4/5 on hand rh' in log
    full = _load(f'{out}/dual_sharded/iter_6.pth')
    resumed = _load(f'{out}/dual_resumed/iter_6.pth')
    for part in ('state_dict', 'ema_state_dict'):
        for key, value in full[part].items():
            assert torch.equal(resumed[part][key], value), (part, key)
    a, b = _optimizer_tensors(full), _optimizer_tensors(resumed)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert resumed['alternation']['next_iter'] == 6


@pytest.mark.slow
def test_shipped_configs_train_sharded_and_test_unsharded(runs, tmp_path):
    out, _, havid = runs
    for path in (f'{out}/cfg_vit_g/iter_5.pth', f'{out}/cfg_vit_l/iter_2.pth'):
        _assert_full_plain(_load(path))
    best = glob.glob(f'{out}/cfg_vit_g/best_hand_acc_mean_top1_iter_*.pth')
    assert len(best) == 1  # saved after the sharded validation
    best_sd = _load(best[0])['state_dict']
    assert best_sd.keys() == _load(f'{out}/cfg_vit_g/iter_5.pth')['state_dict'].keys()
    assert all(type(v) is torch.Tensor for v in best_sd.values())
    config = f'{out}/cfg_vit_g/havid_alternating_vit-g_fsdp.py'
    dumped = Config.fromfile(config)
    assert dumped.model_wrapper_cfg.type == 'ShardedDataParallel'
    assert dumped.model.backbone.with_cp and dumped.model.backbone.arch.patch_size == 14
    # one process, no sharding: the stock test loop on the sharded run's checkpoint
    work = str(tmp_path / 'test')
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', config, f'{out}/cfg_vit_g/iter_5.pth',
         '--work-dir', work, '--verbose', '--cfg-options', f'test_evaluator.out_dir={work}/conf',
         'test_dataloader.dataset.pipeline.1.num_clips=1',
         'test_dataloader.dataset.pipeline.3.type=CenterCrop'],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'})
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert re.search(r'hand_acc/mean_top1\s+[0-9.]+', log)
    assert 'missing keys' not in log and 'unexpected key' not in log
