"""Local checkpoint files of every format the project reads, behind MMEngine's local scheme.

Torch checkpoints go through the weights-only loader (:mod:`.safe_load`); safetensors
files through the safetensors package (:mod:`.safetensors_io`); a Hugging Face VideoMAE
/ VideoMAEv2 folder or its weight file is converted to the native recognizer names
(:mod:`.hf_videomae`). Each comes back as MMEngine's ``dict(state_dict=, meta=)`` (a
torch file as it was saved), so ``load_from``, ``init_cfg=Pretrained``, a backbone's
``pretrained`` and the tools all accept them.
"""
from __future__ import annotations

import os
from typing import Any

from .hf_videomae import is_hf_folder, load_hf_checkpoint
from .safe_load import safe_torch_load
from .safetensors_io import load_safetensors, read_safetensors_meta


def hf_checkpoint_dict(path: str) -> dict:
    """An HF folder as an MMEngine checkpoint: converted weights, config and classes in meta."""
    state_dict, model_cfg, classes, fmt = load_hf_checkpoint(path)
    meta = dict(model=model_cfg, source_format=fmt, converted_from=str(path))
    if classes:
        meta['dataset_meta'] = dict(classes=classes)
    return dict(state_dict=state_dict, meta=meta)


def load_any_checkpoint(path: str, map_location: Any = 'cpu') -> Any:
    """Load ``path`` whatever its format (see the module docstring)."""
    path = os.path.expanduser(str(path))
    if path.endswith('.safetensors') and os.path.isfile(path):
        if read_safetensors_meta(path) is not None:  # written by this project
            return load_safetensors(path)
    if is_hf_folder(path):
        return hf_checkpoint_dict(path)
    if path.endswith('.safetensors') and os.path.isfile(path):
        return load_safetensors(path)
    return safe_torch_load(path, map_location)


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """MMEngine's local loader (same name, so its log line reads "by local backend")."""
    return load_any_checkpoint(filename, map_location)
