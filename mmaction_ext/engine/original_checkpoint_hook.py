"""Give an original-format checkpoint MMEngine's layout as soon as it is loaded."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from mmaction_ext.checkpoint.original import convert_for_module, record_report


@HOOKS.register_module()
class OriginalCheckpointHook(Hook):
    """Convert a VideoMAEv2 / AMD / ADH-ViT file in place before other hooks read it.

    The model converts original files itself when their weights are loaded, but hooks
    run first: MMEngine's ``EMAHook.after_load_checkpoint`` reads
    ``checkpoint['state_dict']``, which an original file (wrapped in ``model`` or
    ``module``) does not have, and fails with a KeyError. Running before them
    (priority VERY_HIGH), this hook puts the converted weights under ``state_dict``, so
    EMA starts from the loaded weights and the model then loads them as native keys.
    Only models with the original-checkpoint load hook (``ViTRecognizer3D``,
    ``DualHandRecognizer``) are touched.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'state_dict' in checkpoint:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not getattr(model, '_original_checkpoint_hook', False):
            return
        converted, report = convert_for_module(checkpoint, model)
        checkpoint.clear()
        checkpoint['state_dict'] = converted
        record_report(model, report)
        print_log(report.format(f'checkpoint into {type(model).__name__}'), logger='current')
