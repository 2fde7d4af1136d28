"""Say "out of disk space" (and where) instead of a raw ``OSError`` from deep inside."""
from __future__ import annotations

import contextlib
from typing import Iterator

from mmaction_ext.fileio.write_errors import FULL_ERRNOS, DiskFullError, free_space

__all__ = ['DiskFullError', 'explain_disk_full']

RESUME_HINT = ('files written earlier (checkpoints, dumps) are intact, and --resume '
               'continues from the last checkpoint.')


@contextlib.contextmanager
def explain_disk_full(work_dir: str | None = None) -> Iterator[None]:
    """Re-raise ENOSPC/EDQUOT as :class:`DiskFullError` naming the file and the remedy.

    Checkpoints and dumps are replaced atomically (temporary file, then rename), so the
    previous versions are still whole after this error. The project's writer already
    names the file; a training run adds how to go on.
    """
    try:
        yield
    except OSError as err:
        if err.errno not in FULL_ERRNOS or RESUME_HINT in str(err):
            raise
        if isinstance(err, DiskFullError):
            raise DiskFullError(err.errno, f'{err} In a training run: {RESUME_HINT}',
                                err.filename) from err
        target = err.filename or work_dir  # write()/fsync() errors carry no file name
        what = err.filename or (f'a file under {work_dir}' if work_dir else 'a file')
        raise DiskFullError(
            err.errno, f'out of disk space writing {what} '
            f'({free_space(target)}). Free space there or choose another --work-dir / '
            f'--dump; {RESUME_HINT}', target) from err
