"""HAViDDataset: both layouts, hand tags, per-hand metainfo, errors naming file and line."""
from __future__ import annotations

import os

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmaction_ext.datasets.havid_dataset import HAViDDataset, HAViDListError
from mmaction_ext.synthetic.havid import make_havid_dataset

SMALL = {'train': {'lh': 2, 'rh': 1}, 'val': {'lh': 1, 'rh': 1}}
NUM_CLASSES = {'lh': 3, 'rh': 4}


@pytest.fixture(scope='module')
def havid_roots(tmp_path_factory) -> dict[str, str]:
    roots = {}
    for layout in ('dual_hand', 'authors'):
        root = str(tmp_path_factory.mktemp(layout))
        make_havid_dataset(root, layout, NUM_CLASSES, SMALL, num_frames=8, size=(64, 64),
                           ext='.avi')
        roots[layout] = root
    return roots


def _list_lines(path: str) -> list[tuple[str, int]]:
    with open(path) as f:
        return [(p, int(label)) for p, label in (line.split() for line in f if line.strip())]


@pytest.mark.parametrize('layout', ['dual_hand', 'authors'])
def test_loads_both_hands_with_their_own_lists(havid_roots, layout):
    root = havid_roots[layout]
    ds = HAViDDataset(root, 'train', pipeline=[], layout=layout, num_classes=NUM_CLASSES)
    if layout == 'dual_hand':
        lists = {h: os.path.join(root, f'{h}_v0', 'train_list_video.txt') for h in NUM_CLASSES}
        dirs = {h: os.path.join(root, f'{h}_v0', 'videos') for h in NUM_CLASSES}
    else:
        lists = {h: os.path.join(root, f'view0_{h}_pt', f'view0_{h}_pt_train_list_videos.txt')
                 for h in NUM_CLASSES}
        dirs = {h: os.path.join(root, f'view0_{h}_pt', 'videos_train') for h in NUM_CLASSES}
    expected = [(os.path.join(dirs[h], p), label, h)
                for h in ('lh', 'rh') for p, label in _list_lines(lists[h])]
    got = [(ds.get_data_info(i)['filename'], ds.get_data_info(i)['label'],
            ds.get_data_info(i)['hand']) for i in range(len(ds))]
    assert got == expected
    # different clips, different counts: 3 lh classes x 2, 4 rh classes x 1
    assert ds.metainfo['hand_counts'] == {'lh': 6, 'rh': 4}
    assert ds.hand_indices() == {'lh': list(range(6)), 'rh': list(range(6, 10))}
    assert all(os.path.isfile(f) for f, _, _ in got)


def test_packed_samples_carry_hand_and_index(havid_roots):
    init_default_scope('mmaction')
    pipeline = [dict(type='DecordInit'), dict(type='SampleFrames', clip_len=4, num_clips=1,
                                               test_mode=True),
                dict(type='DecordDecode'), dict(type='FormatShape', input_format='NCTHW'),
                dict(type='PackActionInputs')]
    ds = HAViDDataset(havid_roots['dual_hand'], 'val', pipeline=pipeline, test_mode=True)
    for idx in (0, len(ds) - 1):
        out = ds[idx]
        info = ds.get_data_info(idx)
        assert out['data_samples'].metainfo['hand'] == info['hand']
        assert out['data_samples'].metainfo['sample_idx'] == idx
        assert out['inputs'].shape == (1, 3, 4, 64, 64)
    assert ds[0]['data_samples'].metainfo['hand'] == 'lh'
    assert ds[len(ds) - 1]['data_samples'].metainfo['hand'] == 'rh'


def test_one_hand_and_label_map(havid_roots, tmp_path):
    label_map = tmp_path / 'rh_classes.txt'
    label_map.write_text('grasp\nscrew\n2 hold\nplace\n')
    ds = HAViDDataset(havid_roots['dual_hand'], 'val', pipeline=[], hands=['rh'],
                      label_map=dict(rh=str(label_map)))
    assert {ds.get_data_info(i)['hand'] for i in range(len(ds))} == {'rh'}
    assert ds.metainfo['classes'] == {'rh': ['grasp', 'screw', 'hold', 'place']}


def _copy_dual_hand(src: str, dst: str, lh_text: str) -> str:
    for hand in ('lh', 'rh'):
        os.makedirs(os.path.join(dst, f'{hand}_v0'), exist_ok=True)
        os.symlink(os.path.join(src, f'{hand}_v0', 'videos'),
                   os.path.join(dst, f'{hand}_v0', 'videos'))
    with open(os.path.join(src, 'rh_v0', 'train_list_video.txt')) as f:
        (open(os.path.join(dst, 'rh_v0', 'train_list_video.txt'), 'w')).write(f.read())
    path = os.path.join(dst, 'lh_v0', 'train_list_video.txt')
    with open(path, 'w') as f:
        f.write(lh_text)
    return path


@pytest.mark.parametrize('line,message', [
    ('train/lh_c00_000.avi\n', 'expected "<relative/path> <label>"'),
    ('train/lh_c00_000.avi 7\n', 'label 7 outside [0, 3)'),
    ('train/missing.avi 1\n', 'video not found'),
])
def test_bad_lines_name_file_and_line(havid_roots, tmp_path, line, message):
    src = havid_roots['dual_hand']
    good = _list_lines(os.path.join(src, 'lh_v0', 'train_list_video.txt'))[0]
    path = _copy_dual_hand(src, str(tmp_path), f'{good[0]} {good[1]}\n\n{line}')
    with pytest.raises(HAViDListError) as err:
        HAViDDataset(str(tmp_path), 'train', pipeline=[], num_classes=NUM_CLASSES)
    assert f'{path}:3' in str(err.value) and message in str(err.value)


def test_layout_errors(havid_roots, tmp_path):
    with pytest.raises(HAViDListError, match='clip list not found'):
        HAViDDataset(str(tmp_path), 'train', pipeline=[])
    with pytest.raises(HAViDListError, match=r'expected exactly one \*_train_list_videos'):
        HAViDDataset(str(tmp_path), 'train', pipeline=[], layout='authors')
    with pytest.raises(ValueError, match='layout must be'):
        HAViDDataset(havid_roots['dual_hand'], 'train', pipeline=[], layout='other')
    with pytest.raises(ValueError, match='hands must be'):
        HAViDDataset(havid_roots['dual_hand'], 'train', pipeline=[], hands=['left'])


def test_failed_training_sample_is_replaced_from_the_same_hand(havid_roots):
    def drop_first(results):
        return None if results['sample_idx'] in (0, 6) else results
    ds = HAViDDataset(havid_roots['dual_hand'], 'train', pipeline=[drop_first])
    np.random.seed(0)
    for idx, hand in [(0, 'lh')] * 10 + [(6, 'rh')] * 10:
        out = ds[idx]
        assert out['hand'] == hand and out['sample_idx'] not in (0, 6)
