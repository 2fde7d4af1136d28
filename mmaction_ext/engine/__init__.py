"""Training-loop pieces registered into MMAction2/MMEngine registries."""
from .device_aware_ddp import DeviceAwareDDP

__all__ = ['DeviceAwareDDP']
