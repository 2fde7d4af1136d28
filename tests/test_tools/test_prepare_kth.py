"""tools/prepare_kth.py: counts, missing/truncated/unreadable reports, list files."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil

import pytest

from mmaction_ext.datasets import KTHDataset
from mmaction_ext.synthetic.kth import make_kth_tree

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
REAL_SEQUENCES = os.path.join(REPO, 'tests', 'assets', 'kth', '00sequences.txt')


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'prepare_kth', os.path.join(REPO, 'tools', 'prepare_kth.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


prepare_kth = _load_tool()


@pytest.fixture(scope='module')
def tree(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('kth'))
    make_kth_tree(root, decodable=set(), sequences_file=None)  # 599 placeholders
    return root


@pytest.mark.slow  # a subprocess or a whole run: over 5 s
def test_counts_and_official_lists(tree, tmp_path, capsys):
    out = tmp_path / 'lists'
    report = tmp_path / 'report.json'
    rc = prepare_kth.main([tree, '--out-dir', str(out), '--sequences', REAL_SEQUENCES,
                           '--report', str(report), '--no-progress'])
    assert rc == 0
    data = json.loads(report.read_text())
    assert data['videos'] == 599 and data['missing'] == []
    assert data['known_missing_absent'] == ['person13_handclapping_d3']
    assert data['counts']['class']['handclapping'] == 99
    assert data['counts']['scenario']['d3'] == 149
    assert data['counts']['person']['13'] == 23 and data['counts']['person']['1'] == 24
    assert data['sequences']['subsequences'] == 2391
    printed = capsys.readouterr().out
    assert 'handclapping     25   25   24   25     99' in printed
    for split in ('train', 'val', 'test', 'trainval'):
        videos = KTHDataset(pipeline=[], data_prefix=dict(video=tree), split=split)
        subs = KTHDataset(pipeline=[], data_prefix=dict(video=tree), split=split,
                          sequences_file=REAL_SEQUENCES)
        listed = KTHDataset(pipeline=[], ann_file=str(out / f'kth_{split}_videos.txt'),
                            data_prefix=dict(video=tree))
        listed_subs = KTHDataset(pipeline=[], data_prefix=dict(video=tree),
                                 ann_file=str(out / f'kth_{split}_subsequences.txt'))
        assert len(listed) == len(videos) and len(listed_subs) == len(subs)
        assert sorted(listed.get_data_info(i)['filename'] for i in range(len(listed))) == \
            sorted(videos.get_data_info(i)['filename'] for i in range(len(videos)))


def test_custom_split(tree, tmp_path):
    rc = prepare_kth.main([tree, '--out-dir', str(tmp_path), '--custom', 'train=1-16',
                           'test=17-25', '--no-progress'])
    assert rc == 0
    assert sorted(os.listdir(tmp_path)) == ['kth_test_videos.txt', 'kth_train_videos.txt']
    train = (tmp_path / 'kth_train_videos.txt').read_text().splitlines()
    test = (tmp_path / 'kth_test_videos.txt').read_text().splitlines()
    assert (len(train), len(test)) == (16 * 24 - 1, 9 * 24)


def test_missing_file_fails(tree, tmp_path, capsys):
    root = str(tmp_path / 'kth')
    shutil.copytree(tree, root)
    os.remove(os.path.join(root, 'boxing', 'person03_boxing_d1_uncomp.avi'))
    assert prepare_kth.main([root, '--out-dir', str(tmp_path), '--no-progress']) == 1
    out = capsys.readouterr().out
    assert 'missing: 1' in out and 'boxing/person03_boxing_d1_uncomp.avi' in out


def test_bad_name_fails_with_path(tree, tmp_path, capsys):
    root = str(tmp_path / 'kth')
    shutil.copytree(tree, root)
    os.makedirs(os.path.join(root, 'kicking'))
    assert prepare_kth.main([root, '--no-progress']) == 1
    err = capsys.readouterr().err
    assert "unknown action folder 'kicking'" in err and root in err


def test_decode_check_finds_truncated_and_unreadable(tmp_path, capsys):
    root = str(tmp_path / 'kth')
    paths = make_kth_tree(root, persons=[1], scenarios=['d4'], num_frames=24,
                          sequences_file='00sequences.txt')
    with open(paths['person01_walking_d4'], 'wb') as f:
        f.write(b'not a video')
    out = tmp_path / 'lists'
    rc = prepare_kth.main([root, '--out-dir', str(out), '--check-decode', '--custom', 'all=1',
                           '--sequences', os.path.join(root, '00sequences.txt'),
                           '--report', str(tmp_path / 'r.json'), '--no-progress'])
    assert rc == 1  # an unreadable file
    report = json.loads((tmp_path / 'r.json').read_text())
    assert list(report['unreadable']) == ['walking/person01_walking_d4_uncomp.avi']
    truncated = report['truncated']['boxing/person01_boxing_d4_uncomp.avi']
    assert truncated['declared'] == 24 and 0 < truncated['decodable'] < 24
    past = report['sequences']['ranges_past_decodable_end']
    assert list(past) == ['boxing/person01_boxing_d4_uncomp.avi']
    listed = (out / 'kth_all_videos.txt').read_text()
    assert 'person01_walking_d4' not in listed and listed.count('\n') == 5
    assert 'decoding check' not in capsys.readouterr().out


def _listed(path) -> list[str]:
    return [line.split()[0] for line in path.read_text().splitlines()]


def _dataset_files(root: str, **kwargs) -> list[str]:
    dataset = KTHDataset(pipeline=[], data_prefix=dict(video=root), **kwargs)
    return sorted(dataset.get_data_info(i)['filename'] for i in range(len(dataset)))


def test_macosx_folder_is_ignored_with_a_note(tree, tmp_path, capsys):
    """A Mac's archive tool adds __MACOSX/ with AppleDouble '._*' copies: not videos."""
    root = str(tmp_path / 'kth')
    shutil.copytree(tree, root)
    mac = os.path.join(root, '__MACOSX', 'boxing')
    os.makedirs(mac)
    open(os.path.join(mac, '._person01_boxing_d1_uncomp.avi'), 'wb').close()
    open(os.path.join(root, 'boxing', '._person01_boxing_d1_uncomp.avi'), 'wb').close()
    out = tmp_path / 'lists'
    assert prepare_kth.main([root, '--out-dir', str(out), '--no-progress']) == 0
    printed = capsys.readouterr().out
    assert f'note: ignored {root}/__MACOSX/: macOS archive metadata' in printed
    assert '599 videos' in printed and 'missing: 0' in printed
    assert len(_listed(out / 'kth_trainval_videos.txt')) == 16 * 24 - 1
    assert len(_dataset_files(root, split='test')) == 9 * 24


