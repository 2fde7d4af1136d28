"""Fully sharded data parallel (torch FSDP2) as an MMEngine model wrapper.

Selected by ``model_wrapper_cfg=dict(type='ShardedDataParallel')`` together with
``runner_type='ShardedRunner'`` (see :mod:`mmaction_ext.engine.runner.sharded_runner`): the stock
train loops, hooks, optimizer constructors (layer-wise lr decay), gradient clipping and
param schedulers run unchanged; only where parameters live changes. Each rank holds
``1/world_size`` of every parameter, gradient and optimizer state (DTensors); a unit (one
backbone block, and the root: embeddings, norms, heads) is all-gathered just before its
forward/backward and freed after.
"""
from __future__ import annotations

import contextlib
from typing import Any, Dict, Iterator, Sequence, Union

import torch
import torch.distributed as dist
from mmengine.optim import OptimWrapper
from mmengine.registry import MODEL_WRAPPERS  # Runner.wrap_model looks wrappers up here only
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
)
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import CPUOffloadPolicy, MixedPrecisionPolicy, fully_shard
from torch.distributed.tensor import DTensor, distribute_tensor

# fp16 would need loss scaling (a sharded GradScaler), which is not wired in: bf16 or fp32.
_DTYPES = {'bf16': torch.bfloat16, 'fp32': None, None: None}


def shard_local(value: torch.Tensor, like: DTensor) -> DTensor:
    """This rank's shard of a full (replicated) tensor, laid out as ``like``; no comms.

    Every rank holds the same full tensor (each loaded the same file), so each one just
    keeps its own slice.
    """
    value = value.to(device=like.device, dtype=like.dtype)
    return distribute_tensor(value, like.device_mesh, like.placements, src_data_rank=None)


def _load_full_into_shards(module: nn.Module, state_dict: Dict[str, Any], prefix: str,
                           *args) -> None:
    """``load_state_dict`` pre-hook: full tensors for sharded parameters become shards.

    Registered after the original-checkpoint converter (which runs first and only needs
    shapes: a DTensor reports its global shape), so ``load_from``, ``--resume`` and
    ``tools/test.py`` load full (original or MMEngine) checkpoints into a sharded model.
    A shape mismatch is left for the loader to report.
    """
    for name, param in module.named_parameters():
        key = prefix + name
        value = state_dict.get(key)
        if (isinstance(param, DTensor) and torch.is_tensor(value)
                and not isinstance(value, DTensor) and value.shape == param.shape):
            state_dict[key] = shard_local(value, param)


def _gather_to_rank0(module: nn.Module) -> Dict[str, torch.Tensor]:
    """``module.state_dict()`` with DTensors made whole (collective), on rank 0's CPU."""
    rank0 = dist.get_rank() == 0
    out = {}
    for key, value in module.state_dict().items():
        if isinstance(value, DTensor):
            value = value.full_tensor()
        if rank0:
            out[key] = value.detach().cpu()
    return out


def _server(full: Dict[str, torch.Tensor]):
    """A ``state_dict`` post-hook that replaces the result by ``full``."""
    def serve(module, state_dict, prefix, local_metadata) -> None:
        if prefix == '':
            state_dict.clear()
            state_dict.update(full)
    return serve


def _resolve(module: nn.Module, path: str) -> nn.ModuleList:
    try:
        found = module.get_submodule(path)
    except AttributeError as err:
        raise ValueError(f'ShardedDataParallel: unit_lists entry {path!r} is not a submodule '
                         f'of {type(module).__name__} ({err}); give the dotted path of the '
                         "block list, e.g. 'backbone.blocks'") from err
    if not isinstance(found, (nn.ModuleList, nn.Sequential)):
        raise ValueError(f'ShardedDataParallel: unit_lists entry {path!r} is a '
                         f'{type(found).__name__}, not a ModuleList of blocks; give the '
                         "dotted path of the block list, e.g. 'backbone.blocks'")
    return found


