"""Files in and out: one atomic writer for every file the project writes, one list reader."""
from .atomic_local_backend import AtomicLocalBackend, atomic_write_bytes, atomic_write_stream
from .list_reader import ListFileError, read_list
from .write_errors import (
    DiskFullError,
    FileWriteError,
    NotWritableError,
    OutputIsFolderError,
    OutputIsInputError,
    check_writable,
)
from .writers import (
    append_text,
    save_checkpoint,
    write_csv,
    write_figure_png,
    write_json,
    write_lines,
    write_npy,
    write_text,
)

__all__ = [
    'AtomicLocalBackend', 'atomic_write_bytes', 'atomic_write_stream', 'DiskFullError',
    'FileWriteError', 'NotWritableError', 'OutputIsFolderError', 'OutputIsInputError',
    'check_writable', 'append_text', 'save_checkpoint', 'write_csv', 'write_figure_png',
    'write_json', 'write_lines', 'write_npy', 'write_text', 'ListFileError', 'read_list',
]
