"""Checkpoint loading: safe unpickling, and conversion of original research formats."""
from .original import (
    ArchitectureMismatchError,
    NoRecognisedKeysError,
    convert_original_checkpoint,
    install_original_checkpoint_hook,
    load_original_checkpoint,
)
from .report import LoadReport
from .safe_load import (
                        CheckpointLoadError,
                        UnsafeCheckpointError,
                        register_safe_local_loader,
                        safe_torch_load,
)

register_safe_local_loader()

__all__ = ['CheckpointLoadError', 'UnsafeCheckpointError', 'safe_torch_load',
           'register_safe_local_loader', 'ArchitectureMismatchError', 'NoRecognisedKeysError',
           'convert_original_checkpoint', 'install_original_checkpoint_hook',
           'load_original_checkpoint', 'LoadReport']
