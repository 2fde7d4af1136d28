"""A thin epoch loop over hand-homogeneous batches that alternate between hands."""
from __future__ import annotations

import logging
import math
from typing import Union

from mmaction.registry import LOOPS
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader

from mmaction_ext.datasets.samplers.hand_batch_sampler import AlternatingHandBatchSampler

from ..hooks.alternation_state_hook import (
    AlternationStateHook,
    capture_rng_state,
    restore_rng_state,
)


@LOOPS.register_module()
class AlternatingTrainLoop(EpochBasedTrainLoop):
    """Train on batches of one hand at a time, switching hand every N iterations.

    The alternation lives in the dataloader's :class:`AlternatingHandBatchSampler`
    (``batch_sampler=dict(type='AlternatingHandBatchSampler', switch_every=50)``): one
    loader, one worker pool, prefetching across a switch, every rank on the same hand.
    This loop only (1) sets the sampler's epoch so each hand is reshuffled every pass,
    (2) checks each batch's hand against the schedule and logs switches, (3) restarts a
    resumed epoch at the saved batch (no replay, no skipped batches) with the saved RNG
    state, and (4) drops the idle head's gradients before each optimizer step.

    **An epoch is the sampler's epoch** (``len(train_dataloader)`` batches): one pass over
    both hands' lists (``schedule='fixed'``/``'proportional'``), or ADH-ViT's epoch, the
    left hand's batches with the right list restarting (``schedule='original'``, used by
    ``configs/havid_alternating.py`` to reproduce the authors' run).

    Args:
        max_epochs: epochs to train; or give ``max_iters`` instead.
        max_iters: iterations to train (overrides ``max_epochs``).
        val_begin, val_interval, dynamic_intervals: as ``EpochBasedTrainLoop`` (epochs).
        check_hands: raise if a batch's samples are not all of the scheduled hand.
    """

    def __init__(self, runner, dataloader: Union[DataLoader, dict],
                 max_epochs: int | None = None, max_iters: int | None = None,
                 val_begin: int = 1, val_interval: int = 1, dynamic_intervals=None,
                 check_hands: bool = True) -> None:
        if (max_epochs is None) == (max_iters is None):
            raise ValueError('AlternatingTrainLoop: give exactly one of max_epochs, max_iters')
        if isinstance(dataloader, dict):
            diff_rank_seed = runner._randomness_cfg.get('diff_rank_seed', False)
            dataloader = runner.build_dataloader(dataloader, seed=runner.seed,
                                                 diff_rank_seed=diff_rank_seed)
        loader = dataloader
        sampler = getattr(loader, 'batch_sampler', None)
        if not isinstance(sampler, AlternatingHandBatchSampler):
            raise TypeError(
                'AlternatingTrainLoop needs train_dataloader.batch_sampler='
                "dict(type='AlternatingHandBatchSampler', switch_every=50), got "
                f'{type(sampler).__name__}')
        if max_epochs is None:
            max_epochs = math.ceil(max_iters / len(loader))
        super().__init__(runner, loader, max_epochs=max_epochs, val_begin=val_begin,
                         val_interval=val_interval, dynamic_intervals=dynamic_intervals)
        if max_iters is not None:
            self._max_iters = int(max_iters)
        self.hand_sampler = sampler
        self.check_hands = check_hands
        self.current_hand: str | None = None
        self.state_hook = next((h for h in runner.hooks if isinstance(h, AlternationStateHook)),
                               None)
        if self.state_hook is None:
            self.state_hook = AlternationStateHook()
            runner.register_hook(self.state_hook)
        self._pending_rng: dict | None = None

    # -- state ------------------------------------------------------------------------
    def alternation_state_dict(self) -> dict:
        """What a checkpoint needs to continue exactly: schedule identity, RNG states.

        The position itself is the checkpoint's ``meta.iter`` (batches per epoch are
        constant); :class:`AlternationStateHook` stores it again as ``next_iter`` to
        detect a mismatched resume.
        """
        sampler = self.hand_sampler
        return dict(seed=sampler.seed, batches_per_epoch=len(sampler),
                    switch_every=sampler.switch_every, schedule=sampler.schedule,
                    hand_samples={h: len(i) for h, i in sampler.hand_indices.items()},
                    global_batch=sampler.global_batch, rng=capture_rng_state())

    def _align_epoch(self) -> None:
        """Make ``epoch`` hold ``iter``: 0 <= iter - epoch * len <= len.

        ``len`` (an epoch's last batch was trained, its epoch-end hooks not yet run) is
        what an iteration checkpoint saved at an epoch's end gives. A checkpoint saved
        outside the loop may count epochs otherwise: then the iteration alone fixes the
        position (batches per epoch are constant).
        """
        per_epoch = len(self.hand_sampler)
        if 0 <= self._iter - self._epoch * per_epoch <= per_epoch:
            return
        epoch = self._iter // per_epoch
        print_log(f'iteration {self._iter} is not inside epoch {self._epoch + 1}; '
                  f'continuing in epoch {epoch + 1}', logger='current', level=logging.WARNING)
        self._epoch = epoch

    def _apply_resumed_state(self) -> None:
        self._align_epoch()
        state = self.state_hook.loaded
        self.state_hook.loaded = None
        if self._iter == 0:
            return
        if state is None:
            print_log(f'resuming at iteration {self._iter} from a checkpoint without '
                      'alternation state: position derived from the iteration, RNG not '
                      'restored', logger='current', level=logging.WARNING)
            return
        sampler = self.hand_sampler
        now = dict(batches_per_epoch=len(sampler), switch_every=sampler.switch_every,
                   schedule=sampler.schedule, global_batch=sampler.global_batch,
                   hand_samples={h: len(i) for h, i in sampler.hand_indices.items()})
        changed = {k: (state[k], v) for k, v in now.items() if state[k] != v}
        if changed:
            raise RuntimeError(f'cannot resume the alternation exactly: (checkpoint, now) '
                               f'differ in {changed}')
        if state['next_iter'] != self._iter:
            raise RuntimeError(f"alternation state is for iteration {state['next_iter']}, "
                               f'the checkpoint meta says {self._iter}')
        sampler.seed = state['seed']
        self._pending_rng = state['rng']

    # -- training ---------------------------------------------------------------------
    def run(self):
        """Train; before the first step apply a resumed state and the idle-head hook."""
        self._apply_resumed_state()
        self._install_idle_head_release()
        return super().run()

    def _install_idle_head_release(self) -> None:
        model = self.runner.model.module if is_model_wrapper(self.runner.model) \
            else self.runner.model
        release = getattr(model, 'release_idle_head_grads', None)
        if release is None:
            return
        wrapper = self.runner.optim_wrapper
        wrappers = wrapper.values() if isinstance(wrapper, OptimWrapperDict) else [wrapper]

        def pre_step(*_) -> None:
            release()

        for optim_wrapper in wrappers:
            optim_wrapper.optimizer.register_step_pre_hook(pre_step)

    def run_epoch(self) -> None:
        """One pass over both hands' lists, starting mid-epoch after a resume."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        sampler = self.hand_sampler
        sampler.set_epoch(self._epoch)
        start = self._iter - self._epoch * len(sampler)  # see _align_epoch
        if start:
            sampler.set_start(start)
            where = (f'batch {start + 1}/{len(sampler)} on hand {sampler.order[start]}'
                     if start < len(sampler) else 'its end (epoch-end hooks only)')
            print_log(f'Epoch(train) [{self._epoch + 1}] resuming at {where}', logger='current')
        iterator = iter(self.dataloader)
        if self._pending_rng is not None:
            restore_rng_state(self._pending_rng)
            self._pending_rng = None
        for idx, data_batch in enumerate(iterator, start):
            if self._iter >= self._max_iters:
                self.stop_training = True
                break
            self._enter_hand(idx, sampler.order[idx], data_batch)
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def _enter_hand(self, idx: int, hand: str, data_batch: dict) -> None:
        if self.check_hands:
            got = {s.metainfo.get('hand') for s in data_batch['data_samples']}
            if got != {hand}:
                raise RuntimeError(f'iteration {self._iter}: schedule says hand {hand!r} '
                                   f'but the batch holds hands {got}')
        if hand != self.current_hand:
            order = self.hand_sampler.order
            end = idx
            while end < len(order) and order[end] == hand:
                end += 1
            print_log(f'Epoch(train) [{self._epoch + 1}][{idx + 1}/{len(order)}] iter '
                      f'{self._iter + 1}: hand {hand} for batches {idx + 1}-{end}',
                      logger='current')
            self.current_hand = hand
        self.runner.message_hub.update_info('train_hand', hand)
