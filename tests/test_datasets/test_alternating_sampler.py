"""AlternatingHandBatchSampler and hand_schedule against independent references."""
from __future__ import annotations

from collections import Counter
from unittest import mock

import pytest

from mmaction_ext.datasets.samplers import hand_batch_sampler as hbs
from mmaction_ext.datasets.samplers.hand_batch_sampler import (
    AlternatingHandBatchSampler,
    hand_schedule,
)


class FakeDataset:
    """Interleaved hands, so dataset order and hand order differ."""

    def __init__(self, lh: int, rh: int) -> None:
        self.hands = ['lh'] * lh + ['rh'] * rh
        self.hands = [h for pair in zip(self.hands[::2], self.hands[1::2]) for h in pair] \
            + self.hands[len(self.hands) // 2 * 2:]

    def hand_indices(self) -> dict[str, list[int]]:
        return {h: [i for i, x in enumerate(self.hands) if x == h] for h in ('lh', 'rh')}

    def __len__(self) -> int:
        return len(self.hands)


class FakeSampler:
    def __init__(self, dataset, seed=3) -> None:
        self.dataset, self.seed = dataset, seed


def _runs(order: list[str]) -> list[tuple[str, int]]:
    runs: list[list] = []
    for hand in order:
        if runs and runs[-1][0] == hand:
            runs[-1][1] += 1
        else:
            runs.append([hand, 1])
    return [tuple(r) for r in runs]


def test_fixed_schedule_alternates_then_finishes_longer_hand():
    assert _runs(hand_schedule({'lh': 7, 'rh': 3}, 2, 'fixed')) == [
        ('lh', 2), ('rh', 2), ('lh', 2), ('rh', 1), ('lh', 3)]
    assert hand_schedule({'lh': 4, 'rh': 4}, 50, 'fixed') == ['lh'] * 4 + ['rh'] * 4


def test_proportional_schedule_ends_both_hands_together():
    order = hand_schedule({'lh': 12, 'rh': 4}, 2, 'proportional')
    assert Counter(order) == {'lh': 12, 'rh': 4}
    # worked by hand: the block goes to the hand with the smaller used fraction (tie: lh)
    assert _runs(order) == [('lh', 2), ('rh', 2), ('lh', 6), ('rh', 2), ('lh', 4)]
    # after every block, the hands' used fractions differ by at most one block
    used = Counter()
    for hand in order:
        used[hand] += 1
        assert abs(used['lh'] / 12 - used['rh'] / 4) <= 2 / 4 + 1e-9
    with pytest.raises(ValueError, match='schedule must be'):
        hand_schedule({'lh': 1}, 2, 'random')


def _sampler(lh=11, rh=6, batch=2, switch=2, world=(0, 1), **kw):
    with mock.patch.object(hbs, 'get_dist_info', return_value=world):
        return AlternatingHandBatchSampler(FakeSampler(FakeDataset(lh, rh)), batch,
                                           switch_every=switch, **kw)


def test_epoch_is_one_pass_over_both_lists():
    sampler = _sampler(lh=11, rh=6, batch=2, switch=3)
    ds = sampler.sampler.dataset
    assert len(sampler) == 6 + 3  # ceil(11/2) + 6/2
    batches = list(sampler)
    assert len(batches) == len(sampler)
    for batch, hand in zip(batches, sampler.order):
        assert {ds.hands[i] for i in batch} == {hand}, 'batch mixes hands or wrong hand'
    seen = Counter(i for b in batches for i in b)
    assert set(seen) == set(range(len(ds))), 'a sample was never used in the epoch'
    # only the padding of the last incomplete lh batch repeats one sample
    assert sum(seen.values()) - len(ds) == 1


def test_each_hand_is_reshuffled_every_epoch_and_reproducible():
    a, b = _sampler(seed=5), _sampler(seed=5)
    orders = []
    for epoch in range(3):
        a.set_epoch(epoch)
        orders.append({h: a.permutation(h, epoch).tolist() for h in ('lh', 'rh')})
        b.set_epoch(epoch)
        assert list(a) == list(b)
    for hand in ('lh', 'rh'):
        assert orders[0][hand] != orders[1][hand] != orders[2][hand], \
            f'{hand} data not reshuffled'
    assert _sampler(seed=6).permutation('lh', 0).tolist() != orders[0]['lh']


def test_ranks_share_the_schedule_and_split_each_global_batch():
    ranks = [_sampler(lh=13, rh=9, batch=2, switch=2, world=(r, 2), seed=1) for r in (0, 1)]
    assert ranks[0].order == ranks[1].order and len(ranks[0]) == len(ranks[1])
    ds = ranks[0].sampler.dataset
    per_rank = [r.batches(epoch=4) for r in ranks]
    union = Counter()
    for (h0, b0), (h1, b1), hand in zip(*per_rank, ranks[0].order):
        assert h0 == h1 == hand
        assert {ds.hands[i] for i in b0 + b1} == {hand}
        assert len(b0) == len(b1) == 2
        union.update(b0 + b1)
    assert set(union) == set(range(len(ds)))


def test_set_start_resumes_without_replay():
    sampler = _sampler(lh=9, rh=7, batch=2, switch=2)
    sampler.set_epoch(2)
    full = list(sampler)
    sampler.set_epoch(2)
    sampler.set_start(3)
    assert list(sampler) == full[3:]
    assert list(sampler) == full, 'start must apply to one iteration only'
    with pytest.raises(ValueError):
        sampler.set_start(len(sampler) + 1)


def test_drop_last_and_clear_errors():
    sampler = _sampler(lh=9, rh=7, batch=2, drop_last=True)
    assert sampler.batches_per_hand == {'lh': 4, 'rh': 3}
    with pytest.raises(ValueError, match="hand 'rh': 1 samples give no full batch"):
        _sampler(lh=9, rh=1, batch=2, drop_last=True)
    with pytest.raises(TypeError, match='hand_indices'):
        AlternatingHandBatchSampler(FakeSampler(object()), 2)


# ---- schedule='original': ADH-ViT's epoch (issue #20 item 9) ----

def _adh_vit_epoch(lh_loader: list, rh_loader: list, alternation_steps: int) -> list:
    """ADH-ViT's train_one_epoch_alternating, restated: ``len(lh_loader)`` steps, left
    hand first, switch after every ``alternation_steps`` steps, a loader that runs out
    is iterated again from its start (same order: its sampler's epoch did not change)."""
    iterators = {'lh': iter(lh_loader), 'rh': iter(rh_loader)}
    loaders = {'lh': lh_loader, 'rh': rh_loader}
    hand, since_switch, out = 'lh', 0, []
    for _ in range(len(lh_loader)):
        if since_switch >= alternation_steps:
            hand, since_switch = ('rh' if hand == 'lh' else 'lh'), 0
        try:
            batch = next(iterators[hand])
        except StopIteration:
            iterators[hand] = iter(loaders[hand])
            batch = next(iterators[hand])
        out.append((hand, batch))
        since_switch += 1
    return out


def _loader(sampler, hand, epoch):
    """The per-hand DataLoader of the original: the hand's shuffled order, drop_last."""
    order = sampler.permutation(hand, epoch).tolist()
    size = sampler.batch_size
    return [order[i:i + size] for i in range(0, len(order) - size + 1, size)]


@pytest.mark.parametrize('lh, rh, switch', [(22, 6, 3), (10, 30, 2), (14, 14, 50)])
def test_original_schedule_is_adh_vits_epoch(lh, rh, switch):
    sampler = _sampler(lh=lh, rh=rh, batch=2, switch=switch, schedule='original',
                       drop_last=True, seed=4)
    assert len(sampler) == lh // 2                       # the left-hand loader's length
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        expected = _adh_vit_epoch(_loader(sampler, 'lh', epoch), _loader(sampler, 'rh', epoch),
                                  switch)
        assert sampler.batches(epoch) == expected
        assert list(sampler) == [b for _, b in expected]
        assert sampler.order[0] == 'lh'                  # every epoch starts on the left
    assert sampler.permutation('rh', 0).tolist() != sampler.permutation('rh', 1).tolist()


def test_original_schedule_two_ranks_follow_one_schedule():
    ranks = [_sampler(lh=16, rh=6, batch=2, switch=2, world=(r, 2), schedule='original',
                      drop_last=True, seed=2) for r in (0, 1)]
    assert ranks[0].order == ranks[1].order == ['lh', 'lh', 'rh', 'rh']
    per_rank = [r.batches(0) for r in ranks]
    ds = ranks[0].sampler.dataset
    for (h0, b0), (h1, b1) in zip(*per_rank):
        assert h0 == h1 and {ds.hands[i] for i in b0 + b1} == {h0}
        assert not set(b0) & set(b1)                     # each rank its own shard
