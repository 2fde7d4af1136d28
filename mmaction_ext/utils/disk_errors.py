"""Say "out of disk space" (and where) instead of a raw ``OSError`` from deep inside."""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
from typing import Iterator

_FULL = (errno.ENOSPC, getattr(errno, 'EDQUOT', errno.ENOSPC))


class DiskFullError(OSError):
    """A write failed because the file system (or the user's quota) is full."""


def _free_space(path: str | None) -> str:
    folder = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
    while folder and not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    try:
        return f'{shutil.disk_usage(folder).free / 1e9:.1f} GB free on {folder}'
    except OSError:
        return 'free space unknown'


@contextlib.contextmanager
def explain_disk_full(work_dir: str | None = None) -> Iterator[None]:
    """Re-raise ENOSPC/EDQUOT as :class:`DiskFullError` naming the file and the remedy.

    Checkpoints and dumps are replaced atomically (temporary file, then rename), so the
    previous versions are still whole after this error.
    """
    try:
        yield
    except OSError as err:
        if err.errno not in _FULL or isinstance(err, DiskFullError):
            raise
        target = err.filename or work_dir  # write()/fsync() errors carry no file name
        what = err.filename or (f'a file under {work_dir}' if work_dir else 'a file')
        raise DiskFullError(
            err.errno, f'out of disk space writing {what} '
            f'({_free_space(target)}). Free space there or choose another --work-dir / '
            f'--dump; files written earlier (checkpoints, dumps) are intact, and '
            f'--resume continues from the last checkpoint.', target) from err
