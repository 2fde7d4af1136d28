"""Contract: ``SafeCheckpointHook`` keeps MMEngine ``CheckpointHook``'s promises.

The same tiny Runner training is run with each hook; kept files, ``last_checkpoint``, the
``keep_ckpt_ids`` each checkpoint stores and a resume must agree. Intended difference
(named below): the oldest kept checkpoint is removed after the new one is written, not
before (tests/test_engine/test_crash_safety.py shows the crash it prevents).
"""
from __future__ import annotations

import os

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from mmaction_ext.checkpoint import safe_torch_load


class _Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='loss'):
        out = self.linear(torch.stack(inputs) if isinstance(inputs, list) else inputs)
        if mode == 'loss':
            return dict(loss=((out - 1) ** 2).mean())
        return out


class _Data(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(inputs=torch.full((2,), float(i)))


def _run(hook_type, work_dir, max_iters, resume=False, **hook_kw):
    runner = Runner(
        model=_Toy(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=_Data(), sampler=dict(type='DefaultSampler',
                                                            shuffle=False),
                              batch_size=2, num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type=hook_type, interval=1, by_epoch=False,
                                           **hook_kw), logger=None),
        resume=resume, default_scope='mmaction', env_cfg=dict(dist_cfg=dict(backend='gloo')),
        log_level='WARNING', experiment_name=f'{hook_type}-{max_iters}-{resume}')
    runner.train()
    return runner


def _observe(work_dir):
    files = sorted(p for p in os.listdir(work_dir) if p.endswith('.pth'))
    saved = {p: safe_torch_load(os.path.join(work_dir, p))['message_hub']['runtime_info']
             .get('keep_ckpt_ids') for p in files}
    marker = open(os.path.join(work_dir, 'last_checkpoint')).read()
    return files, saved, os.path.basename(marker)


@pytest.mark.parametrize('keep', [1, 2, -1])
def test_same_files_ids_and_marker_as_checkpoint_hook(tmp_path, keep):
    results = {}
    for hook in ('CheckpointHook', 'SafeCheckpointHook'):
        _run(hook, tmp_path / hook, 4, max_keep_ckpts=keep)
        results[hook] = _observe(tmp_path / hook)
    assert results['SafeCheckpointHook'] == results['CheckpointHook']
    files, saved, marker = results['CheckpointHook']
    assert marker == 'iter_4.pth'
    if keep > 0:  # the stock promise, spelled out: at most `keep` ids, the newest last
        assert saved['iter_4.pth'] == list(range(4 - keep + 1, 5))
        assert len(files) == keep


@pytest.mark.slow  # a subprocess or a whole run: over 5 s
def test_resume_continues_the_kept_list(tmp_path):
    results = {}
    for hook in ('CheckpointHook', 'SafeCheckpointHook'):
        _run(hook, tmp_path / hook, 3, max_keep_ckpts=2)
        runner = _run(hook, tmp_path / hook, 5, resume=True, max_keep_ckpts=2)
        assert runner.iter == 5
        results[hook] = _observe(tmp_path / hook)
    assert results['SafeCheckpointHook'] == results['CheckpointHook']
    assert results['CheckpointHook'][1]['iter_5.pth'] == [4, 5]


def test_intended_difference_old_checkpoint_removed_after_the_new_one_is_written(tmp_path):
    """While iter_2 is being written, stock has already deleted iter_1; ours still has it."""
    seen = {}
    for hook in ('CheckpointHook', 'SafeCheckpointHook'):
        import mmengine.runner.checkpoint as ckpt_mod
        original = ckpt_mod.save_checkpoint
        present = []

        def spy(checkpoint, filename, *a, _present=present, _original=original, **kw):
            _present.append(sorted(p for p in os.listdir(os.path.dirname(filename))
                                   if p.endswith('.pth')))
            return _original(checkpoint, filename, *a, **kw)

        import mmengine.runner.runner as runner_mod
        runner_mod.save_checkpoint = spy
        try:
            _run(hook, tmp_path / hook, 2, max_keep_ckpts=1)
        finally:
            runner_mod.save_checkpoint = original
        seen[hook] = present
    assert seen['CheckpointHook'] == [[], []]  # nothing on disk while iter_2 is written
    assert seen['SafeCheckpointHook'] == [[], ['iter_1.pth']]
