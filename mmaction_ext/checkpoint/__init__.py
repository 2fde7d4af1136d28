"""Checkpoint loading: safe unpickling, and conversion of original research formats."""
from .original import (
    ArchitectureMismatchError,
    NoRecognisedKeysError,
    convert_original_checkpoint,
    install_original_checkpoint_hook,
    load_original_checkpoint,
)
from .remote_load import register_safe_loaders
from .report import LoadReport
from .safe_load import (
    CheckpointLoadError,
    CheckpointNotFoundError,
    UnsafeCheckpointError,
    register_safe_local_loader,
    safe_torch_load,
)

register_safe_loaders()

__all__ = ['CheckpointLoadError', 'CheckpointNotFoundError', 'UnsafeCheckpointError',
           'safe_torch_load', 'register_safe_local_loader', 'register_safe_loaders',
           'ArchitectureMismatchError', 'NoRecognisedKeysError',
           'convert_original_checkpoint', 'install_original_checkpoint_hook',
           'load_original_checkpoint', 'LoadReport']
