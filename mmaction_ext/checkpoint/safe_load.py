"""Load checkpoints with torch's ``weights_only`` unpickler and an exact allow-list.

MMEngine 0.10.7 calls plain ``torch.load``; since torch 2.6 that means
``weights_only=True`` without the globals MMEngine itself pickles, so ``--resume`` and
``tools/test.py CFG work_dir/iter_N.pth`` fail with "Weights only load failed".
Instead of turning ``weights_only`` off, :func:`safe_torch_load` allows just the globals
that MMEngine and the original research checkpoints really contain. It is the ``torch.load``
every MMEngine checkpoint scheme calls (:mod:`.remote_load`), so every path
(``load_from``, ``--resume``, ``init_cfg=Pretrained``, MMAction2's own tools) reads
through it, after :func:`~.integrity.verify_integrity` checked the bytes.

A checkpoint that needs anything else is refused with the global's name. Trusted files
can be opted in explicitly (:mod:`.trust`, ``MMACTION_EXT_TRUSTED_CHECKPOINTS``).
"""
from __future__ import annotations

import argparse
import os
import pickle
import re
from typing import Any, BinaryIO

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from .errors import (
    CheckpointIntegrityError,
    CheckpointLoadError,
    CheckpointNotFoundError,
    UnsafeCheckpointError,
)
from .integrity import verify_integrity
from .trust import TRUST_ENV, is_trusted

__all__ = ['CheckpointLoadError', 'CheckpointNotFoundError', 'UnsafeCheckpointError',
           'CheckpointIntegrityError', 'TRUST_ENV', 'safe_torch_load',
           'SAFE_GLOBALS']


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to what MMEngine's HistoryBuffer pickles.

    HistoryBuffer's class-level registry of statistic functions (``mean``, ``min``, ...)
    pickles each as ``getattr(HistoryBuffer, 'mean')``; allowing the real ``getattr``
    would let a pickle reach any method of any allowed object.
    """
    # The registry fills on first instantiation, so also accept the four built-ins.
    allowed = {'min', 'max', 'current', 'mean', *HistoryBuffer._statistics_methods}
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint')


def _numpy_globals() -> list:
    core = getattr(np, '_core', None) or np.core
    names = []
    for prefix in ('numpy._core', 'numpy.core'):
        names += [(core.multiarray._reconstruct, f'{prefix}.multiarray._reconstruct'),
                  (core.multiarray.scalar, f'{prefix}.multiarray.scalar')]
    dtypes = [type(np.dtype(t)) for t in (np.bool_, np.int8, np.int16, np.int32,
                                          np.int64, np.uint8, np.float16, np.float32,
                                          np.float64)]
    return names + [np.ndarray, np.dtype] + dtypes


SAFE_GLOBALS: list = _numpy_globals() + [
    HistoryBuffer,
    (_history_buffer_getattr, 'builtins.getattr'),
    argparse.Namespace,  # research checkpoints keep their CLI args under 'args'
]


def safe_torch_load(path: str | BinaryIO, map_location: Any = 'cpu',
                    source: str | None = None,
                    allow_unverified_legacy: bool = False) -> Any:
    """Check the bytes, then ``torch.load`` with ``weights_only=True`` and the allow-list.

    Args:
        path: the local file, or a buffer of its bytes (``s3://`` reads into memory).
        map_location: as for ``torch.load``.
        source: where it came from (a URL), for messages, the opt-in and a name hash.
        allow_unverified_legacy: see :func:`~.integrity.verify_integrity`.

    Raises:
        CheckpointNotFoundError: no file at ``path`` (also a ``FileNotFoundError``).
        CheckpointIntegrityError: damaged bytes, or a legacy file with no checksum.
        CheckpointLoadError: the file is not a torch checkpoint.
        UnsafeCheckpointError: it needs a global that is not allow-listed.
    """
    is_path = isinstance(path, (str, os.PathLike))
    name = str(path) if is_path else (source or '<bytes>')
    if is_path and not os.path.isfile(path):
        what = 'is a directory, not a file' if os.path.isdir(path) else 'not found'
        raise CheckpointNotFoundError(
            f'checkpoint {what}: {str(path)!r}. Check the path (config `load_from`, '
            f'backbone `pretrained`, or the CHECKPOINT argument of tools/test.py).')
    verify_integrity(path, name, url=source, allow_unverified_legacy=allow_unverified_legacy)
    if is_trusted(str(path) if is_path else None, source):
        return torch.load(path, map_location=map_location, weights_only=False)
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r'GLOBAL ([\w.]+)|global[s]? ([\w.]+)', str(err))
        global_name = next((g for g in found.groups() if g), None) if found else None
        if global_name is None:
            raise CheckpointLoadError(
                f'{name!r} is not a loadable checkpoint: {_unpickler_reason(err)}') from err
        where = f'{name!r} (downloaded from {source})' if source and is_path else repr(name)
        raise UnsafeCheckpointError(
            f'refusing to load {where}: it contains the pickle global `{global_name}`, '
            f'which is not on mmaction_ext\'s allow-list and could run code when loaded. '
            f'If you trust this file, allow it explicitly: {TRUST_ENV}={source or path}'
        ) from err
    except Exception as err:  # noqa: BLE001 - any other failure means "not a checkpoint"
        raise CheckpointLoadError(
            f'{name!r} is not a readable torch checkpoint ({type(err).__name__}: '
            f'{str(err).splitlines()[0] if str(err) else "empty"}). Is it truncated or '
            f'another kind of file?') from err


def _unpickler_reason(err: Exception) -> str:
    """The one informative line of torch's long weights-only error."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if 'WeightsUnpickler error' in line:
            rest = line.split('WeightsUnpickler error:', 1)[1].strip()
            return rest or (lines[i + 1] if i + 1 < len(lines) else line)
    return lines[0] if lines else type(err).__name__


_is_trusted = is_trusted  # the name evaluation/safe_results.py imports
