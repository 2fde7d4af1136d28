"""Mixup/CutMix per hand, each with that hand's own class count."""
from __future__ import annotations

import copy

import torch
from mmaction.registry import MODELS
from mmaction.utils import SampleList

HANDS = ('lh', 'rh')


def sample_hand(sample, where: str = 'batch') -> str:
    """The ``hand`` metainfo of a data sample, with an error saying how to get one."""
    hand = sample.metainfo.get('hand')
    if hand not in HANDS:
        raise KeyError(
            f'{where}: data sample has hand={hand!r}; expected one of {HANDS}. Use '
            "HAViDDataset (it tags every sample) or set_metainfo(dict(hand='lh')).")
    return hand


def _with_classes(cfg: dict, num_classes: int, hand: str) -> dict:
    """Copy a blending config and give it (and any nested ``augments``) ``num_classes``."""
    cfg = copy.deepcopy(dict(cfg))
    targets = cfg['augments'] if 'augments' in cfg else [cfg]
    if isinstance(targets, dict):
        targets = cfg['augments'] = [targets]
    for target in targets:
        given = target.get('num_classes', num_classes)
        if given != num_classes:
            raise ValueError(f'blending for hand {hand!r} says num_classes={given}, but '
                             f'num_classes[{hand!r}] is {num_classes}')
        target['num_classes'] = num_classes
    return cfg


@MODELS.register_module()
class HandAwareBlending:
    """Apply one blending instance per hand, built with that hand's class count.

    Used as ``ActionDataPreprocessor(blending=dict(type='HandAwareBlending', ...))``.
    A batch must hold one hand only (the alternating batch sampler guarantees it); its
    labels become soft labels of that hand's length. ADH-ViT used one mixup with the
    larger class count for both hands, which gives the smaller head wrong-length targets.

    Args:
        num_classes: per hand, e.g. ``dict(lh=75, rh=75)``.
        blending: one config used for both hands, without ``num_classes``, e.g.
            ``dict(type='RandomBatchAugment', augments=[dict(type='MixupBlending',
            alpha=0.8), dict(type='CutmixBlending', alpha=1.0)])``.
    """

    def __init__(self, num_classes: dict[str, int], blending: dict) -> None:
        self.num_classes = dict(num_classes)
        self.blendings = {hand: MODELS.build(_with_classes(blending, n, hand))
                          for hand, n in self.num_classes.items()}

    def __call__(self, imgs: torch.Tensor, batch_data_samples: SampleList,
                 **kwargs) -> tuple[torch.Tensor, SampleList]:
        hands = {sample_hand(s, 'HandAwareBlending') for s in batch_data_samples}
        if len(hands) != 1:
            raise ValueError(f'HandAwareBlending needs a one-hand batch, got hands {hands}; '
                             'use AlternatingHandBatchSampler for training')
        hand = hands.pop()
        if hand not in self.blendings:
            raise KeyError(f'HandAwareBlending has no blending for hand {hand!r}')
        return self.blendings[hand](imgs, batch_data_samples, **kwargs)
