"""KTHDataset on a generated 599-name tree: exact counts per split, metadata, bad input."""
from __future__ import annotations

import os
import re
import shutil

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmaction_ext.datasets import KTHDataset
from mmaction_ext.datasets.kth.kth_meta import KTHFormatError
from mmaction_ext.synthetic.kth import make_kth_tree

REAL_SEQUENCES = os.path.join(os.path.dirname(__file__), '..', 'assets', 'kth',
                              '00sequences.txt')
DECODABLE = {'person01_boxing_d4', 'person02_walking_d1'}
OFFICIAL = {'train': [11, 12, 13, 14, 15, 16, 17, 18],
            'val': [19, 20, 21, 23, 24, 25, 1, 4],
            'test': [22, 2, 3, 5, 6, 7, 8, 9, 10]}


@pytest.fixture(scope='module')
def tree(tmp_path_factory) -> str:
    """All 599 KTH names (placeholders), two real videos (one truncated), real sequences."""
    root = str(tmp_path_factory.mktemp('kth'))
    make_kth_tree(root, decodable=DECODABLE, num_frames=24, sequences_file=None)
    shutil.copy(REAL_SEQUENCES, os.path.join(root, '00sequences.txt'))
    return root


def _reference_counts(persons) -> tuple[int, int]:
    """(videos, sub-sequences) for these persons, straight from the raw sequences text."""
    videos = subs = 0
    with open(REAL_SEQUENCES) as f:
        for line in f:
            match = re.match(r'person(\d\d)_\w+_d\d\s+frames\s+(.*)', line.strip())
            if match and int(match.group(1)) in persons:
                videos += 1
                subs += len(re.findall(r'\d+\s*-\s*\d+', match.group(2)))
    return videos, subs


def _kth(tree, pipeline=(), **kwargs):
    return KTHDataset(pipeline=list(pipeline), data_prefix=dict(video=tree), **kwargs)


@pytest.mark.parametrize('split', ['train', 'val', 'test', 'trainval', 'all'])
def test_counts_per_split(tree, split):
    persons = (list(range(1, 26)) if split == 'all' else
               OFFICIAL['train'] + OFFICIAL['val'] if split == 'trainval' else OFFICIAL[split])
    videos, subs = _reference_counts(persons)
    assert len(_kth(tree, split=split)) == videos == 24 * len(persons) - (13 in persons)
    seq = _kth(tree, split=split, sequences_file=os.path.join(tree, '00sequences.txt'))
    assert len(seq) == subs
    assert {seq.get_data_info(i)['person'] for i in range(len(seq))} == set(persons)
    if split == 'all':
        assert subs == 2391


def test_custom_persons_one_line_and_scenarios(tree):
    train = _kth(tree, persons='1-16', data_root=tree, sequences_file='00sequences.txt')
    test = _kth(tree, persons='17-25', data_root=tree, sequences_file='00sequences.txt')
    assert len(train) == _reference_counts(range(1, 17))[1]
    assert len(test) == _reference_counts(range(17, 26))[1]
    assert len(train) + len(test) == 2391
    d4 = _kth(tree, persons=[1, 2], scenarios=['d4'])
    assert len(d4) == 12
    assert {d4.get_data_info(i)['scenario'] for i in range(12)} == {'d4'}


def test_sample_metadata(tree):
    data = _kth(tree, persons=[7], sequences_file=REAL_SEQUENCES)
    assert data.metainfo['classes'] == ('boxing', 'handclapping', 'handwaving', 'jogging',
                                        'running', 'walking')
    infos = [data.get_data_info(i) for i in range(len(data))]
    jog = [i for i in infos if i['video_id'] == 'person07_jogging_d4']
    assert [i['frame_range'] for i in jog] == [(1, 64), (270, 332), (194, 264), (490, 570)]
    assert [i['sub_index'] for i in jog] == [0, 1, 2, 3]
    first = jog[0]
    assert first['filename'] == os.path.join(tree, 'jogging', 'person07_jogging_d4_uncomp.avi')
    assert (first['label'], first['person'], first['scenario'], first['action']) == (
        3, 7, 'd4', 'jogging')
    whole = _kth(tree, persons=[7])
    assert whole.get_data_info(0)['frame_range'] is None


