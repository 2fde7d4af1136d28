"""One-line writers for the kinds of file the project writes, all through the atomic one.

Each serialises in memory (or streams, for checkpoints) and hands the bytes to
:func:`~mmaction_ext.fileio.atomic_local_backend.atomic_write_stream`, so every file
gets the same guarantees: whole or absent after a crash, umask-respecting mode for a
new file (an overwritten one keeps its mode), its own inputs refused, clear errors for
a folder, a full disk and a read-only place. ``inputs`` are the files the output is
made from; writing over one of them is refused.
"""
from __future__ import annotations

import csv
import errno
import io
import json
import os
from pathlib import Path
from typing import Any, Iterable, Sequence, Union

from .atomic_local_backend import atomic_write_bytes, atomic_write_stream
from .write_errors import explain, refuse_folder

PathLike = Union[str, Path]


def write_text(path: PathLike, text: str, inputs: Iterable = (),
               encoding: str = 'utf-8') -> str:
    """Write ``text`` as is (no newline translation); return ``path``."""
    atomic_write_bytes(text.encode(encoding), path, inputs)
    return os.fspath(path)


def write_lines(path: PathLike, lines: Sequence[str], inputs: Iterable = (),
                newline: str = '\n') -> str:
    """One line per item, each ended by ``newline`` (nothing for no lines)."""
    return write_text(path, ''.join(line + newline for line in lines), inputs)


def write_json(path: PathLike, obj: Any, inputs: Iterable = (), indent: int = 1) -> str:
    return write_text(path, json.dumps(obj, indent=indent) + '\n', inputs)


def write_csv(path: PathLike, header: Sequence | None, rows: Iterable[Sequence],
              inputs: Iterable = ()) -> str:
    """CSV with ``\\n`` line ends (the csv module's quoting)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return write_text(path, buf.getvalue(), inputs)


def write_figure_png(path: PathLike, fig, inputs: Iterable = (), close: bool = True,
                     **savefig_kwargs) -> str:
    """A matplotlib figure as PNG (``fig.savefig`` into memory); closes it by default."""
    buf = io.BytesIO()
    fig.savefig(buf, format='png', **savefig_kwargs)
    if close:
        import matplotlib.pyplot as plt
        plt.close(fig)
    atomic_write_bytes(buf.getvalue(), path, inputs)
    return os.fspath(path)


def write_npy(path: PathLike, array, inputs: Iterable = ()) -> str:
    """A numpy array in ``.npy`` format (``np.load`` reads it, no pickle)."""
    import numpy as np
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    atomic_write_bytes(buf.getvalue(), path, inputs)
    return os.fspath(path)


def save_checkpoint(obj: Any, path: PathLike, inputs: Iterable = ()) -> str:
    """``torch.save(obj)`` streamed into the atomic writer (no second copy in memory)."""
    import torch
    atomic_write_stream(path, lambda f: torch.save(obj, f), inputs)
    return os.fspath(path)


def append_text(path: PathLike, text: str) -> str:
    """Append ``text`` with one ``write`` on an ``O_APPEND`` descriptor.

    For line logs only (a trace per iteration), where rewriting the whole file each time
    would cost quadratic time: a killed process loses nothing it appended (no fsync: a
    power loss may lose the latest lines), and concurrent appenders do not interleave
    within a short line. Same errors as the atomic writer.
    """
    path = os.fspath(path)
    refuse_folder(path, os.path.realpath(path))
    data = text.encode()
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(errno.ENOSPC, 'short write')
        finally:
            os.close(fd)
    except OSError as err:
        raise explain(err, path) from err
    return path
