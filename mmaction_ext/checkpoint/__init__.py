"""Checkpoint loading: one way in (safe read, convert once, coverage check)."""
from .convert_once import conversion_mark, convert_once, install_original_checkpoint_hook
from .coverage import require_complete
from .errors import (
    ArchitectureMismatchError,
    CheckpointIntegrityError,
    CheckpointLoadError,
    CheckpointNotFoundError,
    NonFiniteWeightsError,
    NoRecognisedKeysError,
    PartialCheckpointError,
    UnsafeCheckpointError,
)
from .loading import (
    load_checkpoint_into,
    load_original_checkpoint,
    prepare_state_dict,
    read_checkpoint,
)
from .original import convert_original_checkpoint
from .remote_load import register_safe_loaders
from .report import LoadReport
from .safe_load import safe_torch_load
from .vit_sizes import ARCH_SETTINGS

__all__ = ['CheckpointLoadError', 'CheckpointNotFoundError', 'UnsafeCheckpointError',
           'CheckpointIntegrityError', 'PartialCheckpointError', 'NonFiniteWeightsError',
           'safe_torch_load', 'register_safe_loaders', 'ARCH_SETTINGS',
           'ArchitectureMismatchError', 'NoRecognisedKeysError',
           'convert_original_checkpoint', 'install_original_checkpoint_hook',
           'load_original_checkpoint', 'LoadReport', 'conversion_mark', 'convert_once',
           'load_checkpoint_into', 'prepare_state_dict', 'read_checkpoint',
           'require_complete']