def test_list_files_match_tree(tree, tmp_path):
    data = _kth(tree, split='val', sequences_file=REAL_SEQUENCES)
    lines = []
    for i in range(len(data)):
        info = data.get_data_info(i)
        rel = os.path.relpath(info['filename'], tree)
        lines.append(f'{rel} {info["label"]} {info["frame_range"][0]} {info["frame_range"][1]}')
    ann = tmp_path / 'val_sub.txt'
    ann.write_text('\n'.join(lines) + '\n')
    listed = KTHDataset(pipeline=[], ann_file=str(ann), data_prefix=dict(video=tree))
    assert len(listed) == len(data)
    keys = ('filename', 'label', 'person', 'scenario', 'frame_range')
    for i in (0, len(data) // 2, len(data) - 1):
        a, b = listed.get_data_info(i), data.get_data_info(i)
        assert {k: a[k] for k in keys} == {k: b[k] for k in keys}
    # persons filter applies to list files too
    assert len(KTHDataset(pipeline=[], ann_file=str(ann), data_prefix=dict(video=tree),
                          persons=[1])) == _reference_counts([1])[1]


def test_truncated_video_loads_every_subsequence(tree):
    """person01_boxing_d4 holds far fewer frames than its sequences line (up to 370)."""
    init_default_scope('mmaction')
    pipeline = [dict(type='SafeDecordInit'), dict(type='ConfineFrameRange'),
                dict(type='SampleFrames', clip_len=8, frame_interval=4, num_clips=1),
                dict(type='DecordDecode'), dict(type='Resize', scale=(64, 64), keep_ratio=False),
                dict(type='FormatShape', input_format='NCTHW'), dict(type='PackActionInputs')]
    data = KTHDataset(pipeline=pipeline, data_prefix=dict(video=tree), persons=[1],
                      scenarios=['d4'], sequences_file=REAL_SEQUENCES)
    indices = [i for i in range(len(data))
               if data.get_data_info(i)['video_id'] == 'person01_boxing_d4']
    assert len(indices) == 4
    for i in indices:
        packed = data[i]
        assert tuple(packed['inputs'].shape) == (1, 3, 8, 64, 64)
        assert np.isfinite(packed['inputs'].float().numpy()).all()


def _copy_tree(tree, tmp_path) -> str:
    root = str(tmp_path / 'kth')
    shutil.copytree(tree, root)
    return root


def test_known_missing_is_fine_other_missing_is_error(tree, tmp_path):
    assert len(_kth(tree, persons=[13])) == 23  # person13_handclapping_d3 never exists
    root = _copy_tree(tree, tmp_path)
    os.remove(os.path.join(root, 'running', 'person05_running_d2_uncomp.avi'))
    with pytest.raises(FileNotFoundError, match='running/person05_running_d2_uncomp.avi'):
        _kth(root, split='test')
    assert len(_kth(root, split='train')) == 191  # other persons unaffected
    assert len(_kth(root, split='test', check_files=False)) == 215


@pytest.mark.parametrize('make_bad, fragment', [
    (lambda r: os.makedirs(os.path.join(r, 'kicking')), "unknown action folder 'kicking'"),
    (lambda r: open(os.path.join(r, 'boxing', 'person1_boxing_d1_uncomp.avi'), 'w').close(),
     'person1_boxing_d1_uncomp.avi'),
    (lambda r: open(os.path.join(r, 'boxing', 'person26_boxing_d1_uncomp.avi'), 'w').close(),
     'outside 1-25'),
    (lambda r: open(os.path.join(r, 'boxing', 'notes.txt'), 'w').close(), 'notes.txt'),
    (lambda r: shutil.move(os.path.join(r, 'walking', 'person02_walking_d2_uncomp.avi'),
                           os.path.join(r, 'boxing')), "inside the 'boxing' folder"),
])
def test_bad_tree_names_the_path(tree, tmp_path, make_bad, fragment):
    root = _copy_tree(tree, tmp_path)
    make_bad(root)
    with pytest.raises(KTHFormatError, match=re.escape(fragment)) as info:
        _kth(root, split='train')
    assert root in str(info.value)


@pytest.mark.parametrize('line, fragment', [
    ('boxing/person01_boxing_d1_uncomp.avi', 'expected "<relpath> <label>"'),
    ('boxing/person01_boxing_d1_uncomp.avi 3', 'does not match action'),
    ('boxing/person01_boxing_d1_uncomp.avi 0 9 2', 'frame range 9-2'),
    ('boxing/person31_boxing_d1_uncomp.avi 0', 'outside 1-25'),
])
def test_bad_list_line_names_file_and_line(tree, tmp_path, line, fragment):
    ann = tmp_path / 'list.txt'
    ann.write_text(f'boxing/person01_boxing_d2_uncomp.avi 0\n{line}\n')
    with pytest.raises(KTHFormatError, match=re.escape(fragment)) as info:
        KTHDataset(pipeline=[], ann_file=str(ann), data_prefix=dict(video=tree))
    assert f'{ann}:2' in str(info.value)


def test_sequences_problems(tree, tmp_path):
    with pytest.raises(ValueError, match='ConfineFrameRange'):
        KTHDataset(pipeline=[dict(type='SafeDecordInit'), dict(type='SampleFrames', clip_len=4)],
                   data_prefix=dict(video=tree), sequences_file=REAL_SEQUENCES)
    partial = tmp_path / 'seq.txt'
    partial.write_text('person01_boxing_d1\t\tframes\t1-95\n')
    with pytest.raises(KTHFormatError, match='no line for person01_boxing_d2'):
        _kth(tree, persons=[1], sequences_file=str(partial))
    bad = tmp_path / 'bad.txt'
    bad.write_text('header\nperson01_boxing_d1\t\tframes\t1-95,, 96-100\n')
    with pytest.raises(KTHFormatError, match=re.escape(f'{bad}:2')):
        _kth(tree, persons=[1], sequences_file=str(bad))


def test_stock_decord_init_is_warned_about(tree):
    import logging

    from mmengine.logging import MMLogger
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    handler.setLevel(logging.WARNING)
    init_default_scope('mmaction')
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        _kth(tree, persons=[2], pipeline=[dict(type='DecordInit')])
        _kth(tree, persons=[2], pipeline=[dict(type='SafeDecordInit')])
    finally:
        logger.removeHandler(handler)
    assert sum("SafeDecordInit" in m for m in messages) == 1, messages


def test_list_of_whole_videos_cut_by_sequences(tree, tmp_path):
    ann = tmp_path / 'videos.txt'
    ann.write_text('jogging/person07_jogging_d4_uncomp.avi 3\n'
                   'boxing/person11_boxing_d4_uncomp.avi 0\n')
    data = KTHDataset(pipeline=[], ann_file=str(ann), data_prefix=dict(video=tree),
                      sequences_file=REAL_SEQUENCES)
    ranges = [data.get_data_info(i)['frame_range'] for i in range(len(data))]
    assert ranges == [(1, 64), (270, 332), (194, 264), (490, 570),
                      (1, 106), (107, 194), (195, 250)]
