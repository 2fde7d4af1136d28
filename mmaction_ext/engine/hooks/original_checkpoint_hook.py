"""Give an original-format checkpoint MMEngine's layout as soon as it is loaded."""
from __future__ import annotations

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmaction_ext.checkpoint.ema import WEIGHTS, select_weights
from mmaction_ext.checkpoint.loading import prepare_state_dict


@HOOKS.register_module()
class OriginalCheckpointHook(Hook):
    """Convert a VideoMAEv2 / AMD / ADH-ViT file in place before other hooks read it.

    The model converts original files itself when their weights are loaded, but hooks
    run first: MMEngine's ``EMAHook.after_load_checkpoint`` reads
    ``checkpoint['state_dict']``, which an original file (wrapped in ``model`` or
    ``module``) does not have, and fails with a KeyError. Running before them
    (priority VERY_HIGH), this hook puts the converted weights under ``state_dict``
    (:func:`~mmaction_ext.checkpoint.loading.prepare_state_dict`, the one conversion
    step); they carry the convert-once mark, so neither EMA's copy nor the model
    converts them again. Only models with the original-checkpoint load hook
    (``ViTRecognizer3D``, ``DualHandRecognizer``) are touched.

    Args:
        weights (str): which weights ``load_from`` (and ``tools/test.py``) load from a
            file with EMA weights: 'default' (as stored: the originals' ``model``,
            MMEngine's averaged ``state_dict``), 'ema' (the originals' ``model_ema``;
            MMEngine's averaged weights, refused if the file has none) or 'model' (the
            raw weights). ``--resume`` always restores both as saved.
    """

    priority = 'VERY_HIGH'

    def __init__(self, weights: str = 'default') -> None:
        if weights not in WEIGHTS:
            raise ValueError(f'OriginalCheckpointHook: weights={weights!r}; use one of '
                             f'{WEIGHTS}')
        self.weights = weights

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.weights != 'default' and not runner._resume:
            chosen = select_weights(checkpoint, self.weights,
                                    source=str(getattr(runner, '_load_from', '') or ''))
            checkpoint.clear()
            checkpoint.update(chosen)
            print_log(f'loading the {self.weights!r} weights of the checkpoint',
                      logger='current')
        if 'state_dict' in checkpoint:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not getattr(model, '_original_checkpoint_hook', False):
            return
        source = str(getattr(runner, '_load_from', '') or '')
        converted = prepare_state_dict(checkpoint, model, source)
        checkpoint.clear()
        checkpoint['state_dict'] = converted
