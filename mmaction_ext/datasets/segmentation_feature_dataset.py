"""Registered dataset: whole videos of per-frame features in MS-TCN's / the authors' layout."""
from __future__ import annotations

import os.path as osp
from typing import Any, Sequence

import numpy as np
import torch
from mmaction.registry import DATASETS
from mmaction.structures import ActionDataSample
from mmengine.dataset import BaseDataset

from .segmentation_layout import (
    HAND_FOLDERS,
    ONE_STREAM,
    SegmentationLayoutError,
    feature_path,
    feature_shape,
    load_features,
    read_bundle,
    read_mapping,
    read_truth,
    truth_path,
)


@DATASETS.register_module()
class SegmentationFeatureDataset(BaseDataset):
    """One sample per video: ``{track: (D, T)}`` features and per-frame labels.

    Everything is checked when the dataset is built, with the file named: a video of the
    split without its feature or truth file, a label name not in the mapping, a feature
    file whose frame count differs from its truth's (MS-TCN silently cuts to the shorter;
    here it is an error), hands of different lengths. Features are read per sample.

    Args:
        ann_file: the split bundle, e.g. ``'splits/train.split1.bundle'`` (relative to
            ``data_root``).
        tracks: ``('lh', 'rh')`` for ``features/{left_hand,right_hand}/`` (dual-hand),
            ``('label',)`` for one stream directly under ``features/`` (Breakfast).
        mapping: ``'mapping.txt'`` (one class list for every track, as MS-TCN and the
            authors' code read it) or ``{track: file}`` (each hand its own classes).
        sample_rate: keep every n-th frame for the model (MS-TCN's ``sample_rate``;
            predictions are repeated back to every frame, scores use all frames).
    """

    def __init__(self, ann_file: str, data_root: str = '', tracks: Sequence[str] = ('lh', 'rh'),
                 mapping: str | dict[str, str] = 'mapping.txt', sample_rate: int = 1,
                 pipeline: Sequence[Any] = (), test_mode: bool = False, **kwargs: Any) -> None:
        self.tracks = tuple(tracks)
        unknown = [t for t in self.tracks if t != ONE_STREAM and t not in HAND_FOLDERS]
        if unknown or not self.tracks or (ONE_STREAM in self.tracks and len(self.tracks) > 1):
            raise ValueError(f"tracks {self.tracks}: use ('lh', 'rh'), one hand, or "
                             f"('{ONE_STREAM}',) for one stream")
        if sample_rate < 1:
            raise ValueError(f'sample_rate must be >= 1, got {sample_rate}')
        self.mapping = mapping
        self.sample_rate = int(sample_rate)
        super().__init__(ann_file=ann_file, data_root=data_root, pipeline=list(pipeline),
                         test_mode=test_mode, **kwargs)

    def _mapping_file(self, track: str) -> str:
        name = self.mapping.get(track) if isinstance(self.mapping, dict) else self.mapping
        if name is None:
            raise KeyError(f'mapping {self.mapping} has no file for track {track!r}')
        return name if osp.isabs(name) else osp.join(self.data_root, name)

    def load_data_list(self) -> list[dict]:
        root = self.data_root
        classes = {t: read_mapping(self._mapping_file(t)) for t in self.tracks}
        data_list = []
        for video in read_bundle(self.ann_file):
            info: dict[str, Any] = dict(video=video, features={}, truth={})
            frames = {}
            for t in self.tracks:
                feats, labels = feature_path(root, t, video), truth_path(root, t, video)
                dims, length = feature_shape(feats)
                truth = read_truth(labels, classes[t])
                if length != len(truth):
                    raise SegmentationLayoutError(
                        f'{feats} has {length} frames but {labels} has {len(truth)} labels '
                        f'(split {self.ann_file}); re-extract the features of <{video}> or fix '
                        'its ground truth')
                info['features'][t], info['truth'][t] = feats, truth
                frames[t] = (dims, length)
            if len({n for _, n in frames.values()}) != 1:
                raise SegmentationLayoutError(f'<{video}>: the hands have different frame '
                                              f'counts {frames}')
            info['num_frames'] = next(iter(frames.values()))[1]
            info['feature_dims'] = {t: d for t, (d, _) in frames.items()}
            data_list.append(info)
        dims = {t: {i['feature_dims'][t] for i in data_list} for t in self.tracks}
        mixed = {t: sorted(d) for t, d in dims.items() if len(d) > 1}
        if mixed:
            raise SegmentationLayoutError(f'{self.ann_file}: feature files of different '
                                          f'dimensions {mixed}: from different extractors?')
        one = self.tracks == (ONE_STREAM,)
        counts = {t: len(c) for t, c in classes.items()}
        self._metainfo.update(
            classes=classes[ONE_STREAM] if one else classes,
            num_classes=counts[ONE_STREAM] if one else counts,
            feature_dims={t: d.pop() for t, d in dims.items()}, tracks=self.tracks)
        return data_list

    def prepare_data(self, idx: int) -> Any:
        info = self.get_data_info(idx)
        sample = ActionDataSample()
        sample.set_metainfo(dict(video=info['video'], num_frames=info['num_frames'],
                                 sample_rate=self.sample_rate))
        inputs = {}
        for t in self.tracks:
            feats = load_features(info['features'][t])[:, ::self.sample_rate]
            inputs[t] = torch.from_numpy(np.ascontiguousarray(feats))
            key = 'gt_labels' if t == ONE_STREAM else f'{t}_gt_labels'
            sample.set_field(torch.from_numpy(info['truth'][t]), key)
        return self.pipeline(dict(inputs=inputs, data_samples=sample))
