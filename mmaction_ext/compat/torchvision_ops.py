"""Let ``import torchvision`` (and so ``import timm``) work on CPU-only torch.

Upstream symptom: with CPU torch 2.13 and the only torchvision 0.28.0 wheel the registry
has (a CUDA build), torchvision's compiled ``_C`` cannot load, and importing torchvision
dies in ``torchvision/_meta_registrations.py`` with
``RuntimeError: operator torchvision::nms does not exist``: the fake-kernel registrations
of ``nms``/``qnms`` are not guarded by ``extension._has_ops()`` as the others are.

Fix: if (and only if) torchvision's ``_C`` library fails to load, declare the schemas of
those two operators so that the unguarded registrations succeed. Calling them then still
fails (no kernel), exactly as every other compiled torchvision op does without ``_C``.
Where ``_C`` loads (CUDA torch with its matching torchvision) nothing is declared.
"""
from __future__ import annotations

import glob
import importlib.util
import os
import sys

import torch

_SCHEMAS = {
    'nms': 'nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor',
    'qnms': 'qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor',
}
_library = None  # keeps the torch.library.Library alive for the process lifetime


def torchvision_extension_loads() -> bool | None:
    """Whether torchvision's compiled ops load; None when torchvision is absent."""
    spec = importlib.util.find_spec('torchvision')
    if spec is None or not spec.submodule_search_locations:
        return None
    libs = glob.glob(os.path.join(spec.submodule_search_locations[0], '_C*.so'))
    if not libs:
        return False
    try:
        torch.ops.load_library(libs[0])
    except (OSError, ImportError, RuntimeError):
        return False
    return True



def _has_schema(name: str) -> bool:
    try:
        torch._C._get_schema(f'torchvision::{name}', '')
        return True
    except RuntimeError:
        return False


def ensure_torchvision_importable() -> bool:
    """Declare the missing op schemas when torchvision's ``_C`` cannot load.

    Returns True when the fix was applied (now or earlier in this process).
    """
    global _library
    if _library is not None:
        return True
    if 'torchvision' in sys.modules or torchvision_extension_loads() in (None, True):
        return False
    missing = [name for name in _SCHEMAS if not _has_schema(name)]
    if not missing:
        return False
    _library = torch.library.Library('torchvision', 'FRAGMENT')
    for name in missing:
        _library.define(_SCHEMAS[name])
    return True
