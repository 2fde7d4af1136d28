"""Unreadable clips: counted and logged skips in training, a clear error in testing."""
from __future__ import annotations

import os

import numpy as np
import pytest
from mmaction.datasets import VideoDataset
from mmengine.registry import init_default_scope

from mmaction_ext.datasets.unreadable_clips import SkipUnreadableClipsMixin, UnreadableClipError
from mmaction_ext.synthetic import render_clip, write_video

PIPELINE = [dict(type='DecordInit'), dict(type='SampleFrames', clip_len=4, frame_interval=1,
                                           num_clips=1), dict(type='DecordDecode')]


class _Dataset(SkipUnreadableClipsMixin, VideoDataset):
    pass


def _make_list(tmp_path, broken: int, good: int = 8) -> str:
    rng = np.random.default_rng(0)
    lines = []
    for i in range(good):
        write_video(str(tmp_path / f'good{i}.avi'), render_clip([((0, 0, 64, 64), 0)], 2, 8,
                                                                64, 64, rng))
        lines.append(f'good{i}.avi 0')
    for i in range(broken):
        (tmp_path / f'broken{i}.avi').write_bytes(b'' if i % 2 == 0 else b'not a video' * 50)
        lines.append(f'broken{i}.avi 1')
    path = tmp_path / 'list.txt'
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def _dataset(tmp_path, broken, **kwargs):
    init_default_scope('mmaction')
    return _Dataset(ann_file=_make_list(tmp_path, broken), pipeline=PIPELINE,
                    data_prefix=dict(video=str(tmp_path)), **kwargs)


def test_training_skips_counts_and_names_the_clip(tmp_path):
    dataset = _dataset(tmp_path, broken=1, max_skip_fraction=0.2)
    broken_index = len(dataset) - 1
    sample = dataset[broken_index]  # replaced by another (readable) clip
    assert 'good' in os.path.basename(sample['filename'])
    assert dataset.skipped_clips == [str(tmp_path / 'broken0.avi')]


def test_training_fails_past_the_skip_fraction(tmp_path):
    dataset = _dataset(tmp_path, broken=2, max_skip_fraction=0.1)  # limit: 1 of 10
    dataset[len(dataset) - 2]
    with pytest.raises(UnreadableClipError, match='2 unreadable training clips'):
        dataset[len(dataset) - 1]


def test_training_can_refuse_to_skip(tmp_path):
    dataset = _dataset(tmp_path, broken=1, skip_unreadable=False)
    with pytest.raises(UnreadableClipError, match='broken0.avi'):
        dataset[len(dataset) - 1]


def test_evaluation_never_skips(tmp_path):
    dataset = _dataset(tmp_path, broken=1, test_mode=True)
    with pytest.raises(UnreadableClipError, match='broken0.avi.*evaluation never skips'):
        dataset[len(dataset) - 1]
    assert dataset.skipped_clips == []
