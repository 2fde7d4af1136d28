"""Hand-homogeneous batches that alternate between the two hands' clip lists."""
from __future__ import annotations

from typing import Iterator

import numpy as np
from mmaction.registry import DATA_SAMPLERS
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

SCHEDULES = ('fixed', 'proportional', 'original')


def hand_schedule(batches: dict[str, int], switch_every: int, schedule: str) -> list[str]:
    """The hand of every batch of one epoch.

    ``fixed``: blocks of ``switch_every`` batches alternate strictly (first hand first);
    when one hand's list is used up the other hand's remaining batches follow.
    ``proportional``: blocks of ``switch_every`` batches, each block going to the hand
    that has used the smaller fraction of its batches, so both lists end together.
    ``original`` (ADH-ViT's trainer): as many batches as the first hand has; blocks of
    ``switch_every`` alternate strictly from the first hand on; a hand whose batches
    run out starts its list again (see :meth:`AlternatingHandBatchSampler.batches`).
    """
    if schedule not in SCHEDULES:
        raise ValueError(f'schedule must be one of {SCHEDULES}, got {schedule!r}')
    if switch_every < 1:
        raise ValueError(f'switch_every must be >= 1, got {switch_every}')
    hands = list(batches)
    if schedule == 'original':
        return [hands[(i // switch_every) % len(hands)] for i in range(batches[hands[0]])]
    left = dict(batches)
    order: list[str] = []
    turn = 0
    while any(left.values()):
        live = [h for h in hands if left[h] > 0]
        if schedule == 'fixed':
            hand = hands[turn % len(hands)]
            turn += 1
            if left[hand] == 0:
                continue
        else:
            hand = min(live, key=lambda h: (1 - left[h] / batches[h], hands.index(h)))
        block = min(switch_every, left[hand])
        order += [hand] * block
        left[hand] -= block
    return order


@DATA_SAMPLERS.register_module()
class AlternatingHandBatchSampler(Sampler):
    """Yield hand-homogeneous batches, ``switch_every`` of one hand then of the other.

    One epoch is one pass over both hands' lists (``schedule='original'``: ADH-ViT's
    epoch, the left hand's batches, the right list restarting when it runs out, in the
    same order within the epoch, as a restarted DataLoader repeats its sampler's
    order). Each hand's order is reshuffled every
    epoch from ``(seed, epoch, hand)``, identically on every rank; each global batch of
    ``batch_size * world_size`` samples is split into per-rank shards, so all ranks are
    on the same hand at every iteration by construction. The sampler is a pure function
    of ``(seed, epoch)``: exact resume only needs ``set_epoch(epoch)`` and
    ``set_start(batch)`` (what :class:`AlternatingTrainLoop` does); nothing is replayed.

    Built by MMEngine's Runner from ``train_dataloader.batch_sampler``; the dataset must
    provide ``hand_indices()`` (:class:`HAViDDataset` does).

    Args:
        sampler: the dataloader's sampler; only its ``dataset`` and ``seed`` are used.
        batch_size: per-rank batch size.
        switch_every: batches of one hand before switching (50 in ADH-ViT).
        schedule: ``'fixed'``, ``'proportional'`` or ``'original'`` (see
            :func:`hand_schedule`).
        drop_last: drop each hand's last incomplete global batch; otherwise it is filled
            with samples from the start of that hand's shuffled order.
        shuffle: reshuffle each hand's order every epoch.
        seed: overrides the sampler's seed (must be equal on all ranks).
    """

    def __init__(self, sampler, batch_size: int, switch_every: int = 50,
                 schedule: str = 'fixed', drop_last: bool = False, shuffle: bool = True,
                 seed: int | None = None) -> None:
        dataset = getattr(sampler, 'dataset', None)
        if not hasattr(dataset, 'hand_indices'):
            raise TypeError(
                'AlternatingHandBatchSampler needs a dataset with hand_indices() '
                f'(e.g. HAViDDataset), got {type(dataset).__name__}')
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.switch_every, self.schedule = int(switch_every), schedule
        self.drop_last, self.shuffle = drop_last, shuffle
        if seed is None:
            seed = getattr(sampler, 'seed', None)
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.rank, self.world_size = get_dist_info()
        self.hand_indices = {h: np.asarray(i, dtype=np.int64)
                             for h, i in dataset.hand_indices().items() if len(i)}
        self.global_batch = self.batch_size * self.world_size
        self.batches_per_hand = {h: self._num_batches(len(i))
                                 for h, i in self.hand_indices.items()}
        for hand, count in self.batches_per_hand.items():
            if count == 0:
                raise ValueError(
                    f'hand {hand!r}: {len(self.hand_indices[hand])} samples give no full '
                    f'batch of {self.global_batch} (batch_size x world_size) with drop_last')
        self.order = hand_schedule(self.batches_per_hand, self.switch_every, schedule)
        self.epoch = 0
        self._start = 0

    def _num_batches(self, n: int) -> int:
        return n // self.global_batch if self.drop_last else -(-n // self.global_batch)

    def __len__(self) -> int:
        """Batches per epoch (one pass over both lists), equal on every rank."""
        return len(self.order)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose shuffles the next iteration uses; restart it at 0."""
        self.epoch = int(epoch)
        self._start = 0

    def set_start(self, batch: int) -> None:
        """Make the next iteration begin at ``batch`` of the current epoch (resume)."""
        if not 0 <= batch <= len(self):
            raise ValueError(f'start batch {batch} outside [0, {len(self)}]')
        self._start = int(batch)

    def permutation(self, hand: str, epoch: int) -> np.ndarray:
        """``hand``'s dataset indices in the order of epoch ``epoch`` (padded or cut)."""
        indices = self.hand_indices[hand]
        if self.shuffle:
            hand_id = sorted(self.hand_indices).index(hand)
            rng = np.random.default_rng([self.seed, epoch, hand_id])
            indices = indices[rng.permutation(len(indices))]
        total = self.batches_per_hand[hand] * self.global_batch
        if total > len(indices):
            indices = np.resize(indices, total)  # repeat from the start
        return indices[:total]

    def batches(self, epoch: int) -> list[tuple[str, list[int]]]:
        """This rank's ``(hand, indices)`` for every batch of epoch ``epoch``."""
        perms = {h: self.permutation(h, epoch) for h in self.hand_indices}
        used = {h: 0 for h in self.hand_indices}
        out = []
        lo, hi = self.rank * self.batch_size, (self.rank + 1) * self.batch_size
        for hand in self.order:
            # 'original' only: a hand out of batches restarts its list (same order)
            start = used[hand] % self.batches_per_hand[hand] * self.global_batch
            batch = perms[hand][start:start + self.global_batch]
            out.append((hand, batch[lo:hi].tolist()))
            used[hand] += 1
        return out

    def __iter__(self) -> Iterator[list[int]]:
        start, self._start = self._start, 0
        for _, indices in self.batches(self.epoch)[start:]:
            yield indices
