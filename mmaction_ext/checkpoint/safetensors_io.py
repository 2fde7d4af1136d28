"""Model weights as safetensors, with the model config and class names as metadata.

A safetensors file holds only tensors and a ``str -> str`` header, so it cannot run code
when loaded and other tools (transformers, timm, ONNX converters) read it directly.
The project keeps its checkpoint ``meta`` (model config, ``dataset_meta`` with the
class names, where the weights came from) as JSON under the header key ``mmaction_ext``;
:func:`load_safetensors` gives back the MMEngine layout ``dict(state_dict=, meta=)``.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterable, Mapping

import torch
from torch import Tensor

from mmaction_ext.fileio import atomic_write_bytes

from .errors import CheckpointLoadError

META_KEY = 'mmaction_ext'


def safetensors_bytes(state_dict: Mapping[str, Tensor], meta: Mapping[str, Any]) -> bytes:
    """The file's bytes; tensors are copied to contiguous CPU memory (shared ones too)."""
    from safetensors.torch import save
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()
               if torch.is_tensor(v)}
    skipped = [k for k, v in state_dict.items() if not torch.is_tensor(v)]
    if skipped:
        raise ValueError(f'safetensors holds tensors only; not tensors: {skipped[:5]}')
    header = {'format': 'pt', META_KEY: json.dumps(meta, default=str)}
    return save(tensors, metadata=header)


def save_safetensors(state_dict: Mapping[str, Tensor], path: str,
                     meta: Mapping[str, Any] | None = None, inputs: Iterable = ()) -> None:
    """Write ``state_dict`` (+ ``meta``) to ``path`` through the project's atomic writer
    (which refuses to replace any of ``inputs``)."""
    atomic_write_bytes(safetensors_bytes(state_dict, dict(meta or {})), path, inputs=inputs)


def read_safetensors_meta(path: str) -> Dict[str, Any] | None:
    """The project's metadata of ``path``, or None for a safetensors file from elsewhere."""
    from safetensors import safe_open
    try:
        with safe_open(path, framework='pt') as f:
            header = f.metadata() or {}
    except Exception as err:  # noqa: BLE001 - safetensors raises its own error types
        raise CheckpointLoadError(f'{path!r} is not a readable safetensors file '
                                  f'({type(err).__name__}: {err})') from err
    if META_KEY not in header:
        return None
    try:
        return json.loads(header[META_KEY])
    except json.JSONDecodeError as err:
        raise CheckpointLoadError(f'{path!r}: its {META_KEY!r} metadata is not JSON '
                                  f'({err})') from err


def load_safetensors(path: str) -> Dict[str, Any]:
    """``dict(state_dict=, meta=)`` as MMEngine checkpoints have it (meta {} if none)."""
    from safetensors.torch import load_file
    meta = read_safetensors_meta(path)
    try:
        state_dict = load_file(path, device='cpu')
    except Exception as err:  # noqa: BLE001
        raise CheckpointLoadError(f'{path!r} is not a readable safetensors file '
                                  f'({type(err).__name__}: {err})') from err
    return dict(state_dict=dict(state_dict), meta=meta or {})
