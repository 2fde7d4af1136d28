"""Model wrappers (DDP, sharded data parallel) and the sharded EMA model."""
import torch.distributed

from .device_aware_ddp import DeviceAwareDDP

__all__ = ['DeviceAwareDDP']
if torch.distributed.is_available():  # sharded training needs torch.distributed (FSDP2)
    from .sharded_data_parallel import ShardedDataParallel
    from .sharded_ema import ShardedExponentialMovingAverage
    __all__ += ['ShardedDataParallel', 'ShardedExponentialMovingAverage']
