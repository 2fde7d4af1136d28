"""Bad-input catalogue rows not covered elsewhere (see docs/robustness.md).

Each test feeds one kind of bad input and checks that the user gets an error naming the
file and line (or key) and what to do, or, for unreadable clips in training, a counted
skip. Placeholder (empty) videos are enough where only list parsing is under test.
"""
from __future__ import annotations

import os
import re

import numpy as np
import pytest
from dataset_helpers import havid, havid_root, kth_list
from mmengine.registry import init_default_scope

from mmaction_ext.datasets import KTHDataset
from mmaction_ext.datasets.havid_dataset import HAViDDataset, HAViDListError
from mmaction_ext.datasets.kth.kth_meta import KTHFormatError
from mmaction_ext.datasets.unreadable_clips import UnreadableClipError
from mmaction_ext.synthetic import render_clip, write_video

# ---------------------------------------------------------------- list files: HA-ViD

def test_havid_empty_list_is_an_error(tmp_path):
    lh_list = havid_root(str(tmp_path), lh_text='\n  \n')
    with pytest.raises(HAViDListError, match=re.escape(f'{lh_list}: no clips')):
        havid(str(tmp_path))


@pytest.mark.parametrize('line', ['c1.avi one', 'c1.avi 1 2', 'c1.avi 1.0'])
def test_havid_malformed_line_names_file_and_line(tmp_path, line):
    lh_list = havid_root(str(tmp_path), lh_text=f'c0.avi 0\n{line}\n')
    with pytest.raises(HAViDListError, match=re.escape(f'{lh_list}:2: expected '
                                                       '"<relative/path> <label>"')):
        havid(str(tmp_path))


def test_havid_label_outside_the_label_map(tmp_path):
    """Without ``num_classes`` the label map's length is the head size labels must fit."""
    lh_list = havid_root(str(tmp_path), lh_text='c0.avi 0\nc1.avi 2\n')
    label_map = tmp_path / 'lh_classes.txt'
    label_map.write_text('grasp\nscrew\n')
    with pytest.raises(HAViDListError, match=re.escape(f'{lh_list}:2: label 2 outside [0, 2)')):
        havid(str(tmp_path), num_classes=None, hands=['lh'], label_map=dict(lh=str(label_map)))


def test_havid_class_count_differs_from_label_map(tmp_path):
    havid_root(str(tmp_path))
    label_map = tmp_path / 'lh_classes.txt'
    label_map.write_text('grasp\nscrew\nhold\nplace\n')
    with pytest.raises(HAViDListError,
                       match=re.escape(f"{label_map}: 4 names but num_classes['lh'] = 3")):
        havid(str(tmp_path), label_map=dict(lh=str(label_map)))


@pytest.mark.parametrize('test_mode', [False, True])
def test_havid_duplicate_entry_names_both_lines(tmp_path, test_mode):
    lh_list = havid_root(str(tmp_path), lh_text='c0.avi 0\nc1.avi 1\n\nc0.avi 0\n')
    with pytest.raises(HAViDListError,
                       match=re.escape(f'{lh_list}:4: c0.avi is already listed on line 1')):
        havid(str(tmp_path), test_mode=test_mode)


def test_havid_same_list_for_both_hands(tmp_path):
    lh_list = havid_root(str(tmp_path))
    shared = str(tmp_path / 'lists' / 'train.txt')
    os.makedirs(os.path.dirname(shared))
    os.symlink(lh_list, shared)  # the same file under two names is still the same list
    with pytest.raises(HAViDListError, match='both hands read the same clip list') as err:
        havid(str(tmp_path), ann_files=dict(lh=lh_list, rh=shared))
    assert lh_list in str(err.value) and shared in str(err.value)


@pytest.mark.parametrize('key, what, relpath', [
    ('ann_files', 'clip list', 'rh_v0/train_list_video.txt'),
    ('video_dirs', 'video folder', 'rh_v0/videos'),
])
def test_havid_hand_pointed_at_the_other_hands_files(tmp_path, key, what, relpath):
    havid_root(str(tmp_path))
    wrong = str(tmp_path / relpath)
    message = f'lh {what} {wrong} names the other hand (rh)'
    with pytest.raises(HAViDListError, match=re.escape(message)):
        havid(str(tmp_path), hands=['lh'], **{key: dict(lh=wrong)})


def test_havid_other_hand_higher_up_the_path_is_fine(tmp_path):
    """Only the innermost folder naming a hand counts (``/data/rh_project/lh_v0`` is lh)."""
    root = str(tmp_path / 'rh_project')
    havid_root(root)
    assert havid(root).metainfo['hand_counts'] == {'lh': 3, 'rh': 3}


# ------------------------------------------------------------------- list files: KTH

def test_kth_empty_list_is_an_error(tmp_path):
    with pytest.raises(KTHFormatError, match=re.escape(f'{tmp_path / "list.txt"}: the list '
                                                       'file is empty')):
        kth_list(tmp_path, '\n\n')


@pytest.mark.parametrize('line', [
    'boxing/person02_boxing_d1_uncomp.avi zero',          # non-integer label
    'boxing/person02_boxing_d1_uncomp.avi 0 1',           # three fields
    'boxing/person02_boxing_d1_uncomp.avi 0 1 20 extra',  # five fields
])
def test_kth_malformed_line_names_file_and_line(tmp_path, line):
    with pytest.raises(KTHFormatError, match=re.escape(f'{tmp_path / "list.txt"}:2: expected')):
        kth_list(tmp_path, f'boxing/person01_boxing_d1_uncomp.avi 0\n{line}\n')


