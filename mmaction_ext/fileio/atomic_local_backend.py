"""Local file backend whose checkpoint and dump writes are atomic: a crash never leaves half.

MMEngine writes checkpoints with ``open(path, 'wb').write(...)``: a crash (SIGKILL, OOM,
node loss) during that write leaves a truncated ``iter_N.pth`` that ``--resume`` then
fails on. Here a checkpoint or dump (``.pth``, ``.pt``, ``.pkl``, ``.pickle``) goes to a
temporary file in the target's directory, is flushed and fsync'ed, and is renamed over
the target (``os.replace`` is atomic on POSIX), so readers see the old file or the new
one, never a mix. Every other write (logs, configs, JSON, text) is MMEngine's own.

What stock ``open(path, 'wb')`` would do is kept:

- permissions: a new file is created with mode 0666 filtered by the umask (and the
  directory's default ACL), an overwritten file keeps its mode (and group, when allowed);
- symlinks are written through: the link stays, its target gets the new content;
- a hard-linked target (link count > 1) is written in place, as stock does, so every
  name keeps seeing the same file; such a file is not crash-atomic (documented choice:
  replacing it would silently split the names).

:func:`atomic_write_stream` / :func:`atomic_write_bytes` are the project's one writer:
every file the project writes goes through them (``mmaction_ext.fileio.writers`` has the
one-line helpers for text, JSON, CSV, PNG figures, arrays and checkpoints).

Registered as MMEngine's ``local`` backend (the one for plain paths) on import.
"""
from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Union

from mmengine.fileio import LocalBackend, register_backend

from .write_errors import explain, refuse_folder, refuse_own_input

ATOMIC_SUFFIXES = ('.pth', '.pt', '.pkl', '.pickle')


def needs_atomic_write(filepath: Union[str, Path]) -> bool:
    """Whether a write to ``filepath`` is a checkpoint/dump that must survive a crash."""
    return os.fspath(filepath).lower().endswith(ATOMIC_SUFFIXES)


def _fsync_dir(directory: str) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def _write_in_place(write: Callable[[BinaryIO], object], path: str) -> None:
    with open(path, 'wb') as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def atomic_write_stream(filepath: Union[str, Path], write: Callable[[BinaryIO], object],
                        inputs: Iterable = ()) -> None:
    """Run ``write(f)`` on a temporary file beside ``filepath``, fsync, rename over it.

    The one writer of the project: a crash leaves the old file or the new one, never
    half. ``write`` streams into ``f`` (``torch.save(obj, f)``), so a large checkpoint
    is never held twice in memory. Refused with a clear error: ``filepath`` being the
    same real file as one of ``inputs`` (what the output is made from), or a folder;
    a full disk and a read-only / forbidden folder are explained (path and remedy).
    """
    path = os.fspath(filepath)
    target = os.path.realpath(path)  # through symlinks, dangling ones too
    refuse_folder(path, target)
    refuse_own_input(path, target, inputs)
    directory = os.path.dirname(target)
    try:
        os.makedirs(directory, exist_ok=True)
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    except OSError as err:
        raise explain(err, path) from err
    try:
        if existing is not None and existing.st_nlink > 1:
            _write_in_place(write, target)
            return
        _replace(write, target, directory, existing)
        _fsync_dir(directory)
    except OSError as err:
        raise explain(err, path) from err


def _replace(write: Callable[[BinaryIO], object], target: str, directory: str,
             existing: os.stat_result | None) -> None:
    tmp = os.path.join(directory, f'.{os.path.basename(target)}.{secrets.token_hex(6)}.tmp')
    # O_CREAT with 0o666: the kernel applies the umask / default ACL, as for open('wb').
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, 'wb') as f:
            if existing is not None:
                os.fchmod(f.fileno(), stat.S_IMODE(existing.st_mode))
                try:
                    os.fchown(f.fileno(), -1, existing.st_gid)
                except OSError:  # not a member of that group: keep the default one
                    pass
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(data: bytes, filepath: Union[str, Path], inputs: Iterable = ()) -> None:
    """Write ``data`` to ``filepath`` atomically (temp file, fsync, rename, fsync dir),
    with the permissions, symlink and hard-link behaviour of a plain ``open(..., 'wb')``;
    see :func:`atomic_write_stream` for ``inputs`` and the errors."""
    atomic_write_stream(filepath, lambda f: f.write(data), inputs)


class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose ``put`` / ``put_text`` of checkpoints and dumps are atomic.

    Intended difference from ``LocalBackend``: nothing observable except crash safety
    (and that a killed writer may leave a hidden ``.NAME.XXXX.tmp`` beside the target).
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        if needs_atomic_write(filepath):
            atomic_write_bytes(obj, filepath)
        else:
            super().put(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        if needs_atomic_write(filepath):
            atomic_write_bytes(obj.encode(encoding), filepath)
        else:
            super().put_text(obj, filepath, encoding=encoding)


def register_atomic_local_backend() -> None:
    """Make plain paths (no URI prefix) use :class:`AtomicLocalBackend`."""
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
