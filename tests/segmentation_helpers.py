"""Tiny segmentation layouts (random features, labels learnable from them) for tests."""
from __future__ import annotations

import os

import numpy as np

from mmaction_ext.apis.segmentation_features import write_bundle, write_mappings, write_video

CLASSES = {'lh': ['lh_00', 'lh_01', 'lh_02'], 'rh': ['rh_00', 'rh_01', 'rh_02', 'rh_03']}
DIMS = {'lh': 6, 'rh': 7}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def labels_for(rng: np.random.Generator, length: int, num_classes: int) -> np.ndarray:
    runs = rng.integers(5, 15, size=length)
    values = rng.integers(0, num_classes, size=length)
    return np.repeat(values, runs)[:length]


def make_layout(root: str, tracks=('lh', 'rh'), videos=('v0', 'v1', 'v2'),
                lengths=(40, 55, 33), seed: int = 0) -> dict[str, dict]:
    """Write features (one-hot of the label plus noise) and truth for ``videos``;
    ``splits/train.bundle`` lists them all. Returns ``{video: {track: labels}}``."""
    rng = np.random.default_rng(seed)
    classes = {t: CLASSES.get(t, CLASSES['lh']) for t in tracks}
    out = {}
    for video, length in zip(videos, lengths):
        truth, feats = {}, {}
        for t in tracks:
            truth[t] = labels_for(rng, length, len(classes[t]))
            f = rng.normal(0, 0.3, size=(DIMS.get(t, 6), length)).astype(np.float32)
            f[truth[t], np.arange(length)] += 1.0
            feats[t] = f
        write_video(root, video, feats, truth, classes)
        out[video] = truth
    write_mappings(root, classes)
    write_bundle(os.path.join(root, 'splits', 'train.bundle'), list(videos))
    return out


def tiny_config(path: str, data_root: str, tracks=('lh', 'rh'), epochs: int = 2) -> str:
    """A config for a tiny (dual-hand) MS-TCN on :func:`make_layout`'s data."""
    one = tracks == ('label',)
    model = (f"dict(type='MSTCN', in_channels={DIMS['lh']}, num_classes=3, num_stages=2, "
             "num_layers=3, num_f_maps=8)" if one else
             f"dict(type='DualHandMSTCN', in_channels={DIMS}, "
             "num_classes=dict(lh=3, rh=4), num_stages=2, num_layers=3, num_f_maps=8)")
    mapping = "'mapping.txt'" if one else \
        "dict(lh='mapping_left_hand.txt', rh='mapping_right_hand.txt')"
    text = f"""
_base_ = '{REPO}/configs/_base_/ext_runtime.py'
model = {model}
ds = dict(type='SegmentationFeatureDataset', data_root='{data_root}',
          ann_file='splits/train.bundle', tracks={tuple(tracks)}, mapping={mapping})
train_dataloader = dict(batch_size=2, num_workers=0,
                        sampler=dict(type='DefaultSampler', shuffle=True), dataset=ds)
test_dataloader = dict(batch_size=2, num_workers=0,
                       sampler=dict(type='DefaultSampler', shuffle=False),
                       dataset=dict(ds, test_mode=True))
test_evaluator = dict(type='TemporalSegmentationMetric', tracks={tuple(tracks)})
test_cfg = dict(type='TestLoop')
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs={epochs}, val_interval=1000)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-3))
param_scheduler = []
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval={epochs}))
randomness = dict(seed=0)
"""
    with open(path, 'w') as f:
        f.write(text)
    return path
