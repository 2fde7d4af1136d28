"""Refuse to evaluate a model whose weights did not all come from the checkpoint.

A checkpoint whose head has another class count (a fresh random head is built), a
backbone-only file, or any file that lacks some of the model's tensors (loaded with
MMEngine's default ``strict=False``) would otherwise be evaluated with random weights
and print plausible metrics with exit status 0; one NaN weight would print NaN scores.
The checks and their wording are :mod:`mmaction_ext.checkpoint.coverage`'s, shared with
``VideoInferencer``.
"""
from __future__ import annotations

import re

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmaction_ext.checkpoint.convert_once import conversion_mark
from mmaction_ext.checkpoint.coverage import (
    ALLOW_ENV,
    describe_gaps,
    nonfinite_error,
    nonfinite_keys,
    partial_allowed_by_env,
    partial_error,
)
from mmaction_ext.checkpoint.errors import PartialCheckpointError

__all__ = ['CheckpointCoverageHook', 'PartialCheckpointError', 'ALLOW_ENV', 'RESULT_KEY']

RESULT_KEY = 'PARTIAL_CHECKPOINT'


@HOOKS.register_module()
class CheckpointCoverageHook(Hook):
    """Before testing, check that every tensor of the model was read from the file.

    A load pre-hook on every submodule, registered after the model's own (so it sees the
    converted names), notes each parameter/persistent buffer the state dict lacks or has
    in another shape (MMEngine's default ``strict=False`` keeps the random initial value
    for both), and the heads the conversion renewed (the convert-once mark on the state
    dict). Generated fixed sinusoid tables and resampled position tables are not random
    and pass. Before testing, every weight must also be finite (never overridable).

    Args:
        allow_partial: evaluate anyway (or set ``MMACTION_EXT_ALLOW_PARTIAL_CHECKPOINT=1``,
            or ``tools/test.py --allow-partial-checkpoint``); the results then carry a
            ``PARTIAL_CHECKPOINT`` entry saying what was not loaded.
    """

    priority = 'VERY_HIGH'

    def __init__(self, allow_partial: bool = False) -> None:
        self.allow_partial = allow_partial
        self.problems: list[str] = []
        self._loaded = False
        self._missing: list[str] = []
        self._mismatched: list[tuple[str, tuple, tuple]] = []
        self._converted_fresh: dict[str, tuple[int, int]] = {}

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def before_run(self, runner) -> None:
        """Runs before ``load_or_resume``: forget earlier loads, watch the next one."""
        model = self._model(runner)
        if getattr(runner, '_has_loaded', False):  # a second run() of one runner
            return
        self._loaded, self._missing, self._mismatched = False, [], []
        self._converted_fresh = {}
        if getattr(model, '_coverage_hooked', None) is not self:
            for module in model.modules():
                module.register_load_state_dict_pre_hook(self._inspect)
            model._coverage_hooked = self

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """A file written by tools/convert_checkpoint.py says in its meta which heads it built."""
        report = (checkpoint.get('meta') or {}).get('load_report')
        if isinstance(report, str):
            for head, in_file, in_cfg in re.findall(
                    r'(\w+_head)\s+new: checkpoint has (\d+) classes, config (\d+)', report):
                self._converted_fresh[head] = (int(in_file), int(in_cfg))

    def _inspect(self, module, state_dict, prefix, *args) -> None:
        """Compare ``module``'s own tensors with the (already converted) state dict."""
        if prefix == '':
            self._loaded = True
        mark = conversion_mark(state_dict)
        if mark is not None:
            self._converted_fresh.update(
                (head, tuple(counts)) for head, counts in mark['fresh_heads'].items())
        own = dict(module._parameters)
        own.update((k, v) for k, v in module._buffers.items()
                   if k not in module._non_persistent_buffers_set)
        for name, tensor in own.items():
            if tensor is None or name == 'num_batches_tracked':
                continue
            key = prefix + name
            if key not in state_dict:
                self._missing.append(key)
            elif (hasattr(state_dict[key], 'shape')
                  and tuple(state_dict[key].shape) != tuple(tensor.shape)):
                self._mismatched.append((key, tuple(state_dict[key].shape),
                                         tuple(tensor.shape)))

    def before_test(self, runner) -> None:
        if self._loaded and not self._trained(runner):
            bad = nonfinite_keys(self._model(runner).state_dict())
            if bad:
                raise nonfinite_error(bad, str(runner._load_from or 'the checkpoint'))
        self.problems = self.check(runner)
        if not self.problems:
            return
        text = '; '.join(self.problems)
        if self.allow_partial or partial_allowed_by_env():
            print_log(f'EVALUATING A PARTIAL CHECKPOINT (allowed explicitly): {text}. '
                      f'The results do not measure a trained model.', logger='current',
                      level=30)
            return
        raise partial_error(
            self.problems, runner._load_from or 'no load_from',
            opt_in=f'pass --allow-partial-checkpoint (tools/test.py) or set {ALLOW_ENV}=1')

    @staticmethod
    def _trained(runner) -> bool:
        """Trained in this process: every weight was trained, not read."""
        loop = getattr(runner, '_train_loop', None)  # runner.iter would build it
        return loop is not None and not isinstance(loop, dict) and loop.iter > 0

    def check(self, runner) -> list[str]:
        """What of the model was not read from the checkpoint, one phrase per cause."""
        if self._trained(runner):
            return []
        if not self._loaded:
            return ['no checkpoint was loaded (load_from is not set), so every weight is '
                    'its random initial value']
        return describe_gaps(self._missing, self._mismatched, self._converted_fresh)

    def after_test_epoch(self, runner, metrics: dict | None = None) -> None:
        if self.problems and metrics is not None:
            metrics[RESULT_KEY] = '; '.join(self.problems)
