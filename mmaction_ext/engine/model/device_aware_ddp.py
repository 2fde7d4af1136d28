"""DDP wrapper that also works for CPU models (gloo)."""
from __future__ import annotations

from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS  # Runner.wrap_model looks wrappers up here only
from torch import nn


@MODEL_WRAPPERS.register_module()
class DeviceAwareDDP(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that drops ``device_ids`` for a CPU module.

    MMEngine 0.10.7's Runner always passes ``device_ids=[LOCAL_RANK]``; torch's DDP
    refuses device ids for a CPU module ("device_ids ... should be None for CPU
    modules"). On GPU this is exactly the stock wrapper.
    """

    def __init__(self, module: nn.Module, device_ids=None, **kwargs) -> None:
        first = next(module.parameters(), None)
        if first is not None and first.device.type == 'cpu':
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)
