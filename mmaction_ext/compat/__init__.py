"""Guarded fixes for upstream packaging breakage; each is a no-op where upstream works.

Imported first by ``mmaction_ext/__init__.py`` so that the fixes are in place before
MMAction2's model zoo or torchvision is imported (MMAction2 imports torchvision lazily).
"""
from .fork_server import preload_in_fork_server
from .known_warnings import silence_known_warnings
from .mmaction_drn import ensure_drn_importable
from .sdpa_flops import register_sdpa_flop_handle
from .torchvision_ops import ensure_torchvision_importable

silence_known_warnings()
ensure_torchvision_importable()
ensure_drn_importable()
preload_in_fork_server()
register_sdpa_flop_handle()

__all__ = ['ensure_drn_importable', 'ensure_torchvision_importable', 'preload_in_fork_server',
           'register_sdpa_flop_handle', 'silence_known_warnings']
