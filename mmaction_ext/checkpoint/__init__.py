"""Checkpoint loading: safe unpickling, and conversion of original research formats."""
from .safe_load import (
                        CheckpointLoadError,
                        UnsafeCheckpointError,
                        register_safe_local_loader,
                        safe_torch_load,
)

register_safe_local_loader()

__all__ = ['CheckpointLoadError', 'UnsafeCheckpointError', 'safe_torch_load',
           'register_safe_local_loader']
