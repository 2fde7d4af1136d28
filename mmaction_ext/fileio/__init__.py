"""Writing files: every file the project writes goes through one atomic writer."""
from .atomic_local_backend import AtomicLocalBackend, atomic_write_bytes
from .list_reader import ListFileError, read_list  # noqa: F401  the one list reader

__all__ = ['AtomicLocalBackend', 'atomic_write_bytes']
