"""Load checkpoints with torch's ``weights_only`` unpickler and an exact allow-list.

MMEngine 0.10.7 calls plain ``torch.load``; since torch 2.6 that means
``weights_only=True`` without the globals MMEngine itself pickles, so ``--resume`` and
``tools/test.py CFG work_dir/iter_N.pth`` fail with "Weights only load failed".
Instead of turning ``weights_only`` off, :func:`safe_torch_load` allows just the globals
that MMEngine and the original research checkpoints really contain, and registers
itself as MMEngine's loader for local files, so every path (``load_from``, ``--resume``,
``init_cfg=Pretrained``, MMAction2's own tools) goes through it. Remote schemes
(``http(s)://``, ``open-mmlab://``, ``s3://``, ...) download first and then load the
same way (:mod:`.remote_load`).

A checkpoint that needs anything else is refused with the global's name. Trusted files
can be opted in explicitly: ``MMACTION_EXT_TRUSTED_CHECKPOINTS`` holds a
``os.pathsep``-separated list of paths, glob patterns or URLs (or ``*`` for all) loaded
with full pickle.
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import pickle
import re
import zipfile
import zlib
from typing import Any

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

TRUST_ENV = 'MMACTION_EXT_TRUSTED_CHECKPOINTS'


class CheckpointLoadError(RuntimeError):
    """A checkpoint file is missing, unreadable or not a checkpoint."""


class CheckpointNotFoundError(CheckpointLoadError, FileNotFoundError):
    """No file at the checkpoint's path; a ``FileNotFoundError`` as MMEngine raises."""


class UnsafeCheckpointError(CheckpointLoadError):
    """A checkpoint needs a pickle global outside the allow-list."""


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


def _trust_patterns() -> list:
    """The opt-in list; ``:`` inside a URL (``http://``, ``host:8000``) does not split."""
    value = os.environ.get(TRUST_ENV, '')
    parts = re.split(r':(?!//|\d)', value) if os.pathsep == ':' else value.split(os.pathsep)
    return [p for p in parts if p]


def _is_trusted(path: str, source: str | None = None) -> bool:
    real = os.path.realpath(path)
    for p in _trust_patterns():
        if p == '*' or fnmatch.fnmatch(real, os.path.realpath(p)):
            return True
        if source is not None and '://' in p and fnmatch.fnmatch(source, p):
            return True
    return False


def safe_torch_load(path: str, map_location: Any = 'cpu', source: str | None = None) -> Any:
    """``torch.load`` with ``weights_only=True`` and the project's allow-list.

    Args:
        path: the local file.
        map_location: as for ``torch.load``.
        source: where ``path`` was downloaded from (a URL), for messages and the opt-in.

    Raises:
        CheckpointNotFoundError: no file at ``path`` (also a ``FileNotFoundError``).
        CheckpointLoadError: the file is not a torch checkpoint.
        UnsafeCheckpointError: it needs a global that is not allow-listed.
    """
    if not os.path.isfile(path):
        what = 'is a directory, not a file' if os.path.isdir(path) else 'not found'
        raise CheckpointNotFoundError(
            f'checkpoint {what}: {path!r}. Check the path (config `load_from`, '
            f'backbone `pretrained`, or the CHECKPOINT argument of tools/test.py).')
    verify_checksums(path)
    if _is_trusted(path, source):
        return torch.load(path, map_location=map_location, weights_only=False)
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r'GLOBAL ([\w.]+)|global[s]? ([\w.]+)', str(err))
        name = next((g for g in found.groups() if g), None) if found else None
        if name is None:
            raise CheckpointLoadError(
                f'{path!r} is not a loadable checkpoint: {_unpickler_reason(err)}') from err
        where = f'{path!r} (downloaded from {source})' if source else repr(path)
        raise UnsafeCheckpointError(
            f'refusing to load {where}: it contains the pickle global `{name}`, which is '
            f'not on mmaction_ext\'s allow-list and could run code when loaded. If you '
            f'trust this file, allow it explicitly: {TRUST_ENV}={source or path}') from err
    except Exception as err:  # noqa: BLE001 - any other failure means "not a checkpoint"
        raise CheckpointLoadError(
            f'{path!r} is not a readable torch checkpoint ({type(err).__name__}: '
            f'{str(err).splitlines()[0] if str(err) else "empty"}). Is it truncated or '
            f'another kind of file?') from err


def verify_checksums(path: str) -> None:
    """Check every member's CRC-32 in a torch zip checkpoint.

    ``torch.load`` does not: a flipped byte in a tensor loads silently as a wrong weight.
    Reading the file once more costs about a second per GB (and warms the page cache
    for the load that follows). Legacy (non-zip) files have no checksums to check.
    """
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                with archive.open(info) as member:
                    while member.read(1 << 24):
                        pass
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
        raise CheckpointLoadError(
            f'{path!r} is damaged: {err}. The bytes no longer match the checksums stored '
            f'when it was saved (corrupted in transfer or on disk); copy or download it '
            f'again.') from err


def _unpickler_reason(err: Exception) -> str:
    """The one informative line of torch's long weights-only error."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if 'WeightsUnpickler error' in line:
            rest = line.split('WeightsUnpickler error:', 1)[1].strip()
            return rest or (lines[i + 1] if i + 1 < len(lines) else line)
    return lines[0] if lines else type(err).__name__


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """MMEngine's local loader (same name, so its log line reads "by local backend")."""
    return safe_torch_load(os.path.expanduser(filename), map_location)

