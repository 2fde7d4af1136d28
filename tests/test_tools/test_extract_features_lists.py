"""tools/extract_features.py's video lists: read by the project's list reader (BOM, CRLF,
comments), each list given once, a video once per list, shared by splits; the truth CSV."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from infer_helpers import DUAL_CFG, REPO, load_tool

from mmaction_ext.fileio import ListFileError


def _tool():
    return load_tool('extract_features')


def _collect(tmp_path, *extra, videos=()):
    tool = _tool()
    args = tool.parse_args([DUAL_CFG, 'none.pth', *videos, '--out-root', str(tmp_path / 'out'),
                            *extra])
    return tool.collect(args)


@pytest.fixture
def folder(tmp_path):
    for name in ('a', 'b', 'c'):
        (tmp_path / f'{name}.mp4').write_bytes(b'x')  # collect() does not decode
    return tmp_path


def test_cross_validation_splits_share_videos_each_extracted_once(folder):
    (folder / 'train1.txt').write_bytes(b'\xef\xbb\xbfa.mp4\r\n# held out: c\r\n\r\nb.mp4\r\n')
    (folder / 'test2.txt').write_text('a.mp4\nc.mp4\n')
    videos, splits = _collect(folder, '--split', f'train.split1={folder / "train1.txt"}',
                              '--split', f'test.split2={folder / "test2.txt"}',
                              videos=[str(folder / 'b.mp4')])
    assert list(videos) == ['b', 'a', 'c']
    assert videos['b'] == (str(folder / 'b.mp4'), 'command line')
    assert videos['a'] == (str(folder / 'a.mp4'), f'{folder / "train1.txt"}:1')  # BOM gone
    assert splits == {'train.split1': ['a', 'b'], 'test.split2': ['a', 'c']}


def test_a_video_twice_in_one_list_names_both_lines(folder):
    listing = folder / 'train.txt'
    listing.write_text('a.mp4\nb.mp4\n./a.mp4\n')
    with pytest.raises(ListFileError) as err:
        _collect(folder, '--split', f'train={listing}')
    assert str(err.value).startswith(f"{listing}:3: ./a.mp4 is already listed on line 1 "
                                     "(same file as 'a.mp4'")


def test_a_video_on_the_command_line_and_in_list_is_refused(folder):
    listing = folder / 'more.txt'
    listing.write_text('c.mp4\nb.mp4\n')
    with pytest.raises(ListFileError,
                       match=rf'{listing}:2: .*b\.mp4 is already given at command line'):
        _collect(folder, '--list', str(listing), videos=[str(folder / 'b.mp4')])


def test_one_list_file_given_twice_is_refused(folder):
    (folder / 'all.txt').write_text('a.mp4\n')
    os.symlink(folder / 'all.txt', folder / 'link.txt')
    with pytest.raises(ListFileError, match=r'--split test: .*link\.txt is already given at '
                                            r'--split train \(same file'):
        _collect(folder, '--split', f'train={folder / "all.txt"}',
                 '--split', f'test={folder / "link.txt"}')
    with pytest.raises(ListFileError, match='is already given at --list'):
        _collect(folder, '--list', str(folder / 'all.txt'),
                 '--split', f'train={folder / "all.txt"}')


def test_truth_csv_through_the_csv_reader(tmp_path):
    classes = {'lh': ['x', 'y'], 'rh': ['x', 'y', 'z']}
    path = tmp_path / 'v.gt.csv'
    path.write_bytes(b'\xef\xbb\xbfframe, lh ,rh\r\n0,1,2\r\n\r\n1,0,1\r\n')  # BOM, CRLF, blank
    truth = _tool().read_truth_csv(str(path), ('lh', 'rh'), classes)
    assert {t: v.tolist() for t, v in truth.items()} == {'lh': [1, 0], 'rh': [2, 1]}
    assert all(v.dtype == np.int64 for v in truth.values())
    path.write_text('frame,lh,rh\n0,1,2\n2,0,1\n')
    with pytest.raises(ValueError, match=rf'{path}:3: frame 2, expected 1'):
        _tool().read_truth_csv(str(path), ('lh', 'rh'), classes)
    path.write_text('frame,lh\n0,1\n')
    with pytest.raises(ListFileError, match=rf"{path}:1: header \['frame', 'lh'\] lacks \['rh'\]"):
        _tool().read_truth_csv(str(path), ('lh', 'rh'), classes)


@pytest.mark.slow  # starts the tool three times (imports MMAction2: seconds each)
def test_list_errors_through_the_cli_are_one_line(folder):
    def run(*args):
        return subprocess.run(
            [sys.executable, os.path.join(REPO, 'tools/extract_features.py'), DUAL_CFG,
             str(folder / 'none.pth'), '--out-root', str(folder / 'out'), *map(str, args)],
            capture_output=True, text=True, cwd=REPO,
            env={**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'})

    listing = folder / 'train.txt'
    listing.write_text('a.mp4\n\n./a.mp4\n')
    res = run('--split', f'train={listing}')
    assert res.returncode == 1 and 'Traceback' not in res.stderr, res.stderr[-3000:]
    assert f'error: {listing}:3: ./a.mp4 is already listed on line 1' in res.stderr
    res = run('--split', f'train={folder}')
    assert res.returncode == 1 and 'Traceback' not in res.stderr, res.stderr[-3000:]
    assert f'error: --split train {folder} is a folder, not a file (it holds train.txt)' \
        in res.stderr
    res = run('--split', f'a={listing}', '--split', f'a={listing}')
    assert res.returncode == 2 and '--split a is given twice' in res.stderr
    assert not (folder / 'out').exists()  # refused before anything was written
