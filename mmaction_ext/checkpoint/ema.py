"""Choose the EMA (or the raw) weights of a checkpoint that holds both.

Two layouts exist:

- the originals (VideoMAEv2 / AMD / ADH-ViT with ``--model_ema``) save ``model_ema``
  beside ``model``; their evaluation picks one with ``--model_key``;
- MMEngine's ``EMAHook`` swaps before saving: ``state_dict`` then holds the averaged
  weights and ``ema_state_dict`` the raw ones (keys under ``module.``, plus ``steps``).

:func:`select_weights` returns a checkpoint whose main weights are the chosen ones, in
the same layout, so every loader (the converter, ``load_from``, the convert tool)
proceeds unchanged.
"""
from __future__ import annotations

from typing import Any, Mapping

from .safe_load import CheckpointLoadError

WEIGHTS = ('default', 'ema', 'model')


def has_ema(checkpoint: Mapping) -> bool:
    """True for an original file with ``model_ema`` or an MMEngine EMAHook checkpoint."""
    return isinstance(checkpoint.get('model_ema'), Mapping) or (
        isinstance(checkpoint.get('ema_state_dict'), Mapping)
        and isinstance(checkpoint.get('state_dict'), Mapping))


def select_weights(checkpoint: Any, weights: str = 'ema', source: str = '') -> Any:
    """``checkpoint`` with ``weights`` ('ema' | 'model' | 'default') as its main weights.

    'default' returns it unchanged (originals: ``model``; MMEngine+EMAHook: averaged).

    Raises:
        CheckpointLoadError: 'ema' or 'model' asked of a file without EMA weights (names
            the file's top-level keys), or an unknown choice.
    """
    if weights not in WEIGHTS:
        raise CheckpointLoadError(f'unknown weights {weights!r}: use one of {WEIGHTS}')
    if weights == 'default':
        return checkpoint
    where = f'{source}: ' if source else ''
    if not isinstance(checkpoint, Mapping) or not has_ema(checkpoint):
        keys = ', '.join(map(str, list(checkpoint)[:8])) if isinstance(
            checkpoint, Mapping) else type(checkpoint).__name__
        raise CheckpointLoadError(
            f'{where}asked for the {weights!r} weights of a checkpoint without EMA weights '
            f'(neither `model_ema` of the original trainers nor `ema_state_dict` of '
            f"MMEngine's EMAHook; top-level keys: {keys}). Load it without the EMA option.")
    out = {k: v for k, v in checkpoint.items()}
    if 'model_ema' in out and isinstance(out['model_ema'], Mapping):
        ema = out.pop('model_ema')
        if weights == 'ema':
            for wrapper in ('model', 'module', 'state_dict'):
                out.pop(wrapper, None)
            out['model'] = ema
        return out
    raw = out.pop('ema_state_dict')
    if weights == 'model':
        out['state_dict'] = type(out['state_dict'])(
            (k[len('module.'):], v) for k, v in raw.items() if k.startswith('module.'))
    return out
