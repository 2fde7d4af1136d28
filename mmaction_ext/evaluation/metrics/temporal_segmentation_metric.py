"""Registered metric: per-hand temporal action segmentation measures of frame labels."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from mmaction.registry import METRICS
from mmengine.evaluator import BaseMetric

from ..functional.segmentation import DEFAULT_OVERLAPS, segmentation_scores


@METRICS.register_module()
class TemporalSegmentationMetric(BaseMetric):
    """Frame accuracy, edit score and F1@k per track (hand) over whole videos.

    Each processed sample is one video: a dict with, for every track ``t`` in
    ``tracks``, ``{t}_pred_labels`` and ``{t}_gt_labels`` (per-frame class indices of
    equal length); for a one-head model use ``tracks=('label',)`` and the keys
    ``pred_labels`` / ``gt_labels``. Keys of the result: ``{t}/acc``, ``{t}/edit``,
    ``{t}/F1@10`` ... and, for several tracks, ``mean/...`` over the tracks.

    Args:
        tracks: ``('lh', 'rh')`` (default) or ``('label',)``.
        overlaps: IoU thresholds of the F1 scores.
    """

    default_prefix = 'seg'

    def __init__(self, tracks: Sequence[str] = ('lh', 'rh'),
                 overlaps: Sequence[float] = DEFAULT_OVERLAPS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tracks = tuple(tracks)
        self.overlaps = tuple(overlaps)

    def _key(self, track: str, kind: str) -> str:
        return f'{kind}_labels' if track == 'label' else f'{track}_{kind}_labels'

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            entry = {}
            for track in self.tracks:
                for kind in ('pred', 'gt'):
                    key = self._key(track, kind)
                    if key not in sample:
                        raise KeyError(f'TemporalSegmentationMetric: sample has no {key!r} '
                                       f'(keys: {sorted(sample)})')
                    entry[key] = np.asarray(sample[key])
            self.results.append(entry)

    def compute_metrics(self, results: list) -> dict[str, float]:
        out: dict[str, float] = {}
        for track in self.tracks:
            scores = segmentation_scores([r[self._key(track, 'pred')] for r in results],
                                         [r[self._key(track, 'gt')] for r in results],
                                         self.overlaps)
            out.update({f'{track}/{k}': v for k, v in scores.items()})
        if len(self.tracks) > 1:
            for name in scores:
                out[f'mean/{name}'] = float(np.mean([out[f'{t}/{name}'] for t in self.tracks]))
        return out
