"""Fail an evaluation that would not score every dataset sample exactly once, any metric.

Stock metrics (``AccMetric``, ...) average over whatever results they receive: with
``drop_last=True`` or a sampler that drops or repeats indices they report accuracy over
a subset, exit 0. This hook records the dataset index of every scored sample, reproduces
how MMEngine's evaluator gathers and truncates the results (``collect_results``:
interleaved by rank, cut to the dataset length), and raises before the metrics are
computed if that is not each index once. The check itself is
:func:`~mmaction_ext.evaluation.functional.coverage.check_scored_once`, shared with
``HandAccMetric``.
"""
from __future__ import annotations

import os.path as osp

from mmaction.registry import HOOKS
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import Hook

from mmaction_ext.evaluation.functional.coverage import MissingSamplesError, check_scored_once


def expose_sample_idx(dataset) -> bool:
    """Make the packing transform keep ``sample_idx`` (BaseDataset puts it in each info).

    Returns False for datasets without their own pipeline (wrappers such as
    ``ConcatDataset``, whose ``sample_idx`` is not unique); those get a count check.
    """
    pipeline = getattr(dataset, 'pipeline', None)
    found = False
    for transform in getattr(pipeline, 'transforms', []):
        keys = getattr(transform, 'meta_keys', None)
        if isinstance(keys, (tuple, list)):
            if 'sample_idx' not in keys:
                transform.meta_keys = tuple(keys) + ('sample_idx',)
            found = True
    return found


def _sample_idx(sample) -> int | None:
    meta = getattr(sample, 'metainfo', sample if isinstance(sample, dict) else {})
    idx = meta.get('sample_idx')
    return int(idx) if idx is not None else None


def gathered_order(parts: list[list], size: int) -> list:
    """What ``mmengine.dist.collect_results`` hands the metric: rank-interleaved, cut."""
    if len(parts) == 1:
        return list(parts[0])[:size]
    ordered = []
    for res in zip(*parts):
        ordered.extend(res)
    return ordered[:size]


@HOOKS.register_module()
class SampleCoverageHook(Hook):
    """Check every val/test evaluation scores each dataset sample exactly once."""

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._indices: list = []
        self._loader = None
        self._identity = False
        self._checked = True

    def _start(self, loop) -> None:
        self._loader = loop.dataloader
        self._indices = []
        self._identity = expose_sample_idx(loop.dataloader.dataset)
        self._checked = False

    def before_val_epoch(self, runner) -> None:
        self._start(runner.val_loop)

    def before_test_epoch(self, runner) -> None:
        self._start(runner.test_loop)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._collect(batch_idx, outputs, 'val')

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._collect(batch_idx, outputs, 'test')

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._check('val')

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._check('test')

    def _collect(self, batch_idx: int, outputs, mode: str) -> None:
        if self._loader is None:
            return
        self._indices.extend(_sample_idx(s) for s in outputs or [])
        try:
            last = batch_idx + 1 == len(self._loader)
        except TypeError:  # no length: checked after the epoch instead
            last = False
        if last:
            self._check(mode)

    def _check(self, mode: str) -> None:
        """Runs on the last batch, before the evaluator computes anything."""
        if self._checked or self._loader is None:
            return
        self._checked = True
        dataset = self._loader.dataset
        size = len(dataset)
        _, world_size = get_dist_info()
        parts = all_gather_object(self._indices) if world_size > 1 else [self._indices]
        scored = gathered_order(parts, size)
        who = (f'{mode} evaluation of {type(dataset).__name__} ({size} samples, '
               f'{len(scored)} scored)')
        if getattr(self._loader, 'drop_last', False):
            who += f' with {mode}_dataloader.drop_last=True'

        def name(i: int) -> str:
            try:
                info = dataset.get_data_info(i)
            except Exception:  # noqa: BLE001 - naming is best effort
                return str(i)
            path = info.get('filename') or info.get('video_path') or ''
            return f'{i} ({osp.basename(path)})' if path else str(i)

        if self._identity and None not in scored:
            check_scored_once(scored, size, who, name)
        elif len(scored) < size:
            raise MissingSamplesError(
                f'{who}: {size - len(scored)} of {size} samples never scored. Evaluate '
                f'with drop_last=False and a sampler that visits each sample once.')
