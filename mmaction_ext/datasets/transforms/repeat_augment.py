"""Repeated augmentation: one decoded clip, ``num_repeats`` independently augmented samples.

VideoMAEv2 / AMD (``--num_sample 2``) decode a clip once and augment it twice, so each
clip appears twice per epoch in differently augmented copies. MMAction2's
``RepeatAugDataset`` does this for ``VideoDataset`` with a DecordInit/SampleFrames/
DecordDecode pipeline only; as a pipeline step it works with any dataset (HA-ViD, KTH),
any decoder, and with the alternating hand sampler and DDP untouched: the sampler still
yields clip indices, each index just becomes ``num_repeats`` samples of the same hand.

Put it last in the training pipeline, holding the per-copy transforms, and collate with
MMAction2's ``repeat_pseudo_collate`` (it flattens the copies into the batch).
"""
from __future__ import annotations

import copy
from typing import List

from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform, Compose

# Results entries that are handles, not data: shared by the copies, never deep-copied.
_SHARED_KEYS = ('video_reader',)


@TRANSFORMS.register_module()
class RepeatAugment(BaseTransform):
    """Run ``transforms`` ``num_repeats`` times on copies of the decoded clip.

    Args:
        transforms: the augmentation and packing steps applied to each copy (e.g.
            RandomResizedCrop ... PackActionInputs).
        num_repeats: copies per clip (the originals' ``num_sample``; 2).

    Returns a list of ``num_repeats`` packed samples (``None`` if any copy is dropped).
    """

    def __init__(self, transforms: List[dict], num_repeats: int = 2) -> None:
        if int(num_repeats) < 1:
            raise ValueError(f'RepeatAugment: num_repeats must be >= 1, got {num_repeats}')
        self.num_repeats = int(num_repeats)
        self.transforms = Compose(transforms)

    def transform(self, results: dict) -> List[dict] | dict | None:
        if self.num_repeats == 1:  # no repeats: the plain pipeline's single sample
            return self.transforms(results)
        out = []
        for _ in range(self.num_repeats):
            data = self.transforms({k: v if k in _SHARED_KEYS else copy.deepcopy(v)
                                    for k, v in results.items()})
            if data is None:
                return None
            out.append(data)
        return out

    def __repr__(self) -> str:
        return f'{type(self).__name__}(num_repeats={self.num_repeats}, {self.transforms})'
