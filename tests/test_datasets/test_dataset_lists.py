"""HA-ViD and KTH read their lists through the one reader: the same spellings are accepted
and the same mistakes refused (naming file and line), whichever dataset reads the list."""
from __future__ import annotations

import os
import re

import pytest

from mmaction_ext.datasets import KTHDataset
from mmaction_ext.datasets.havid_dataset import HAViDDataset, HAViDListError
from mmaction_ext.datasets.kth.kth_meta import KTHFormatError

KTH_NAMES = [f'boxing/person0{p}_boxing_d1_uncomp.avi' for p in (1, 2, 3)]


def _touch(path) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, 'w').close()


def _havid(root, lh_bytes: bytes | None = None, **kwargs) -> HAViDDataset:
    """A dual_hand tree of placeholder clips c0..c2 (label i); ``lh_bytes`` is the lh list."""
    for hand in ('lh', 'rh'):
        for i in range(3):
            _touch(os.path.join(root, f'{hand}_v0', 'videos', f'c{i}.avi'))
        data = ''.join(f'c{i}.avi {i}\n' for i in range(3)).encode()
        if hand == 'lh' and lh_bytes is not None:
            data = lh_bytes
        with open(os.path.join(root, f'{hand}_v0', 'train_list_video.txt'), 'wb') as f:
            f.write(data)
    return HAViDDataset(str(root), 'train', pipeline=[], num_classes=dict(lh=3, rh=3),
                        **kwargs)


def _kth(root, data: bytes, **kwargs) -> KTHDataset:
    for name in KTH_NAMES:
        _touch(os.path.join(root, 'videos', name))
    ann = os.path.join(root, 'list.txt')
    with open(ann, 'wb') as f:
        f.write(data)
    kwargs.setdefault('persons', '1-3')
    return KTHDataset(pipeline=[], ann_file=ann,
                      data_prefix=dict(video=os.path.join(root, 'videos')), **kwargs)


SPELLINGS = {
    'bom_crlf': lambda lines: b'\xef\xbb\xbf' + '\r\n'.join(lines).encode() + b'\r\n',
    'tabs_blank_comment': lambda lines: ('# my clips\n\n' + '\n\t\n'.join(
        line.replace(' ', '\t') for line in lines) + '\n').encode(),
}


@pytest.mark.parametrize('spelling', sorted(SPELLINGS))
def test_havid_and_kth_accept_the_same_spellings(tmp_path, spelling):
    write = SPELLINGS[spelling]
    havid = _havid(tmp_path / 'h', write([f'c{i}.avi {i}' for i in range(3)]))
    assert [os.path.basename(havid.get_data_info(i)['filename']) for i in range(3)] == [
        'c0.avi', 'c1.avi', 'c2.avi']
    kth = _kth(tmp_path / 'k', write([f'{n} 0' for n in KTH_NAMES]))
    assert sorted(kth.get_data_info(i)['person'] for i in range(len(kth))) == [1, 2, 3]


def test_havid_duplicate_through_a_link_names_both_lines(tmp_path):
    os.makedirs(tmp_path / 'lh_v0' / 'videos')
    _touch(str(tmp_path / 'lh_v0' / 'videos' / 'c0.avi'))
    os.symlink('c0.avi', tmp_path / 'lh_v0' / 'videos' / 'alias.avi')
    with pytest.raises(HAViDListError, match=re.escape(
            'train_list_video.txt:3: alias.avi is already listed on line 1')):
        _havid(tmp_path, b'c0.avi 0\nc1.avi 1\nalias.avi 0\n')


def test_kth_duplicate_through_dot_path_names_both_lines(tmp_path):
    data = f'{KTH_NAMES[0]} 0\n./{KTH_NAMES[0]} 0\n'.encode()
    with pytest.raises(KTHFormatError, match=re.escape('list.txt:2: ') + '.*already listed on '
                       'line 1'):
        _kth(tmp_path, data)


def test_folder_listed_as_a_clip(tmp_path):
    os.makedirs(tmp_path / 'lh_v0' / 'videos' / 'c9.avi')
    with pytest.raises(HAViDListError, match=re.escape('train_list_video.txt:2: video is a '
                                                       'folder, not a file')):
        _havid(tmp_path, b'c0.avi 0\nc9.avi 1\n')
    os.makedirs(tmp_path / 'k' / 'videos' / KTH_NAMES[2].replace('person03', 'person04'))
    with pytest.raises(KTHFormatError, match=re.escape('list.txt:1: ') + '.*is a folder'):
        _kth(tmp_path / 'k', f'{KTH_NAMES[2].replace("person03", "person04")} 0\n'.encode(),
             persons='1-4')


def test_list_given_as_a_folder(tmp_path):
    folder = tmp_path / 'lists'
    folder.mkdir()
    (folder / 'kth_train_videos.txt').write_text('')
    with pytest.raises(FileNotFoundError, match=re.escape(f'KTH list file {folder} is a '
                                                          'folder, not a file (it holds '
                                                          'kth_train_videos.txt)')):
        KTHDataset(pipeline=[], ann_file=str(folder), data_prefix=dict(video=str(tmp_path)))
    _havid(tmp_path)  # a correct tree, then the lh list pointed at its folder
    with pytest.raises(HAViDListError, match='is a folder, not a file'):
        HAViDDataset(str(tmp_path), 'train', pipeline=[],
                     ann_files=dict(lh=str(tmp_path / 'lh_v0')))


@pytest.mark.parametrize('layout, expected', [
    ('dual_hand', "layout 'dual_hand' expects <data_root>/{lh,rh}_v<view>/"),
    ('authors', None),
])
def test_havid_missing_list_names_layout_and_remedy(tmp_path, layout, expected):
    """The first command a newcomer runs: what is expected where, and how to point at it."""
    if layout == 'authors':  # the authors' layout globs for its list: its own message
        with pytest.raises(HAViDListError, match=r'expected exactly one \*_train_list_'):
            HAViDDataset(str(tmp_path), 'train', pipeline=[], layout=layout)
        return
    with pytest.raises(HAViDListError) as err:
        HAViDDataset(str(tmp_path), 'train', pipeline=[], layout=layout)
    message = str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    assert f'HA-ViD clip list not found: {tmp_path}/lh_v0/train_list_video.txt' in message
    assert expected in message and '--cfg-options data_root=' in message
    assert 'docs/datasets.md' in message
