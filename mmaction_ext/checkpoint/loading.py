"""The one way a checkpoint gets into a model: read safely, convert once, check coverage.

    read_checkpoint        MMEngine's scheme resolution (paths, http(s)://, open-mmlab://,
                           s3://, ...), every byte checked and unpickled by the safe
                           loader (:mod:`.remote_load`, :mod:`.safe_load`, :mod:`.integrity`)
    prepare_state_dict     the EMA/raw weights chosen, then :func:`~.convert_once.convert_once`
    load_checkpoint_into   both, ``load_state_dict``, and for evaluation and inference the
                           coverage check (:mod:`.coverage`): every tensor from the file,
                           all finite, else an error naming the file, keys and remedy

Entry points that are not MMEngine's Runner call :func:`load_checkpoint_into`
(``VideoInferencer``, backbone ``pretrained=``, ``tools/convert_checkpoint.py`` through
the first two steps). The Runner's paths (``load_from``, ``tools/test.py``, ``--resume``)
and MMEngine's ``init_cfg=Pretrained`` / ``load_checkpoint`` reach the same steps through
MMEngine's own hooks: the read through ``CheckpointLoader``, the conversion through
``OriginalCheckpointHook`` or the model's load pre-hook, the check through
``CheckpointCoverageHook``. docs/checkpoints.md draws the whole path.
"""
from __future__ import annotations

from typing import Any, Mapping

from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader, load_state_dict
from torch import nn

from .convert_once import conversion_mark, convert_once, record_report
from .coverage import require_complete
from .ema import select_weights
from .errors import CheckpointLoadError
from .report import LoadReport


def read_checkpoint(source: str, map_location: Any = 'cpu') -> Any:
    """Read ``source`` (path or any MMEngine URI) through the safe loaders."""
    return CheckpointLoader.load_checkpoint(str(source), map_location=map_location)


def prepare_state_dict(checkpoint: Any, model: nn.Module, source: str = '',
                       weights: str = 'default') -> Mapping:
    """The weights (``'default'``, ``'ema'`` or ``'model'``) of ``checkpoint``, converted
    for ``model`` exactly once (a marked dict passes through)."""
    state_dict, _ = convert_once(select_weights(checkpoint, weights, source), model, source)
    return state_dict


def load_checkpoint_into(model: nn.Module, source: str, *, weights: str = 'default',
                         complete: bool = False, allow_partial: bool = False,
                         strict: bool = False, checkpoint: Any = None,
                         purpose: str = 'run inference') -> Any:
    """Load ``source`` into ``model`` the one way; return the checkpoint as read.

    Args:
        model: the recognizer (or a bare backbone).
        source: a path or URI; named in every error.
        weights: which weights of a file with EMA weights (see :func:`.select_weights`).
        complete: require every tensor from the file and all finite (evaluation and
            inference), else :class:`~.errors.PartialCheckpointError` /
            :class:`~.errors.NonFiniteWeightsError`.
        allow_partial: with ``complete``, accept gaps (never NaN) and log them.
        strict: as ``load_state_dict``'s (initialisation leaves it False: parts a
            pre-training file lacks keep their initial values, as in the originals).
        checkpoint: the already read file (skips the read; ``source`` still names it).
        purpose: what is refused, for the message ('run inference', 'evaluate').
    """
    if checkpoint is None:
        checkpoint = read_checkpoint(source)
    if not isinstance(checkpoint, Mapping):
        raise CheckpointLoadError(
            f'{source}: not a checkpoint dict (got {type(checkpoint).__name__})')
    state_dict = prepare_state_dict(checkpoint, model, source, weights)
    if complete:
        fresh = (conversion_mark(state_dict) or {}).get('fresh_heads') or {}
        problems = require_complete(model.state_dict(), state_dict, source, fresh,
                                    allow_partial, purpose)
        if problems:
            print_log(f'{source}: USING A PARTIAL CHECKPOINT (allowed explicitly): '
                      f'{"; ".join(problems)}', logger='current', level=30)
    # MMEngine's loading (as load_from's): other shapes are logged, not raised, when not
    # strict; the pre-hooks see the convert-once mark and leave the dict alone.
    load_state_dict(model, state_dict, strict=strict)
    return checkpoint


def load_original_checkpoint(module: nn.Module, path: str) -> LoadReport | None:
    """Backbone ``pretrained=``: initialise ``module`` from ``path`` (original or MMEngine
    format, any scheme); returns the conversion report (None if nothing was converted)."""
    module.__dict__.pop('last_load_report', None)
    load_checkpoint_into(module, path)
    return getattr(module, 'last_load_report', None)


__all__ = ['read_checkpoint', 'prepare_state_dict', 'load_checkpoint_into',
           'load_original_checkpoint', 'record_report']
