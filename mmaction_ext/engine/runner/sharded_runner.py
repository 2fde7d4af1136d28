"""The stock Runner, made to save and resume a model sharded by ``ShardedDataParallel``."""
from __future__ import annotations

from mmengine.hooks import EMAHook
from mmengine.model import ExponentialMovingAverage
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import RUNNERS  # MMEngine-style tools look runners up here only

from ..model.sharded_data_parallel import ShardedDataParallel
from ..model.sharded_ema import ShardedExponentialMovingAverage
from .data_root_runner import DataRootRunner


@RUNNERS.register_module()
class ShardedRunner(DataRootRunner):
    """``Runner`` whose checkpoints hold full state dicts when the model is sharded.

    With any other wrapper (or none: one process) it is exactly the stock Runner. With
    :class:`ShardedDataParallel` three stock steps cannot work on sharded (DTensor)
    parameters, and are replaced:

    * ``_init_model_weights``: the wrapper already initialised the model and broadcast
      rank 0's weights before sharding (the stock broadcast of each state tensor cannot
      take a DTensor);
    * ``save_checkpoint``: stock saving runs on rank 0 only, but gathering shards needs
      every rank: all ranks gather full model (and optimizer) state to rank 0's CPU
      memory, then the stock code writes it there, through the same hooks
      (``SafeCheckpointHook``'s atomic write, the alternation state, ...);
    * ``resume``: the checkpoint is read into CPU memory, and its full optimizer state is
      cut into this rank's shards before the stock code loads it (model weights are
      sliced by the wrapper's load hook), so no GPU ever holds the full state.

    ``EMAHook`` gets :class:`ShardedExponentialMovingAverage` (the stock EMA deep-copies
    the model, which FSDP refuses), gathered into checkpoints like the model.

    Config: ``runner_type='ShardedRunner'``,
    ``model_wrapper_cfg=dict(type='ShardedDataParallel', ...)``.
    """

    @property
    def sharded(self) -> ShardedDataParallel | None:
        return self.model if isinstance(self.model, ShardedDataParallel) else None

    def train(self):
        """Refuse what sharding does not support yet, then train as the stock Runner."""
        if self.sharded is not None:
            for hook in self.hooks:
                if isinstance(hook, EMAHook):
                    self._shard_ema(hook)
            optim = self.optim_wrapper
            if isinstance(optim, dict):
                amp = optim.get('type') in ('AmpOptimWrapper', AmpOptimWrapper)
            else:
                amp = isinstance(optim, AmpOptimWrapper)
            if amp:
                raise NotImplementedError(
                    'AmpOptimWrapper (--amp) with ShardedDataParallel: the wrapper already '
                    "computes in bf16 on GPU (model_wrapper_cfg.mixed_precision='auto'); "
                    'drop --amp')
        return super().train()

    def _shard_ema(self, hook: EMAHook) -> None:
        """Point ``EMAHook`` at the sharded EMA (the stock one deep-copies the model,
        which FSDP refuses)."""
        kind = hook.ema_cfg.get('type')
        if kind in ('ExponentialMovingAverage', ExponentialMovingAverage):
            hook.ema_cfg['type'] = ShardedExponentialMovingAverage
            self.logger.info('EMAHook: ShardedExponentialMovingAverage (the averaged '
                             'weights are sharded like the model)')
        elif kind not in ('ShardedExponentialMovingAverage', ShardedExponentialMovingAverage):
            raise NotImplementedError(
                f'EMAHook(ema_type={kind!r}) with ShardedDataParallel: only '
                "ExponentialMovingAverage is supported sharded; use ema_type="
                "'ExponentialMovingAverage' or train with DeviceAwareDDP")

    def _ema_models(self) -> list:
        return [hook.ema_model for hook in self.hooks
                if isinstance(hook, EMAHook) and hasattr(hook, 'ema_model')]

    def _init_model_weights(self) -> None:
        if self.sharded is None:
            super()._init_model_weights()

    def save_checkpoint(self, out_dir: str, filename: str, file_client_args=None,
                        save_optimizer: bool = True, save_param_scheduler: bool = True,
                        meta=None, by_epoch: bool = True, backend_args=None) -> None:
        """Gather on every rank, then write on rank 0 (stock code, stock hooks)."""
        kwargs = dict(file_client_args=file_client_args, save_optimizer=save_optimizer,
                      save_param_scheduler=save_param_scheduler, meta=meta,
                      by_epoch=by_epoch, backend_args=backend_args)
        wrapper = self.sharded
        if wrapper is None:
            return super().save_checkpoint(out_dir, filename, **kwargs)
        optimizer = None
        if save_optimizer:
            if not isinstance(self.optim_wrapper, OptimWrapper):
                raise TypeError('ShardedRunner saves one OptimWrapper; got '
                                f'{type(self.optim_wrapper).__name__}')
            optimizer = self.optim_wrapper.optimizer
        with wrapper.full_state(optimizer, extra=self._ema_models()):
            super().save_checkpoint(out_dir, filename, **kwargs)

    def resume(self, filename: str, resume_optimizer: bool = True,
               resume_param_scheduler: bool = True, map_location='default') -> None:
        """Stock resume; a sharded model's checkpoint is read into CPU memory (not onto
        every GPU in full) and each rank moves only its shards to its device."""
        if self.sharded is not None and map_location == 'default':
            map_location = 'cpu'
        super().resume(filename, resume_optimizer=resume_optimizer,
                       resume_param_scheduler=resume_param_scheduler,
                       map_location=map_location)

    def load_checkpoint(self, filename: str, map_location='cpu', strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):  # noqa: B006 (stock)
        """Stock loading (the wrapper's hook slices the model weights); then the full
        optimizer state a resume will load is cut into this rank's shards first."""
        checkpoint = super().load_checkpoint(filename, map_location=map_location,
                                             strict=strict, revise_keys=revise_keys)
        wrapper = self.sharded
        if (wrapper is not None and 'optimizer' in checkpoint
                and isinstance(self.optim_wrapper, OptimWrapper)):
            wrapper.shard_optimizer_state_dict(self.optim_wrapper.optimizer,
                                               checkpoint['optimizer'])
        return checkpoint
