"""Read ``tools/test.py --dump`` result files without running code from them.

MMEngine's ``DumpResults`` writes a plain pickle (a list of dicts holding tensors, numpy
arrays and Python scalars) and ``mmengine.load`` unpickles it with no restriction, so a
crafted ``results.pkl`` runs code in ``tools/analyze_results.py``. This unpickler allows
containers, numpy arrays/scalars/dtypes and torch tensors only; a tensor's storage bytes
are read with ``torch.load(weights_only=True)`` instead of torch's own
``_load_from_bytes`` (which uses full pickle). Files listed in
``MMACTION_EXT_TRUSTED_CHECKPOINTS`` (the project's one explicit opt-in) load unrestricted.
"""
from __future__ import annotations

import _compat_pickle
import codecs
import collections
import io
import os
import pickle
from typing import Any

import numpy as np
import torch

from mmaction_ext.checkpoint.safe_load import TRUST_ENV, _is_trusted, _numpy_globals


class UnsafeResultsError(pickle.UnpicklingError):
    """A result file needs a pickle global outside the allow-list."""


def _storage_from_bytes(data: bytes) -> Any:
    return torch.load(io.BytesIO(data), weights_only=True)


def _allowed() -> dict:
    allowed = {}
    for entry in _numpy_globals():  # arrays, scalars, dtypes: as in checkpoints
        obj, name = entry if isinstance(entry, tuple) else (
            entry, f'{entry.__module__}.{entry.__qualname__}')
        allowed[name] = obj
    numeric = (getattr(np, '_core', None) or np.core).numeric
    for prefix in ('numpy._core', 'numpy.core'):  # arrays pickled with protocol 5
        allowed[f'{prefix}.numeric._frombuffer'] = numeric._frombuffer
    allowed.update({
        'collections.OrderedDict': collections.OrderedDict,
        'builtins.set': set, 'builtins.frozenset': frozenset, 'builtins.slice': slice,
        'builtins.complex': complex, 'builtins.bytearray': bytearray,
        '_codecs.encode': codecs.encode,  # protocol 2 (mmengine.dump's default) bytes
        'torch._utils._rebuild_tensor_v2': torch._utils._rebuild_tensor_v2,
        'torch._utils._rebuild_tensor': torch._utils._rebuild_tensor,
        'torch.storage._load_from_bytes': _storage_from_bytes,
        'torch.Size': torch.Size, 'torch.device': torch.device,
    })
    for name in dir(torch):
        if isinstance(getattr(torch, name, None), torch.dtype):
            allowed[f'torch.{name}'] = getattr(torch, name)
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    allowed = _allowed()

    def find_class(self, module: str, name: str) -> Any:
        # Python 2 names (protocol 2), mapped as pickle.Unpickler(fix_imports=True) does
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        else:
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        obj = self.allowed.get(f'{module}.{name}')
        if obj is None:
            raise UnsafeResultsError(f'{module}.{name}')
        return obj


def load_results(path: str) -> Any:
    """Load a result dump: allow-listed pickle, or full pickle for an opted-in file.

    Raises:
        UnsafeResultsError: the file needs another global (named), with the remedy.
    """
    if _is_trusted(path):
        with open(path, 'rb') as f:
            return pickle.load(f)
    try:
        with open(path, 'rb') as f:
            return _RestrictedUnpickler(f).load()
    except UnsafeResultsError as err:
        raise UnsafeResultsError(
            f'refusing to read {path!r}: it contains the pickle global `{err}`, which a '
            f'tools/test.py --dump file never holds (lists of dicts of tensors, arrays and '
            f'numbers) and which could run code when loaded. Re-create it with '
            f'tools/test.py CONFIG CHECKPOINT --dump FILE, or, if you trust this file, '
            f'allow it explicitly: {TRUST_ENV}={os.path.abspath(path)}') from None
    except (pickle.UnpicklingError, EOFError, ValueError, RuntimeError) as err:
        raise UnsafeResultsError(
            f'{path!r} is not a readable result dump ({type(err).__name__}: {err}); '
            f'is it truncated? Re-create it with tools/test.py ... --dump FILE') from err
