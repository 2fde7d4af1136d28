"""Errors of the project's file writer: each names the file and what to do about it.

A raw ``OSError`` from deep inside a write (``[Errno 28] No space left on device``, with
no file name when it surfaces at ``write()``/``fsync()``) leaves the user guessing which
file and why. The writer turns the causes a user can act on into these errors; all are
``OSError`` subclasses (``errno`` kept), so code that catches ``OSError`` still does.
"""
from __future__ import annotations

import errno
import os
import shutil
from typing import Iterable

FULL_ERRNOS = (errno.ENOSPC, getattr(errno, 'EDQUOT', errno.ENOSPC))
NOT_ALLOWED_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)


class FileWriteError(OSError):
    """A file could not be written; ``str()`` is the whole explanation."""

    def __init__(self, code: int | None, message: str, path: str | None) -> None:
        super().__init__(code, message, path)
        self.message = message

    def __str__(self) -> str:
        return self.message


class DiskFullError(FileWriteError):
    """A write failed because the file system (or the user's quota) is full."""


class NotWritableError(FileWriteError):
    """The target's folder is read-only or the user may not write there."""


class OutputIsFolderError(FileWriteError, IsADirectoryError):
    """The output path names an existing folder."""


class OutputIsInputError(FileWriteError):
    """The output is the same file as one of the inputs it is made from."""


def free_space(path: str | None) -> str:
    """``'N GB free on FOLDER'`` for the nearest existing folder of ``path``."""
    folder = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
    while folder and not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    try:
        return f'{shutil.disk_usage(folder).free / 1e9:.1f} GB free on {folder}'
    except OSError:
        return 'free space unknown'


def refuse_folder(path: str, target: str) -> None:
    if os.path.isdir(target):
        raise OutputIsFolderError(
            errno.EISDIR, f'cannot write {path}: it is a folder; give a file name '
            f'(e.g. {os.path.join(path, "NAME")})', path)


def refuse_own_input(path: str, target: str, inputs: Iterable) -> None:
    """Writing ``path`` would replace one of ``inputs`` (same real file): refuse."""
    if not os.path.exists(target):
        return
    for source in inputs:
        if source is None:
            continue
        source = os.fspath(source)
        try:
            same = os.path.samefile(source, target)
        except OSError:  # the input is gone or unreadable: it cannot be the output
            continue
        if same:
            raise OutputIsInputError(
                errno.EEXIST, f'refusing to write {path}: it is the same file as the input '
                f'{source}; writing it would replace what is being read. Give another '
                'output path.', path)


def explain(err: OSError, path: str) -> OSError:
    """The error to raise for ``err`` met while writing ``path`` (itself if no better)."""
    if isinstance(err, FileWriteError):
        return err
    if err.errno in FULL_ERRNOS:
        return DiskFullError(
            err.errno, f'out of disk space writing {path} ({free_space(path)}). Free space '
            'there or write to another place; a file that was there before is intact.', path)
    if err.errno in NOT_ALLOWED_ERRNOS:
        folder = os.path.dirname(os.path.abspath(path)) or '.'
        why = ('is on a read-only file system' if err.errno == errno.EROFS else
               'is not writable by this user')
        return NotWritableError(
            err.errno, f'cannot write {path}: {folder} {why} ({os.strerror(err.errno)}). '
            'Write to another place (e.g. another --out-dir / --work-dir / output path) or '
            'make the folder writable.', path)
    if err.errno == errno.ENOTDIR:
        return FileWriteError(
            err.errno, f'cannot write {path}: a part of its folder path is a file, not a '
            'folder; give another path (or move that file away).', path)
    if isinstance(err, IsADirectoryError):
        return OutputIsFolderError(
            err.errno, f'cannot write {path}: it is a folder; give a file name', path)
    return err


def check_writable(path, inputs: Iterable = ()) -> None:
    """Raise now what writing ``path`` would raise for its place: a folder, one of
    ``inputs``, a read-only or forbidden folder (for tools that work minutes first)."""
    path = os.fspath(path)
    target = os.path.realpath(path)
    refuse_folder(path, target)
    refuse_own_input(path, target, inputs)
    folder = os.path.dirname(target)
    while folder and not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    if folder and not os.access(folder, os.W_OK):
        code = errno.EROFS if _read_only(folder) else errno.EACCES
        raise explain(OSError(code, os.strerror(code), path), path)


def _read_only(folder: str) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False
