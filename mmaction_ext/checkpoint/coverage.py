"""Did every weight come from the file, and is every weight a number?

Evaluation and inference need both: a checkpoint whose head has another class count (a
fresh random head), a backbone-only file, or any file lacking some of the model's tensors
(loaded with MMEngine's default ``strict=False``) would otherwise give plausible scores
from random weights, and one NaN weight makes every score NaN. The phrasing lives here
once; :class:`~mmaction_ext.engine.hooks.CheckpointCoverageHook` (tools/test.py) and
:func:`~.loading.load_checkpoint_into` (``VideoInferencer``, the APIs) both use it.
"""
from __future__ import annotations

from typing import Iterable, List, Mapping, Sequence, Tuple

import torch

from mmaction_ext.utils.env import env_flag

from .errors import NonFiniteWeightsError, PartialCheckpointError

ALLOW_ENV = 'MMACTION_EXT_ALLOW_PARTIAL_CHECKPOINT'

Mismatch = Tuple[str, tuple, tuple]


def partial_allowed_by_env() -> bool:
    return env_flag(ALLOW_ENV)


def describe_gaps(missing: Sequence[str], mismatched: Sequence[Mismatch],
                  fresh: Mapping[str, Tuple[int, int]]) -> List[str]:
    """One phrase per cause: renewed heads, other shapes, tensors the file lacks."""
    fresh = dict(fresh)
    for key, in_file, in_model in mismatched:
        if key.endswith('fc_cls.weight'):
            fresh[key.split('.')[0]] = (in_file[0], in_model[0])
    problems = [f'{head}: {in_file} classes in the file, {in_cfg} in the config '
                f'(a fresh random head)' for head, (in_file, in_cfg) in fresh.items()]
    other = [f'{k}: shape {a} in the file, {b} in the model'
             for k, a, b in mismatched if k.split('.')[0] not in fresh]
    if other:
        problems.append('; '.join(other[:4]) + (' ...' if len(other) > 4 else ''))
    missing = [k for k in missing if k.split('.')[0] not in fresh]
    if missing:
        groups = sorted({k.split('.')[0] for k in missing})
        hint = (' (a backbone-only checkpoint?)'
                if all(g.endswith('head') for g in groups) else '')
        problems.append(f'{len(missing)} tensors are not in the file{hint}: '
                        f'{", ".join(missing[:6])}' + (' ...' if len(missing) > 6 else ''))
    return problems


def gaps(target: Mapping[str, torch.Tensor], state_dict: Mapping,
         fresh: Mapping[str, Tuple[int, int]] | None = None) -> List[str]:
    """:func:`describe_gaps` of ``state_dict`` against a model's ``state_dict()``."""
    missing, mismatched = [], []
    for key, tensor in target.items():
        if key.endswith('num_batches_tracked'):
            continue
        value = state_dict.get(key)
        if value is None:
            missing.append(key)
        elif hasattr(value, 'shape') and tuple(value.shape) != tuple(tensor.shape):
            mismatched.append((key, tuple(value.shape), tuple(tensor.shape)))
    return describe_gaps(missing, mismatched, fresh or {})


def nonfinite_keys(tensors: Mapping | Iterable[Tuple[str, torch.Tensor]]) -> List[str]:
    """Names of floating-point tensors holding NaN or +-inf."""
    items = tensors.items() if isinstance(tensors, Mapping) else tensors
    return [k for k, v in items if torch.is_tensor(v) and v.is_floating_point()
            and not bool(torch.isfinite(v).all())]


def nonfinite_error(keys: Sequence[str], source: str) -> NonFiniteWeightsError:
    shown = ', '.join(keys[:6]) + (f' ... ({len(keys)} tensors)' if len(keys) > 6 else '')
    return NonFiniteWeightsError(
        f'{source}: weights with NaN or infinite values: {shown}. Every score computed '
        f'with them would be NaN. The run that saved it diverged, or the file was altered: '
        f'use an earlier checkpoint of the run (or fix the training and train again).')


def partial_error(problems: Sequence[str], source: str, what: str = 'evaluate',
                  opt_in: str = '') -> PartialCheckpointError:
    opt_in = opt_in or f'set {ALLOW_ENV}=1'
    return PartialCheckpointError(
        f'refusing to {what}: not every weight of the model comes from the checkpoint '
        f'({source}): {"; ".join(problems)}. Use the checkpoint this config was trained '
        f'into, fix num_classes in the config, or, to use partly random weights on '
        f'purpose, {opt_in}.')


def require_complete(target: Mapping[str, torch.Tensor], state_dict: Mapping, source: str,
                     fresh: Mapping[str, Tuple[int, int]] | None = None,
                     allow_partial: bool = False, what: str = 'run inference') -> List[str]:
    """Raise unless ``state_dict`` gives every tensor of ``target``, all finite.

    Non-finite weights are always refused; gaps pass with ``allow_partial`` (or
    ``MMACTION_EXT_ALLOW_PARTIAL_CHECKPOINT=1``) and are returned, so callers can say so.
    """
    bad = nonfinite_keys((k, state_dict[k]) for k in target if k in state_dict)
    if bad:
        raise nonfinite_error(bad, source)
    problems = gaps(target, state_dict, fresh)
    if problems and not (allow_partial or partial_allowed_by_env()):
        raise partial_error(problems, source, what)
    return problems


__all__ = ['ALLOW_ENV', 'describe_gaps', 'gaps', 'nonfinite_keys', 'nonfinite_error',
           'partial_error', 'require_complete', 'partial_allowed_by_env',
           'PartialCheckpointError', 'NonFiniteWeightsError']
