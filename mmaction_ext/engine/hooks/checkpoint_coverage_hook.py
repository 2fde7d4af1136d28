"""Refuse to evaluate a model whose weights did not all come from the checkpoint.

A checkpoint whose head has another class count (a fresh random head is built), a
backbone-only file, or any file that lacks some of the model's tensors (loaded with
MMEngine's default ``strict=False``) would otherwise be evaluated with random weights
and print plausible metrics with exit status 0.
"""
from __future__ import annotations

import os
import re

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

ALLOW_ENV = 'MMACTION_EXT_ALLOW_PARTIAL_CHECKPOINT'
RESULT_KEY = 'PARTIAL_CHECKPOINT'


class PartialCheckpointError(RuntimeError):
    """Some weights of the evaluated model were not read from the checkpoint."""


def _allowed_by_env() -> bool:
    return os.environ.get(ALLOW_ENV, '').strip().lower() in ('1', 'true', 'yes')


@HOOKS.register_module()
class CheckpointCoverageHook(Hook):
    """Before testing, check that every tensor of the model was read from the file.

    A load pre-hook on every submodule, registered after the model's own (so it sees the
    converted names), notes each parameter/persistent buffer the state dict lacks or has
    in another shape (MMEngine's default ``strict=False`` keeps the random initial value
    for both); the original-checkpoint converter records the heads it renewed
    (``LoadReport.fresh_heads``). Generated fixed sinusoid tables and resampled position
    tables are not random and pass.

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
        for module in model.modules():
            if isinstance(getattr(module, 'load_reports', None), list):
                module.load_reports = []
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
        self.problems = self.check(runner)
        if not self.problems:
            return
        text = '; '.join(self.problems)
        if self.allow_partial or _allowed_by_env():
            print_log(f'EVALUATING A PARTIAL CHECKPOINT (allowed explicitly): {text}. '
                      f'The results do not measure a trained model.', logger='current',
                      level=30)
            return
        raise PartialCheckpointError(
            f'refusing to evaluate: not every weight of the model comes from the checkpoint '
            f'({runner._load_from or "no load_from"}): {text}. Evaluate the checkpoint '
            f'this config was trained into, fix num_classes in the config, or, to score '
            f'partly random weights on purpose, pass --allow-partial-checkpoint '
            f'(tools/test.py) or set {ALLOW_ENV}=1.')

    def check(self, runner) -> list[str]:
        """What of the model was not read from the checkpoint, one phrase per cause."""
        loop = getattr(runner, '_train_loop', None)  # runner.iter would build it
        if loop is not None and not isinstance(loop, dict) and loop.iter > 0:
            return []  # trained in this process: every weight was trained
        if not self._loaded:
            return ['no checkpoint was loaded (load_from is not set), so every weight is '
                    'its random initial value']
        fresh = dict(self._converted_fresh)
        for module in self._model(runner).modules():
            for report in getattr(module, 'load_reports', None) or []:
                fresh.update(report.fresh_heads)
        for key, in_file, in_model in self._mismatched:
            if key.endswith('fc_cls.weight'):
                fresh[key.split('.')[0]] = (in_file[0], in_model[0])
        problems = [f'{head}: {in_file} classes in the file, {in_cfg} in the config '
                    f'(a fresh random head)' for head, (in_file, in_cfg) in fresh.items()]
        other = [f'{k}: shape {a} in the file, {b} in the model'
                 for k, a, b in self._mismatched if k.split('.')[0] not in fresh]
        if other:
            problems.append('; '.join(other[:4]) + (' ...' if len(other) > 4 else ''))
        missing = [k for k in self._missing if k.split('.')[0] not in fresh]
        if missing:
            groups = sorted({k.split('.')[0] for k in missing})
            hint = (' (a backbone-only checkpoint?)'
                    if all(g.endswith('head') for g in groups) else '')
            problems.append(f'{len(missing)} tensors are not in the file{hint}: '
                            f'{", ".join(missing[:6])}' + (' ...' if len(missing) > 6 else ''))
        return problems

    def after_test_epoch(self, runner, metrics: dict | None = None) -> None:
        if self.problems and metrics is not None:
            metrics[RESULT_KEY] = '; '.join(self.problems)
