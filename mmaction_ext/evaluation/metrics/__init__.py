"""Metrics registered into MMAction2's ``METRICS`` registry."""
from .hand_acc_metric import HandAccMetric
from .temporal_segmentation_metric import TemporalSegmentationMetric

__all__ = ['HandAccMetric', 'TemporalSegmentationMetric']
