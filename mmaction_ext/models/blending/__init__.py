"""Mixup / CutMix variants that pair each sample with the reversed batch (timm's rule)."""
from .reversed_cutmix import ReversedCutmixBlending
from .reversed_mixup import ReversedMixupBlending

__all__ = ['ReversedCutmixBlending', 'ReversedMixupBlending']
