"""EMA of a model sharded by ``ShardedDataParallel`` (FSDP refuses ``deepcopy``)."""
from __future__ import annotations

import torch
from mmaction.registry import MODELS
from mmengine.model import ExponentialMovingAverage
from torch import nn

from .sharded_data_parallel import _load_full_into_shards


def _shell_of(model: nn.Module) -> nn.Module:
    """Plain modules with ``model``'s dotted names holding detached clones of its
    (sharded) parameters and its buffers: the same names, ``state_dict`` keys and
    ``parameters()`` order as the stock EMA's deep copy (``EMAHook`` swaps averaged and
    live weights by that order)."""
    shell = nn.Module()

    def owner(path: str) -> tuple[nn.Module, str]:
        *parents, leaf = path.split('.')
        module = shell
        for name in parents:
            if name not in module._modules:
                module.add_module(name, nn.Module())
            module = module._modules[name]
        return module, leaf

    for name, _ in model.named_modules():  # the model's module order first
        if name:
            owner(name + '.x')
    for name, param in model.named_parameters():
        module, leaf = owner(name)
        module.register_parameter(leaf, nn.Parameter(param.detach().clone(),
                                                     requires_grad=False))
    persistent = set(model.state_dict())
    for name, buffer in model.named_buffers():
        module, leaf = owner(name)
        module.register_buffer(leaf, buffer.detach().clone(),
                               persistent=name in persistent)
    return shell


@MODELS.register_module()
class ShardedExponentialMovingAverage(ExponentialMovingAverage):
    """:class:`mmengine.model.ExponentialMovingAverage` over sharded parameters.

    The stock class deep-copies the model, which FSDP2 refuses; here the average is kept
    in a shell of detached clones (DTensor shards stay shards: each rank averages its own
    part, no communication). Averaging, ``EMAHook``'s parameter swap for validation and
    its checkpoint keys are the stock ones; full checkpoints load into the shards as for
    the model. ``ShardedRunner`` selects it instead of ``ExponentialMovingAverage`` and
    gathers it into checkpoints.
    """

    def __init__(self, model: nn.Module, momentum: float = 0.0002, interval: int = 1,
                 device: torch.device | None = None, update_buffers: bool = False) -> None:
        nn.Module.__init__(self)  # not BaseAveragedModel's: it deep-copies the model
        self.module = _shell_of(model)
        self.interval = interval
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer('steps', torch.tensor(0, dtype=torch.long, device=device))
        self.update_buffers = update_buffers
        self.avg_parameters = (self.module.state_dict() if update_buffers
                               else dict(self.module.named_parameters()))
        if not 0.0 < momentum < 1.0:
            raise ValueError(f'momentum must be in range (0.0, 1.0) but got {momentum}')
        self.momentum = momentum
        self.register_load_state_dict_pre_hook(_load_full_into_shards)
        self.module.register_load_state_dict_pre_hook(_load_full_into_shards)

    def forward(self, *args, **kwargs):
        raise RuntimeError('ShardedExponentialMovingAverage holds averaged shards only; '
                           'EMAHook swaps them into the sharded model to evaluate')
