"""Let ``import mmaction.models`` work with the mmaction2 1.2.0 wheel from PyPI.

Upstream symptom: the 1.2.0 wheel and sdist lack ``mmaction/models/localizers/drn/``
while ``mmaction/models/localizers/__init__.py`` imports ``from .drn.drn import DRN``,
so ``import mmaction.models`` fails with
``No module named 'mmaction.models.localizers.drn'`` (open-mmlab/mmaction2#2714).

Fix: when (and only when) that package is absent, put a placeholder module in
``sys.modules`` whose ``DRN`` raises a clear error if someone builds it. DRN is a
temporal-grounding localizer that nothing in mmaction_ext uses. Where the real package
is installed (a source install of mmaction2) nothing is touched.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import types

_PKG = 'mmaction.models.localizers.drn'


class _MissingDRN:
    """Stands in for the DRN localizer that the mmaction2 1.2.0 wheel does not ship."""

    def __init__(self, *args, **kwargs):
        raise ImportError(
            'DRN is missing from the mmaction2 1.2.0 wheel (open-mmlab/mmaction2#2714); '
            'install mmaction2 from source to use it.')


def drn_is_missing() -> bool:
    """Whether the installed mmaction2 lacks the ``localizers/drn`` package.

    Looks at the files only: ``find_spec`` of a submodule would import
    ``mmaction.models``, which is exactly what fails.
    """
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return False
    localizers = os.path.join(spec.submodule_search_locations[0], 'models', 'localizers')
    return os.path.isdir(localizers) and not os.path.isdir(os.path.join(localizers, 'drn'))


def ensure_drn_importable() -> bool:
    """Install the placeholder when needed; True when it was installed."""
    if _PKG in sys.modules or not drn_is_missing():
        return False
    package = types.ModuleType(_PKG)
    package.__path__ = []  # a package, so ``drn.drn`` resolves below
    module = types.ModuleType(f'{_PKG}.drn')
    module.DRN = _MissingDRN
    package.drn = module
    sys.modules[_PKG] = package
    sys.modules[f'{_PKG}.drn'] = module
    return True
