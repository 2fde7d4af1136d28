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
    safe_torch_load,
)
from .vit_sizes import ARCH_SETTINGS

__all__ = ['CheckpointLoadError', 'CheckpointNotFoundError', 'UnsafeCheckpointError',
           'safe_torch_load', 'register_safe_loaders', 'ARCH_SETTINGS',
           'ArchitectureMismatchError', 'NoRecognisedKeysError',
           'convert_original_checkpoint', 'install_original_checkpoint_hook',
           'load_original_checkpoint', 'LoadReport']
