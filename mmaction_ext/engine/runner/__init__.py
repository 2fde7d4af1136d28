"""Runners and loops: the alternating train loop, the data-root and sharded runners."""
import torch.distributed

from .alternating_train_loop import AlternatingTrainLoop
from .data_root_runner import DataRootRunner
from .quiet_runner import build_runner

__all__ = ['AlternatingTrainLoop', 'DataRootRunner', 'build_runner']
if torch.distributed.is_available():  # sharded training needs torch.distributed (FSDP2)
    from .sharded_runner import ShardedRunner
    __all__ += ['ShardedRunner']
