"""A hook that makes one rank fail mid-run, loaded into a config by custom_imports."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RaiseOnRankHook(Hook):
    """Raise ``RuntimeError`` on ``rank`` after ``iteration`` training iterations."""

    def __init__(self, rank: int = 1, iteration: int = 3) -> None:
        self.rank, self.iteration = rank, iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.rank == self.rank and runner.iter + 1 == self.iteration:
            raise RuntimeError(f'injected failure on rank {self.rank} at iteration '
                               f'{self.iteration}')
