"""Metrics registered into MMAction2's ``METRICS`` registry, and their functions."""
from . import functional, metrics  # noqa: F401
from .metrics import HandAccMetric, TemporalSegmentationMetric

__all__ = ['HandAccMetric', 'TemporalSegmentationMetric']
