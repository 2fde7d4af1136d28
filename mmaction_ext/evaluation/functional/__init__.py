"""Metric functions that need no registry: per-sample coverage, segmentation scores."""