def test_upper_case_avi_is_accepted(tree, tmp_path):
    root = str(tmp_path / 'kth')
    shutil.copytree(tree, root)
    folder = os.path.join(root, 'running')
    for name in os.listdir(folder):
        os.rename(os.path.join(folder, name), os.path.join(folder, name[:-4] + '.AVI'))
    out = tmp_path / 'lists'
    assert prepare_kth.main([root, '--out-dir', str(out), '--no-progress']) == 0
    listed = _listed(out / 'kth_test_videos.txt')
    assert 'running/person02_running_d1_uncomp.AVI' in listed and len(listed) == 9 * 24
    for split in ('train', 'test'):  # the tree and the written list agree, files exist
        files = _dataset_files(root, split=split)
        assert files == _dataset_files(root, ann_file=str(out / f'kth_{split}_videos.txt'))
        assert all(os.path.isfile(f) for f in files)
    assert os.path.join(root, 'running/person11_running_d3_uncomp.AVI') in \
        _dataset_files(root, split='train')


def test_flat_extraction_is_accepted(tree, tmp_path, capsys):
    """All six zips extracted into one folder: every video directly in the root."""
    root = str(tmp_path / 'kth')
    shutil.copytree(tree, root)
    for action in os.listdir(tree):
        if os.path.isdir(os.path.join(tree, action)):
            for name in os.listdir(os.path.join(root, action)):
                os.rename(os.path.join(root, action, name), os.path.join(root, name))
            os.rmdir(os.path.join(root, action))
    out = tmp_path / 'lists'
    assert prepare_kth.main([root, '--out-dir', str(out), '--sequences', REAL_SEQUENCES,
                             '--no-progress']) == 0
    printed = capsys.readouterr().out
    assert f'note: 599 video(s) directly in {root} (no action folders)' in printed
    assert 'missing: 0' in printed
    assert 'person11_boxing_d1_uncomp.avi' in _listed(out / 'kth_train_videos.txt')
    expected = sorted(os.path.join(root, os.path.basename(f))
                      for f in _dataset_files(tree, split='val'))
    assert _dataset_files(root, split='val') == expected
    assert len(_dataset_files(root, split='val', sequences_file=REAL_SEQUENCES)) == \
        len(_dataset_files(tree, split='val', sequences_file=REAL_SEQUENCES))


def test_video_both_flat_and_in_folder_is_refused(tree, tmp_path, capsys):
    root = str(tmp_path / 'kth')
    shutil.copytree(tree, root)
    shutil.copy(os.path.join(root, 'boxing', 'person01_boxing_d1_uncomp.avi'), root)
    assert prepare_kth.main([root, '--no-progress']) == 1
    err = capsys.readouterr().err
    assert 'a second file for person01_boxing_d1' in err and 'delete one of them' in err


def test_tree_one_level_down_names_the_root(tree, tmp_path, capsys):
    """Extracted into data/kth/KTH/<action>/: the error says which folder to pass."""
    root = str(tmp_path / 'data')
    shutil.copytree(tree, os.path.join(root, 'KTH'))
    assert prepare_kth.main([root, '--no-progress']) == 1
    err = capsys.readouterr().err
    assert "unknown action folder 'KTH'" in err
    assert f'pass {os.path.join(root, "KTH")} as the KTH root' in err
