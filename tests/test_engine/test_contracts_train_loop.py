"""Contract: ``AlternatingTrainLoop`` keeps ``EpochBasedTrainLoop``'s counters and hooks.

Both loops train the same toy model on the same hand-alternating dataloader; every hook
call (with ``runner.epoch``, ``runner.iter`` and ``batch_idx``), the validation epochs and
the final counters must be identical. Intended difference (named): ``max_iters`` (the
stock epoch loop has none) stops inside an epoch.
"""
from __future__ import annotations

import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import METRICS
from mmengine.runner import Runner
from mmengine.structures import BaseDataElement
from torch.utils.data import Dataset

HANDS = ['lh'] * 6 + ['rh'] * 4  # batch 2: 3 + 2 batches per epoch


class _HandData(Dataset):
    def __len__(self):
        return len(HANDS)

    def __getitem__(self, i):
        return dict(inputs=torch.full((2,), float(i)),
                    data_samples=BaseDataElement(metainfo=dict(hand=HANDS[i])))

    def hand_indices(self):
        return {h: [i for i, x in enumerate(HANDS) if x == h] for h in ('lh', 'rh')}


class _Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='loss'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=(out ** 2).mean())
        return [BaseDataElement(metainfo=dict(score=float(v))) for v in out]


@METRICS.register_module(force=True)
class _ContractMetric(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results += [1 for _ in data_samples]

    def compute_metrics(self, results):
        return dict(count=len(results))


class _Recorder(Hook):
    priority = 'LOWEST'

    def __init__(self):
        self.events = []

    def _add(self, name, runner, *extra):
        self.events.append((name, runner.epoch, runner.iter, *extra))

    def before_train(self, runner):
        self._add('before_train', runner)

    def before_train_epoch(self, runner):
        self._add('before_train_epoch', runner)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._add('before_train_iter', runner, batch_idx)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._add('after_train_iter', runner, batch_idx)

    def after_train_epoch(self, runner):
        self._add('after_train_epoch', runner)

    def before_val_epoch(self, runner):
        self._add('before_val_epoch', runner)

    def after_train(self, runner):
        self._add('after_train', runner)


def _train(tmp_path, loop: dict):
    recorder = _Recorder()
    loader = dict(dataset=_HandData(), sampler=dict(type='DefaultSampler', shuffle=True),
                  batch_sampler=dict(type='AlternatingHandBatchSampler', switch_every=2),
                  batch_size=2, num_workers=0)
    runner = Runner(
        model=_Toy(), work_dir=str(tmp_path / loop['type']), train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)), train_cfg=loop,
        val_dataloader=dict(loader, batch_sampler=None, sampler=dict(
            type='DefaultSampler', shuffle=False)),
        val_cfg=dict(type='ValLoop'), val_evaluator=dict(type='_ContractMetric'),
        default_hooks=dict(checkpoint=None, logger=None), custom_hooks=[recorder],
        default_scope='mmaction', randomness=dict(seed=0), log_level='WARNING',
        experiment_name=f"{loop['type']}-{tmp_path.name}")
    runner.train()
    return runner, recorder.events


@pytest.mark.parametrize('val_begin,val_interval,val_epochs', [(1, 1, [1, 2, 3]),
                                                                (2, 2, [2, 3])])
def test_same_hook_calls_and_counters(tmp_path, val_begin, val_interval, val_epochs):
    loop = dict(max_epochs=3, val_begin=val_begin, val_interval=val_interval)
    stock, stock_events = _train(tmp_path, dict(loop, type='EpochBasedTrainLoop'))
    ours, our_events = _train(tmp_path, dict(loop, type='AlternatingTrainLoop'))
    assert our_events == stock_events
    per_epoch = len(stock.train_dataloader)
    assert per_epoch == 5
    for runner in (stock, ours):
        assert (runner.epoch, runner.iter, runner.max_epochs) == (3, 15, 3)
        assert runner.max_iters == runner.train_loop.max_iters == 3 * per_epoch
    batch_idx = [e[3] for e in stock_events if e[0] == 'before_train_iter']
    assert batch_idx == list(range(per_epoch)) * 3
    vals = [e[1] for e in stock_events if e[0] == 'before_val_epoch']
    assert vals == val_epochs  # stock rule: every val_interval from val_begin, and the last


def test_intended_difference_max_iters_stops_inside_an_epoch(tmp_path):
    with pytest.raises(TypeError):
        _train(tmp_path, dict(type='EpochBasedTrainLoop', max_iters=7))
    runner, events = _train(tmp_path, dict(type='AlternatingTrainLoop', max_iters=7,
                                           val_interval=100))
    assert runner.iter == 7 and runner.max_iters == 7
    assert sum(e[0] == 'after_train_iter' for e in events) == 7