@MODEL_WRAPPERS.register_module()
class ShardedDataParallel(nn.Module):
    """Shard a model over all ranks with torch FSDP2 (``fully_shard`` on a DeviceMesh).

    The model is initialised (``init_weights``, hence a backbone's ``pretrained`` file) and
    rank 0's weights are broadcast *before* sharding, as DDP does at construction; then
    every element of each ``unit_lists`` entry becomes one FSDP unit and the model itself
    the root unit. The interface is :class:`mmengine.model.MMDistributedDataParallel`'s
    (``train_step``/``val_step``/``test_step``, ``module``, ``no_sync``).

    Full checkpoints load into the shards (each rank slices its part of the full tensor:
    :func:`_load_full_into_shards`); :meth:`full_state` gathers full state dicts for
    saving (``ShardedRunner`` uses it), so checkpoints are ordinary single-file ones.

    Args:
        module: the model (already on its device, as the Runner moves it).
        unit_lists: dotted paths of ``ModuleList`` s whose elements are sharded one by one
            (per-block sharding). Default ``('backbone.blocks',)``.
        mixed_precision: ``'auto'`` (bf16 compute with fp32 gradient reduction on GPU, fp32
            on CPU), ``'bf16'`` or ``None``/``'fp32'``. It applies to the blocks (the bulk
            of the compute); the root unit (patch embedding, norms, heads, loss) computes
            in fp32. Sharded parameters and optimizer states stay fp32.
        cpu_offload: keep sharded parameters, gradients and optimizer states in CPU memory
            (the optimizer steps on CPU); only units being computed are on the GPU.
        reshard_after_forward: free each unit's gathered parameters after its forward
            (gather again for backward): least memory. ``False`` keeps them until backward.
    """

    def __init__(self, module: nn.Module, unit_lists: Sequence[str] = ('backbone.blocks',),
                 mixed_precision: str | None = 'auto', cpu_offload: bool = False,
                 reshard_after_forward: bool = True, **unused: Any) -> None:
        super().__init__()
        if unused:  # MMEngine passes DDP options (device_ids, broadcast_buffers, ...)
            known = {'device_ids', 'broadcast_buffers', 'find_unused_parameters'}
            unknown = set(unused) - known
            if unknown:
                raise TypeError(f'ShardedDataParallel got unknown arguments {sorted(unknown)}')
        if not dist.is_initialized():
            raise RuntimeError('ShardedDataParallel needs a process group: launch with '
                               'torchrun/slurm and --launcher pytorch|slurm')
        first = next(module.parameters())
        device_type = first.device.type
        if mixed_precision == 'auto':
            mixed_precision = 'bf16' if device_type == 'cuda' else None
        if mixed_precision not in _DTYPES:
            raise ValueError(f'mixed_precision={mixed_precision!r}: use auto, bf16, fp32 '
                             'or None')
        self.mixed_precision = mixed_precision
        self.cpu_offload = cpu_offload
        self.unit_lists = tuple(unit_lists)
        units = [unit for path in self.unit_lists for unit in _resolve(module, path)]

        if hasattr(module, 'init_weights') and not getattr(module, 'is_init', False):
            module.init_weights()
        with torch.no_grad():
            for tensor in module.state_dict().values():
                dist.broadcast(tensor, src=0)

        self.mesh = init_device_mesh(device_type, (dist.get_world_size(),))
        param_dtype = _DTYPES[mixed_precision]
        kwargs = dict(mesh=self.mesh, reshard_after_forward=reshard_after_forward)
        if cpu_offload:
            kwargs['offload_policy'] = CPUOffloadPolicy(pin_memory=device_type == 'cuda')
        # Blocks compute in bf16 and hand fp32 back; the root (patch embedding, norms,
        # heads, loss) stays fp32: MMAction2's heads turn scores into numpy for accuracy,
        # which has no bf16, and the loss is better in fp32 (as under autocast).
        block_policy = MixedPrecisionPolicy(
            param_dtype=param_dtype,
            reduce_dtype=torch.float32 if param_dtype is not None else None,
            output_dtype=torch.float32 if param_dtype is not None else None)
        for unit in units:
            fully_shard(unit, mp_policy=block_policy, **kwargs)
        fully_shard(module, **kwargs)
        module.register_load_state_dict_pre_hook(_load_full_into_shards)
        self.module = module

    # -- MMDistributedDataParallel's interface ---------------------------------------
    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _run_forward(self, data: Union[dict, tuple, list], mode: str):
        if isinstance(data, dict):
            return self(**data, mode=mode)
        if isinstance(data, (list, tuple)):
            return self(*data, mode=mode)
        raise TypeError(f'Output of `data_preprocessor` should be list, tuple or dict, '
                        f'but got {type(data)}')

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        """Preprocess, forward through the sharded model, backward and step, as DDP does."""
        with optim_wrapper.optim_context(self):
            data = self.module.data_preprocessor(data, training=True)
            losses = self._run_forward(data, mode='loss')
        parsed_loss, log_vars = self.module.parse_losses(losses)
        optim_wrapper.update_params(parsed_loss)
        return log_vars

    def val_step(self, data: Union[dict, tuple, list]) -> list:
        return self.module.val_step(data)

    def test_step(self, data: Union[dict, tuple, list]) -> list:
        return self.module.test_step(data)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Gradient accumulation: keep unsharded gradients, reduce on the last micro-batch."""
        self.module.set_requires_gradient_sync(False)
        try:
            yield
        finally:
            self.module.set_requires_gradient_sync(True)

    # -- checkpoints -----------------------------------------------------------------
    @contextlib.contextmanager
    def full_state(self, optimizer: torch.optim.Optimizer | None = None,
                   extra: Sequence[nn.Module] = ()) -> Iterator[None]:
        """Gather full state dicts (collective: call on every rank); inside the context,
        rank 0's ``module.state_dict()``, ``optimizer.state_dict()`` and each ``extra``
        module's ``state_dict()`` (e.g. a sharded EMA) return them.

        Model: parameter names as the unwrapped model's, full CPU tensors. Optimizer:
        ``torch.distributed.checkpoint``'s full format (states keyed by parameter name,
        full CPU tensors), which a plain optimizer of the same parameter groups also loads.
        """
        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        served = [(self.module, get_model_state_dict(self.module, options=options))]
        served += [(module, _gather_to_rank0(module)) for module in extra]
        optim_sd = (get_optimizer_state_dict(self.module, optimizer, options=options)
                    if optimizer is not None else None)
        handles = []
        if dist.get_rank() == 0:
            for module, full in served:
                handles.append(module.register_state_dict_post_hook(_server(full)))
            if optimizer is not None:
                handles.append(optimizer.register_state_dict_post_hook(
                    lambda optim, state_dict: optim_sd))
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    @staticmethod
    def shard_optimizer_state_dict(optimizer: torch.optim.Optimizer,
                                   state_dict: Dict[str, Any]) -> int:
        """Cut a full optimizer state dict (in place) into this rank's shards, for
        ``optimizer.load_state_dict``; no comms.

        Saved states are matched to parameters as ``Optimizer.load_state_dict`` does: by
        position in the parameter groups, whether keyed by name (saved sharded) or by
        index (saved by DDP). A state tensor shaped like its sharded parameter becomes
        this rank's shard; step counts stay as they are. Returns how many were cut.
        """
        params = [p for group in optimizer.param_groups for p in group['params']]
        saved = [k for group in state_dict.get('param_groups', []) for k in group['params']]
        if len(saved) != len(params):
            return 0  # optimizer.load_state_dict reports the mismatch
        count = 0
        for key, param in zip(saved, params):
            state = state_dict.get('state', {}).get(key)
            if not isinstance(param, DTensor) or not state:
                continue
            for name, value in state.items():
                if (torch.is_tensor(value) and not isinstance(value, DTensor)
                        and value.shape == param.shape):
                    state[name] = shard_local(value, param)
                    count += 1
        return count

    def extra_repr(self) -> str:
        return (f'units={self.unit_lists}, world_size={self.mesh.size()}, '
                f'mixed_precision={self.mixed_precision}, cpu_offload={self.cpu_offload}')
