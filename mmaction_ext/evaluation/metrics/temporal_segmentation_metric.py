"""Registered metric: per-hand temporal action segmentation measures of frame labels."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from mmaction.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from ..functional.segmentation import DEFAULT_OVERLAPS, segmentation_scores


@METRICS.register_module()
class TemporalSegmentationMetric(BaseMetric):
    """Frame accuracy, edit score and F1@k per track (hand) over whole videos.

    Each processed sample is one video: a dict with, for every track ``t`` in
    ``tracks``, ``{t}_pred_labels`` and ``{t}_gt_labels`` (per-frame class indices of
    equal length); for a one-head model use ``tracks=('label',)`` and the keys
    ``pred_labels`` / ``gt_labels``. An optional ``video`` key names the video in
    errors. Keys of the result: ``{t}/acc``, ``{t}/edit``, ``{t}/F1@10`` ... and, for
    several tracks, ``mean/...`` over the tracks.

    Args:
        tracks: ``('lh', 'rh')`` (default) or ``('label',)``.
        overlaps: IoU thresholds of the F1 scores.
        bg_class: labels left out of edit and F1 (MS-TCN's ``bg_class``), for every
            track, or ``{track: labels}``; a label is a class index, or a class name
            looked up in ``dataset_meta['classes']`` (per track when that is a dict).
    """

    default_prefix = 'seg'

    def __init__(self, tracks: Sequence[str] = ('lh', 'rh'),
                 overlaps: Sequence[float] = DEFAULT_OVERLAPS,
                 bg_class: Sequence[int | str] | dict[str, Sequence[int | str]] = (),
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tracks = tuple(tracks)
        self.overlaps = tuple(overlaps)
        if isinstance(bg_class, (str, int)):
            bg_class = [bg_class]
        if isinstance(bg_class, dict):
            unknown = sorted(set(bg_class) - set(self.tracks))
            if unknown:
                raise KeyError(f'TemporalSegmentationMetric: bg_class names tracks {unknown} '
                               f'not in tracks {self.tracks}')
        self.bg_class = bg_class

    def _key(self, track: str, kind: str) -> str:
        return f'{kind}_labels' if track == 'label' else f'{track}_{kind}_labels'

    def background(self, track: str) -> set[int]:
        """The class indices of ``track`` left out of edit and F1."""
        given = self.bg_class.get(track, ()) if isinstance(self.bg_class, dict) \
            else self.bg_class
        out = set()
        for label in given:
            if isinstance(label, str):
                classes = (self.dataset_meta or {}).get('classes')
                if isinstance(classes, dict):
                    classes = classes.get(track)
                if not classes or label not in list(classes):
                    raise KeyError(
                        f'TemporalSegmentationMetric: background class {label!r} is not a '
                        f'class name of track {track!r} (classes: {classes}); give its '
                        'index instead, or fix the name')
                label = list(classes).index(label)
            out.add(int(label))
        return out

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            entry = {'video': str(sample.get('video', f'video {len(self.results)}'))}
            for track in self.tracks:
                for kind in ('pred', 'gt'):
                    key = self._key(track, kind)
                    if key not in sample:
                        raise KeyError(f'TemporalSegmentationMetric: sample has no {key!r} '
                                       f'(keys: {sorted(sample)})')
                    value = sample[key]
                    if hasattr(value, 'cpu'):
                        value = value.cpu().numpy()
                    entry[key] = np.asarray(value)
            self.results.append(entry)

    def compute_metrics(self, results: list) -> dict[str, float]:
        out: dict[str, float] = {}
        names = [r.get('video', f'video {i}') for i, r in enumerate(results)]
        for track in self.tracks:
            scores = segmentation_scores([r[self._key(track, 'pred')] for r in results],
                                         [r[self._key(track, 'gt')] for r in results],
                                         self.overlaps, self.background(track),
                                         [f'{n} ({track})' for n in names])
            out.update({f'{track}/{k}': v for k, v in scores.items()})
        if len(self.tracks) > 1:
            for name in scores:
                out[f'mean/{name}'] = float(np.mean([out[f'{t}/{name}'] for t in self.tracks]))
        print_log(self.table(out, len(results)), logger='current')
        return out

    @staticmethod
    def table(metrics: dict[str, float], num_videos: int) -> str:
        """A plain-text per-track table (percent) for logs and docs."""
        rows = list(dict.fromkeys(k.split('/')[0] for k in metrics))
        cols = [k.split('/', 1)[1] for k in metrics if k.startswith(rows[0] + '/')]
        lines = [f'temporal segmentation (%), {num_videos} video(s):',
                 f"{'track':<7}" + ''.join(f'{c:>9}' for c in cols)]
        for r in rows:
            lines.append(f'{r:<7}' + ''.join(f'{metrics[f"{r}/{c}"]:9.2f}' for c in cols))
        return '\n'.join(lines)
