"""Name the file a crashed data worker was reading.

A decoder that segfaults kills its DataLoader worker; PyTorch then reports only
"DataLoader worker (pid 1234) is killed by signal: Segmentation fault". Each worker of
the project's datasets writes the path it is about to read to a small per-process file
in a folder made for this run; :func:`explain_worker_crash` turns PyTorch's error into
one that names that file.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import tempfile
from typing import Iterator

from mmaction_ext.fileio import write_text

_MARK_DIRS: list[str] = []
_PREFIX = 'mmaction_ext_reading_'


class WorkerCrashError(RuntimeError):
    """A data worker died (e.g. a decoder crash); the message names the file it read."""


def _remove_orphans(base: str) -> None:
    """Folders of processes that were killed (no atexit) are removed by the next run."""
    for name in os.listdir(base):
        owner = name.split('_')[3] if name.startswith(_PREFIX) else ''
        if owner.isdigit() and not os.path.exists(f'/proc/{owner}'):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)


def new_mark_dir() -> str:
    """The folder for this process's datasets' marks (one per process, removed at exit)."""
    if _MARK_DIRS and _MARK_DIRS[-1].rsplit('_', 1)[0].endswith(f'_{os.getpid()}'):
        return _MARK_DIRS[-1]
    base = '/dev/shm' if os.path.isdir('/dev/shm') else tempfile.gettempdir()
    if os.path.isdir('/proc'):
        _remove_orphans(base)
    folder = tempfile.mkdtemp(prefix=f'{_PREFIX}{os.getpid()}_', dir=base)
    _MARK_DIRS.append(folder)
    atexit.register(shutil.rmtree, folder, True)
    return folder


def mark_reading(folder: str | None, filename: str) -> None:
    """In a DataLoader worker, note ``filename`` as the file this process now reads."""
    if not folder:
        return
    from torch.utils.data import get_worker_info
    if get_worker_info() is None:
        return  # the main process reports its own errors
    try:
        write_text(os.path.join(folder, str(os.getpid())), filename)
    except OSError:
        pass  # best effort: never fail a sample because of the mark


def file_read_by(pid: int) -> str | None:
    for folder in _MARK_DIRS:
        try:
            with open(os.path.join(folder, str(pid))) as f:
                return f.read()
        except OSError:
            continue
    return None


@contextlib.contextmanager
def explain_worker_crash() -> Iterator[None]:
    """Re-raise PyTorch's "DataLoader worker (pid N) ..." error naming the file N read."""
    try:
        yield
    except RuntimeError as err:
        text = str(err)
        match = re.search(r'DataLoader worker \(pids?\(?s?\)? ([\d, ]+)\)', text)
        if not match or isinstance(err, WorkerCrashError):
            raise
        pids = [int(p) for p in re.findall(r'\d+', match.group(1))]
        files = {pid: file_read_by(pid) for pid in pids}
        named = ', '.join(f'pid {pid} was reading {name}' for pid, name in files.items()
                          if name)
        if not named:
            raise
        raise WorkerCrashError(
            f'{text.splitlines()[0]}: {named}. A decoder crash on a damaged or truncated '
            f'file kills the worker: check the file (tools/prepare_kth.py --check-decode '
            f'for KTH), re-encode or remove it, and use SafeDecordInit rather than stock '
            f'DecordInit.') from err
