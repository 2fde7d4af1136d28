"""Datasets, transforms and samplers registered into MMAction2's registries."""
from . import samplers, transforms  # noqa: F401
from .havid_dataset import HAViDDataset
from .havid_holdout_dataset import HAViDHoldoutDataset
from .kth import KTHDataset
from .samplers import *  # noqa: F401,F403
from .segmentation_feature_dataset import SegmentationFeatureDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['HAViDDataset', 'HAViDHoldoutDataset', 'KTHDataset', 'SegmentationFeatureDataset']
