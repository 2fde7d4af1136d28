"""Unreadable clips: counted and logged skips in training, a clear error in testing."""
from __future__ import annotations

import os

import numpy as np
import pytest
from mmaction.datasets import VideoDataset
from mmengine.registry import init_default_scope

from mmaction_ext.datasets.unreadable_clips import (
    PipelineConfigError,
    SkipUnreadableClipsMixin,
    UnreadableClipError,
)
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
    # the replacement is a random clip: make it a readable one, so the first broken clip
    # is exactly one skip (a random draw of the other broken clip made this test flaky)
    dataset._rand_another = lambda: 0
    assert 'good' in os.path.basename(dataset[len(dataset) - 2]['filename'])
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


def test_kth_dataset_follows_the_policy(tmp_path):
    """KTHDataset (list mode) skips a zero-byte file in training and raises in testing."""
    from mmaction_ext.datasets import KTHDataset
    init_default_scope('mmaction')
    rng = np.random.default_rng(1)
    names = [f'boxing/person{p:02d}_boxing_d1_uncomp.avi' for p in (1, 2, 3, 4)]
    for name in names[:3]:
        write_video(str(tmp_path / name), render_clip([((0, 0, 64, 64), 0)], 6, 8, 64, 64, rng))
    (tmp_path / names[3]).write_bytes(b'')
    (tmp_path / 'list.txt').write_text(''.join(f'{n} 0\n' for n in names))
    pipeline = [dict(type='SafeDecordInit')] + PIPELINE[1:]
    common = dict(ann_file=str(tmp_path / 'list.txt'), pipeline=pipeline,
                  data_prefix=dict(video=str(tmp_path)), persons='1-4')
    train = KTHDataset(max_skip_fraction=0.5, **common)
    assert 'person04' not in train[3]['filename']
    assert train.skipped_clips == [str(tmp_path / names[3])]
    test = KTHDataset(test_mode=True, **common)
    with pytest.raises(UnreadableClipError, match='person04_boxing_d1_uncomp.avi'):
        test[3]


def test_havid_dataset_replaces_an_unreadable_clip_with_one_of_the_same_hand(tmp_path):
    from mmaction_ext.datasets import HAViDDataset
    init_default_scope('mmaction')
    rng = np.random.default_rng(2)
    for hand, count in (('lh', 3), ('rh', 3)):
        videos = tmp_path / f'{hand}_v0' / 'videos'
        videos.mkdir(parents=True)
        lines = []
        for i in range(count):
            name = f'{hand}{i}.avi'
            if hand == 'lh' and i == 0:
                (videos / name).write_bytes(b'')  # unreadable
            else:
                write_video(str(videos / name), render_clip([((0, 0, 64, 64), 0)], 2, 8, 64,
                                                            64, rng))
            lines.append(f'{name} 0')
        (tmp_path / f'{hand}_v0' / 'train_list_video.txt').write_text('\n'.join(lines))
    train = HAViDDataset(str(tmp_path), 'train', PIPELINE, max_skip_fraction=0.5)
    for _ in range(5):  # the random replacement is always a left-hand clip
        sample = train[0]
        assert os.path.basename(sample['filename']).startswith('lh')
        assert sample['filename'] != str(tmp_path / 'lh_v0' / 'videos' / 'lh0.avi')
    test = HAViDDataset(str(tmp_path), 'train', PIPELINE, test_mode=True)
    with pytest.raises(UnreadableClipError, match='lh0.avi'):
        test[0]


@pytest.mark.parametrize('test_mode', [False, True])
def test_misordered_pipeline_is_a_config_error_not_an_unreadable_clip(tmp_path, test_mode):
    """Decode before SampleFrames: KeyError 'frame_inds' in every clip, not N 'unreadable'."""
    init_default_scope('mmaction')
    pipeline = [PIPELINE[0], PIPELINE[2], PIPELINE[1]]
    dataset = _Dataset(ann_file=_make_list(tmp_path, 0, good=2), pipeline=pipeline,
                       data_prefix=dict(video=str(tmp_path)), test_mode=test_mode)
    with pytest.raises(PipelineConfigError, match=r"good0.avi: pipeline step DecordDecode "
                       r"failed \(KeyError: 'frame_inds'\).*check the pipeline order"):
        dataset[0]
    assert dataset.skipped_clips == []
