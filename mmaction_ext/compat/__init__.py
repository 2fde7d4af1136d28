"""Guarded fixes for upstream defects; each is a no-op where upstream works.

Nothing here runs on import: ``mmaction_ext/__init__.py`` installs them, from one list,
before MMAction2's model zoo or torchvision is imported.
"""
from .fork_server import preload_in_fork_server
from .known_warnings import silence_known_warnings
from .mmaction_drn import ensure_drn_importable
from .mmaction_multimodal import keep_mmaction_models_importable_with_transformers5
from .mmengine_io import use_atomic_local_backend, use_safe_checkpoint_loaders
from .sdpa_flops import register_sdpa_flop_handle
from .torchvision_ops import ensure_torchvision_importable

__all__ = ['ensure_drn_importable', 'ensure_torchvision_importable', 'preload_in_fork_server',
           'keep_mmaction_models_importable_with_transformers5', 'register_sdpa_flop_handle',
           'silence_known_warnings', 'use_atomic_local_backend', 'use_safe_checkpoint_loaders']
