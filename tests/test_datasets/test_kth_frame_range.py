"""ConfineFrameRange + stock SampleFrames stay inside a sub-sequence; SafeDecordInit
survives truncated files."""
from __future__ import annotations

import numpy as np
import pytest
from mmaction.datasets.transforms import DecordDecode, SampleFrames

from mmaction_ext.datasets import ConfineFrameRange, SafeDecordInit
from mmaction_ext.synthetic.kth import truncate_file
from mmaction_ext.synthetic.video_io import write_video


def _sample(frame_range, total, test_mode, clip_len=8, interval=2, num_clips=3, seed=0):
    np.random.seed(seed)
    results = dict(frame_range=frame_range, total_frames=total, start_index=0)
    results = ConfineFrameRange()(results)
    sampler = SampleFrames(clip_len=clip_len, frame_interval=interval, num_clips=num_clips,
                           test_mode=test_mode)
    return sampler(results)


@pytest.mark.parametrize('test_mode', [False, True])
@pytest.mark.parametrize('frame_range', [(1, 95), (270, 332), (212, 456), (110, 112)])
def test_indices_inside_range(frame_range, test_mode):
    for seed in range(5):
        out = _sample(frame_range, total=500, test_mode=test_mode, seed=seed)
        inds = out['frame_inds'] + 1  # 1-based, as in 00sequences.txt
        assert inds.min() >= frame_range[0] and inds.max() <= frame_range[1]
        assert out['frame_range_used'] == frame_range


def test_no_range_leaves_sample_alone():
    results = dict(frame_range=None, total_frames=40, start_index=0)
    assert ConfineFrameRange()(dict(results)) == results


def test_truncated_video_clips_range_end():
    out = _sample((246, 370), total=305, test_mode=True)
    assert out['frame_range_used'] == (246, 305)
    assert out['frame_inds'].max() <= 304 and out['frame_inds'].min() >= 245


def test_truncation_logged_once_per_file(monkeypatch):
    """A clipped range is said once per file (not per sample), naming file and frames."""
    from mmengine.logging import MMLogger
    logged = []
    logger = MMLogger.get_current_instance()
    monkeypatch.setattr(logger, 'warning', logged.append)
    confine = ConfineFrameRange()
    for filename, frame_range in [('a.avi', (246, 370)), ('a.avi', (1, 370)),
                                  ('b.avi', (246, 370)), ('a.avi', (330, 370)),
                                  ('c.avi', (1, 305))]:
        confine(dict(filename=filename, frame_range=frame_range, total_frames=305))
    assert logged == [
        'a.avi: frames 246-370 reach past the 305 decodable frames (truncated video?); '
        'using frames 246-305',
        'b.avi: frames 246-370 reach past the 305 decodable frames (truncated video?); '
        'using frames 246-305']


def test_range_wholly_past_end_uses_last_frames():
    out = _sample((330, 370), total=305, test_mode=False)
    assert out['frame_range_used'] == (305 - 41 + 1, 305)
    assert out['frame_inds'].max() <= 304


@pytest.fixture(scope='module')
def cut_video(tmp_path_factory):
    """A 40-frame AVI cut to 60% of its bytes (its index and last frames lost)."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, size=(40, 120, 160, 3), dtype=np.uint8)
    path = str(tmp_path_factory.mktemp('cut') / 'person01_boxing_d4_uncomp.avi')
    write_video(path, frames)
    truncate_file(path, 0.6)
    return path


def test_safe_init_reads_truncated_file(cut_video):
    results = SafeDecordInit()(dict(filename=cut_video, start_index=0,
                                    frame_range=(20, 40)))
    assert 0 < results['total_frames'] < 40
    decodable = results['total_frames']
    results = ConfineFrameRange()(results)
    results = SampleFrames(clip_len=8, frame_interval=1, num_clips=1, test_mode=True)(results)
    results = DecordDecode()(results)
    assert len(results['imgs']) == 8 and results['imgs'][0].shape == (120, 160, 3)
    assert results['frame_inds'].max() < decodable

