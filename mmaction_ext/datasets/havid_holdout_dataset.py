"""HA-ViD training lists split into a training part and a held-out part (model selection)."""
from __future__ import annotations

import numpy as np
from mmaction.registry import DATASETS

from .havid_dataset import HANDS, HAViDDataset

PARTS = ('train', 'heldout')


@DATASETS.register_module()
class HAViDHoldoutDataset(HAViDDataset):
    """``HAViDDataset`` keeping one part of each hand's list: ``'train'`` or ``'heldout'``.

    HA-ViD has no test list: the val list is what gets reported, so choosing a checkpoint
    on it inflates the number. Selecting a model needs clips the reported list does not
    contain: this holds out ``holdout_fraction`` of each hand's *training* list (a fixed
    random choice per ``holdout_seed`` and hand; the two parts are disjoint and together
    the whole list). Give the training loader ``part='train'`` and the validation loader
    ``part='heldout'`` with the same fraction and seed.

    Clips are held out one by one: clips cut from one recording can fall on both sides,
    so the held-out score is optimistic for unseen recordings; it only ranks checkpoints.

    Args:
        part: ``'train'`` (the rest) or ``'heldout'``.
        holdout_fraction: fraction of each hand's list held out, in (0, 1).
        holdout_seed: seed of the choice (equal for both loaders).
        **kwargs: as ``HAViDDataset`` (``split`` is normally ``'train'``).
    """

    def __init__(self, *args, part: str = 'train', holdout_fraction: float = 0.1,
                 holdout_seed: int = 0, **kwargs) -> None:
        if part not in PARTS:
            raise ValueError(f'HAViDHoldoutDataset: part must be one of {PARTS}, got {part!r}')
        if not 0 < float(holdout_fraction) < 1:
            raise ValueError('HAViDHoldoutDataset: holdout_fraction must be in (0, 1), got '
                             f'{holdout_fraction!r} (e.g. 0.1 holds out 10% per hand)')
        self.part, self.holdout_fraction = part, float(holdout_fraction)
        self.holdout_seed = int(holdout_seed)
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> list[dict]:
        """The full lists, then this part of each hand's clips (list order kept)."""
        data_list = super().load_data_list()
        keep, counts = [], {}
        for hand in self.hands:
            mine = [i for i, info in enumerate(data_list) if info['hand'] == hand]
            rng = np.random.default_rng([self.holdout_seed, HANDS.index(hand)])
            held = set(rng.permutation(mine)[:round(self.holdout_fraction * len(mine))]
                       .tolist())
            if not held or len(held) == len(mine):
                raise ValueError(
                    f'HAViDHoldoutDataset: hand {hand!r} has {len(mine)} clips; '
                    f'holdout_fraction={self.holdout_fraction} leaves an empty part')
            part = [i for i in mine if (i in held) == (self.part == 'heldout')]
            keep += part
            counts[hand] = len(part)
        self._metainfo.update(hand_counts=counts, holdout=dict(
            part=self.part, fraction=self.holdout_fraction, seed=self.holdout_seed))
        return [data_list[i] for i in sorted(keep)]