@pytest.mark.parametrize('label', ['6', '-1'])
def test_kth_label_outside_the_six_classes(tmp_path, label):
    """KTH labels follow from the action folder, so any other label is refused."""
    with pytest.raises(KTHFormatError, match=re.escape(
            f'{tmp_path / "list.txt"}:1: label {label} does not match action')):
        kth_list(tmp_path, f'boxing/person01_boxing_d1_uncomp.avi {label}\n')


@pytest.mark.parametrize('test_mode', [False, True])
def test_kth_duplicate_entry_names_both_lines(tmp_path, test_mode):
    text = ('boxing/person01_boxing_d1_uncomp.avi 0 1 20\n'
            'boxing/person01_boxing_d1_uncomp.avi 0 21 40\n'  # another sub-sequence: fine
            'boxing/person02_boxing_d1_uncomp.avi 0\n'
            'boxing/person01_boxing_d1_uncomp.avi 0 1 20\n')
    with pytest.raises(KTHFormatError, match=re.escape(f'{tmp_path / "list.txt"}:4: ') +
                       '.*repeats line 1'):
        kth_list(tmp_path, text, test_mode=test_mode, persons='1-2')
    assert len(kth_list(tmp_path, ''.join(text.splitlines(True)[:3]), persons='1-2')) == 3


def test_kth_listed_video_missing(tmp_path):
    text = 'boxing/person01_boxing_d1_uncomp.avi 0\nboxing/person03_boxing_d1_uncomp.avi 0\n'
    with pytest.raises(FileNotFoundError, match=re.escape(
            f'{tmp_path / "list.txt"}:2: video not found: ') + '.*person03_boxing_d1'):
        kth_list(tmp_path, text, persons='1-3')
    assert len(kth_list(tmp_path, text, persons='1-3', check_files=False)) == 2


# ------------------------------------------------------------------------------ videos

def _write_clip(path: str, num_frames: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    write_video(path, render_clip([((0, 0, 64, 64), 0)], 2, num_frames, 64, 64, rng))


@pytest.mark.parametrize('test_mode', [False, True])
def test_video_shorter_than_the_clip_loops(tmp_path, test_mode):
    """Stock ``SampleFrames`` loops a short video: the clip still has ``clip_len`` frames."""
    init_default_scope('mmaction')
    video_dir = tmp_path / 'lh_v0' / 'videos'
    _write_clip(str(video_dir / 'short.avi'), num_frames=6)
    (tmp_path / 'lh_v0' / 'train_list_video.txt').write_text('short.avi 0\n')
    pipeline = [dict(type='SafeDecordInit'),
                dict(type='SampleFrames', clip_len=16, frame_interval=2, num_clips=1,
                     test_mode=test_mode),
                dict(type='DecordDecode')]
    dataset = HAViDDataset(str(tmp_path), 'train', pipeline=pipeline, hands=['lh'],
                           test_mode=test_mode)
    out = dataset[0]
    assert out['total_frames'] == 6
    assert len(out['imgs']) == 16 and out['imgs'][0].shape == (64, 64, 3)
    assert len(out['frame_inds']) == 16 and out['frame_inds'].max() < 6


def _unknown_codec_avi(path: str) -> None:
    """A valid AVI whose stream declares a codec no decoder knows (FourCC ``ZZZZ``)."""
    _write_clip(path, num_frames=8, seed=1)
    with open(path, 'rb') as f:
        data = f.read()
    assert data.count(b'MJPG') == 2  # strh handler and strf compression
    with open(path, 'wb') as f:
        f.write(data.replace(b'MJPG', b'ZZZZ'))


def test_unreadable_codec_follows_the_unreadable_clip_policy(tmp_path):
    init_default_scope('mmaction')
    video_dir = tmp_path / 'lh_v0' / 'videos'
    for i in range(3):
        _write_clip(str(video_dir / f'good{i}.avi'), num_frames=8, seed=i)
    _unknown_codec_avi(str(video_dir / 'codec.avi'))
    import av
    with av.open(str(video_dir / 'codec.avi')) as container:  # the container itself is fine
        assert len(container.streams.video) == 1
    (tmp_path / 'lh_v0' / 'train_list_video.txt').write_text(
        'good0.avi 0\ngood1.avi 0\ngood2.avi 0\ncodec.avi 1\n')
    pipeline = [dict(type='SafeDecordInit'),
                dict(type='SampleFrames', clip_len=4, frame_interval=1, num_clips=1),
                dict(type='DecordDecode')]
    common = dict(data_root=str(tmp_path), split='train', pipeline=pipeline, hands=['lh'])
    train = HAViDDataset(max_skip_fraction=0.5, **common)
    assert 'codec.avi' not in train[3]['filename']
    assert train.skipped_clips == [str(video_dir / 'codec.avi')]
    test = HAViDDataset(test_mode=True, **common)
    with pytest.raises(UnreadableClipError, match='codec.avi.*evaluation never skips'):
        test[3]


def test_kth_missing_list_file_names_the_path(tmp_path):
    missing = str(tmp_path / 'nope' / 'kth_train_videos.txt')
    with pytest.raises(FileNotFoundError, match=re.escape(missing)):
        KTHDataset(pipeline=[], ann_file=missing, data_prefix=dict(video=str(tmp_path)))
