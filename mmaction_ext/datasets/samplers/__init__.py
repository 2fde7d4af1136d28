"""Samplers registered into MMAction2's ``DATA_SAMPLERS`` registry."""
from .hand_batch_sampler import AlternatingHandBatchSampler

__all__ = ['AlternatingHandBatchSampler']
