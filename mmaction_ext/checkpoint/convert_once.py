"""Convert a checkpoint for a model exactly once, and mark the result.

Three places may see a foreign file before the model's weights are set: the Runner's
``OriginalCheckpointHook`` (before ``EMAHook`` reads it), the recognizer's
``load_state_dict`` pre-hook and, inside a stock ``Recognizer3D``, the backbone's. All
call :func:`convert_once`. Its result carries a mark in the state dict's ``_metadata``
(the one attribute that torch, MMEngine's ``_load_checkpoint_to_model`` and ``deepcopy``
keep), so whichever of them comes second leaves the dict alone: a fresh head is never
re-read as "kept", and the report recorded on the model is the first pass's.

The mark holds plain data only (what the coverage check needs: the heads it renewed and
the tensors it generated) and a token of this process, so a marked dict that was saved
and loaded again elsewhere counts as unconverted.
"""
from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any, Dict, Mapping, Tuple

from mmengine.logging import print_log
from torch import nn

from .arch_checks import backbone_prefix, check_layer_norm_eps
from .errors import CheckpointLoadError
from .heads import DEFAULT_INIT_SCALE
from .original import convert_for_module, is_native
from .report import LoadReport

__all__ = ['convert_once', 'conversion_mark', 'install_original_checkpoint_hook',
           'marked', 'record_report', 'DEFAULT_INIT_SCALE']

MARK = 'mmaction_ext.converted'
_TOKEN = uuid.uuid4().hex


def conversion_mark(state_dict: Any) -> Dict[str, Any] | None:
    """The mark :func:`convert_once` left on ``state_dict`` in this process, if any."""
    mark = (getattr(state_dict, '_metadata', None) or {}).get(MARK)
    return mark if isinstance(mark, dict) and mark.get('token') == _TOKEN else None


def _set_mark(state_dict: Any, report: LoadReport | None, module: nn.Module) -> bool:
    mark = dict(token=_TOKEN, model=type(module).__name__, native=report is None,
                source_format=report.source_format if report else 'native',
                fresh_heads={h: list(v) for h, v in (report.fresh_heads if report else {}).items()},
                generated=list(report.generated) if report else [])
    metadata = getattr(state_dict, '_metadata', None)
    try:
        if metadata is None:
            metadata = OrderedDict()
            state_dict._metadata = metadata
        metadata[MARK] = mark
    except (AttributeError, TypeError):  # a plain dict takes no attribute: left unmarked
        return False
    return True


def marked(state_dict: Mapping, report: LoadReport | None, module: nn.Module) -> OrderedDict:
    """A marked copy of an already converted ``state_dict`` (e.g. filtered by a tool), so
    loading it into ``module`` does not convert it a second time."""
    out = OrderedDict(state_dict)
    _set_mark(out, report, module)
    return out


def _weights_of(checkpoint: Mapping) -> Mapping:
    """MMEngine's layout: the weights under ``state_dict``; anything else as it is."""
    sd = checkpoint.get('state_dict')
    return sd if isinstance(sd, Mapping) else checkpoint


def _without_module_prefix(sd: Mapping) -> OrderedDict:
    """What MMEngine's ``revise_keys`` default does (DDP's ``module.``)."""
    out = OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                      for k, v in sd.items())
    if getattr(sd, '_metadata', None) is not None:
        out._metadata = OrderedDict(sd._metadata)
    return out


def convertible(module: nn.Module) -> bool:
    """Whether original ViT checkpoints can be converted into ``module``."""
    try:
        backbone_prefix(module.state_dict())
    except CheckpointLoadError:
        return False
    return True


def convert_once(checkpoint: Mapping[str, Any], module: nn.Module, source: str = '',
                 log: bool = True) -> Tuple[OrderedDict, LoadReport | None]:
    """The weights of ``checkpoint`` in ``module``'s key space, converted at most once.

    Args:
        checkpoint: a loaded file (any wrapper) or a state dict, possibly already marked.
        module: the model (recognizer or bare backbone) that will load the result.
        source: the file or URL, named in errors and in the logged report.
        log: log the report (a tool that prints it itself passes False).

    Returns:
        The state dict (marked) and the conversion's report; the report is None when
        nothing was converted (already marked, native names, or a model original
        checkpoints do not apply to).

    Raises:
        CheckpointLoadError: and its subclasses, with ``source`` in the message.
    """
    if not isinstance(checkpoint, Mapping):
        raise CheckpointLoadError(
            f'{source or "checkpoint"}: a checkpoint must be a dict of tensors (optionally '
            f'under "model", "module" or "state_dict"), got {type(checkpoint).__name__}')
    weights = _weights_of(checkpoint)
    for candidate in (checkpoint, weights):
        if conversion_mark(candidate) is not None:
            return candidate, None
    native = _without_module_prefix(weights)
    if not convertible(module) or is_native(native, module.state_dict()):
        _set_mark(native, None, module)
        return native, None
    try:
        converted, report = convert_for_module(checkpoint, module)
    except CheckpointLoadError as err:
        if source and source not in str(err):
            raise type(err)(f'{source}: {err}') from err
        raise
    if getattr(weights, '_metadata', None) is not None:
        converted._metadata = OrderedDict(weights._metadata)
    _set_mark(converted, report, module)
    record_report(module, report)
    if log:
        print_log(report.format(f'{source or "checkpoint"} into {type(module).__name__}'),
                  logger='current')
    check_layer_norm_eps(module, report, source)
    return converted, report


def record_report(module: nn.Module, report: LoadReport) -> None:
    """Keep the (one) conversion report of the latest load on ``module``."""
    module.last_load_report = report


def _pre_hook(module: nn.Module, state_dict: Dict[str, Any], prefix: str, *args) -> None:
    """Convert the part of ``state_dict`` under ``prefix`` in place, unless marked."""
    if conversion_mark(state_dict) is not None:
        return
    keys = [k for k in state_dict if k.startswith(prefix)]
    sub = OrderedDict((k[len(prefix):], state_dict[k]) for k in keys)
    converted, report = convert_once(sub, module)
    if list(converted) != list(sub) or report is not None:
        for k in keys:
            del state_dict[k]
        for k, v in converted.items():
            state_dict[prefix + k] = v
    _set_mark(state_dict, report, module)


def install_original_checkpoint_hook(model: nn.Module) -> None:
    """Make ``model.load_state_dict`` (hence MMEngine's ``load_from``, ``init_cfg``
    Pretrained, ``load_checkpoint``) accept original VideoMAEv2 / AMD / ADH-ViT
    checkpoints, through :func:`convert_once`. Idempotent."""
    if getattr(model, '_original_checkpoint_hook', False):
        return
    model.register_load_state_dict_pre_hook(_pre_hook)
    model._original_checkpoint_hook = True

