"""Sliding windows take their clip from any SampleFrames subclass, and from the config's
one-view val pipeline when the test view has several clips (configs/havid_alternating.py)."""
from __future__ import annotations

import os

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmaction_ext  # noqa: F401
from mmaction_ext.apis.sliding_window import WindowPipeline
from mmaction_ext.datasets.transforms import SpreadSampleFrames

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CFG = os.path.join(REPO, 'configs/havid_alternating.py')


@pytest.fixture(scope='module')
def cfg():
    init_default_scope('mmaction')
    return Config.fromfile(CFG)


def test_multi_view_test_pipeline_is_refused_with_the_remedy(cfg):
    with pytest.raises(ValueError, match='--pipeline val'):
        WindowPipeline(cfg.test_pipeline)


def test_val_pipeline_windows_are_the_originals_centred_clips(cfg):
    windows = WindowPipeline(cfg.val_pipeline)
    clip_len, interval = cfg.num_frames, 4
    # the originals' window: clip_len * interval frames (stock SampleFrames: one fewer + 1)
    assert windows.span == clip_len * interval
    for start in (0, 7, 100):
        # restated: a clip of exactly `span` frames, centred, is linspace(0, span) capped at
        # span - 1, truncated, shifted to the window's start
        expected = np.minimum(np.linspace(0, windows.span, clip_len), windows.span - 1)
        expected = expected.astype(np.int64) + start
        np.testing.assert_array_equal(windows.indices(start, 1000), expected)
    sampler = SpreadSampleFrames(clip_len, frame_interval=interval, test_mode=True)
    assert sampler.window_span == windows.span
    assert windows.starts(300, stride=32) == [0, 32, 64, 96, 128, 160, 192, 224, 236]
