"""The tools as a user runs them (subprocess): a known user error is ONE ``error:`` line on
stderr and a non-zero exit, ``--verbose`` shows the traceback; lists and CSVs are read the
one way (BOM, CRLF, folders, duplicates); eval_segmentation pairs files by video name;
prepare_kth refuses overlapping splits."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
HAVID_CFG = os.path.join(REPO, 'configs/havid_alternating.py')
KTH_CFG = os.path.join(REPO, 'configs/kth_videomaev2_vit-b.py')
DEMO_HAVID = os.path.join(REPO, 'configs/demo/dual-hand_vit-tiny_synthetic-havid.py')
DEMO_MOTION = os.path.join(REPO, 'configs/demo/vit-tiny_synthetic-motion.py')

pytestmark = pytest.mark.slow  # each case starts a tool (imports MMAction2: seconds)


def run(tool: str, *args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools', tool), *map(str, args)],
        capture_output=True, text=True, cwd=str(cwd or REPO),
        env={**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'})


def error_line(proc: subprocess.CompletedProcess) -> str:
    """The single ``error:`` line of a failed run (no traceback)."""
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith('error: ')]
    assert len(lines) == 1, proc.stderr[-3000:]
    return lines[0]


# ------------------------------------------------------------------ train.py / test.py

def test_train_without_havid_data_says_where_and_how_in_one_line(tmp_path):
    """The first command a newcomer tries: no traceback, the layout and the remedy."""
    line = error_line(run('train.py', HAVID_CFG, cwd=tmp_path))
    assert 'HA-ViD clip list not found: data/havid/lh_v0/train_list_video.txt' in line
    assert "layout 'dual_hand' expects <data_root>/{lh,rh}_v<view>/" in line
    assert '--cfg-options data_root=' in line and 'docs/datasets.md' in line
    verbose = run('train.py', HAVID_CFG, '--verbose', cwd=tmp_path)
    assert verbose.returncode != 0
    assert 'Traceback' in verbose.stderr and 'HAViDListNotFoundError' in verbose.stderr


def test_train_without_kth_data_names_the_layout(tmp_path):
    line = error_line(run('train.py', KTH_CFG, cwd=tmp_path))
    assert "KTH root 'data/kth' is not a folder" in line
    assert '<root>/<action>/' in line and '--cfg-options data_root=' in line


def test_train_on_a_list_with_a_duplicate_names_file_and_lines(tmp_path, tiny_havid):
    root = tmp_path / 'havid'
    shutil.copytree(tiny_havid, root)
    listing = root / 'lh_v0' / 'train_list_video.txt'
    first = listing.read_text().splitlines()[0]
    path, label = first.split()
    # BOM + CRLF + tabs are fine; the same clip again as ./path is not
    listing.write_bytes(b'\xef\xbb\xbf' + listing.read_text().replace(' ', '\t').replace(
        '\n', '\r\n').encode() + f'./{path} {label}\r\n'.encode())
    count = len(listing.read_text().splitlines())
    line = error_line(run('train.py', DEMO_HAVID, '--work-dir', tmp_path / 'w',
                          '--cfg-options', f'data_root={root}', cwd=tmp_path))
    assert f'{listing}:{count}: ./{path} is already listed on line 1' in line


def test_test_tool_missing_config_and_config_key_typo(tmp_path):
    line = error_line(run('test.py', tmp_path / 'nope.py', tmp_path / 'x.pth'))
    assert 'nope.py' in line and 'FileNotFoundError' in line
    line = error_line(run('test.py', DEMO_MOTION, tmp_path / 'x.pth', '--work-dir',
                          tmp_path / 'w', '--cfg-options', 'test_dataloder.batch_size=1'))
    assert "no key 'test_dataloder' (did you mean 'test_dataloader'?)" in line


# ---------------------------------------------------------------- infer_video.py --list

def test_infer_video_list_errors(tmp_path):
    args = [DEMO_HAVID, tmp_path / 'none.pth', '--out-dir', tmp_path / 'out']
    line = error_line(run('infer_video.py', *args, '--list', tmp_path))
    assert f'--list {tmp_path} is a folder, not a file' in line
    line = error_line(run('infer_video.py', *args, '--list', tmp_path / 'videos.txt'))
    assert f'--list not found: {tmp_path / "videos.txt"}' in line
    (tmp_path / 'a.mp4').write_bytes(b'x')
    listing = tmp_path / 'videos.txt'
    listing.write_bytes(b'\xef\xbb\xbfa.mp4\r\n# comment\r\n\r\n./a.mp4\r\n')
    line = error_line(run('infer_video.py', *args, '--list', listing))
    # line numbers of the file (the BOM did not glue itself to 'a.mp4')
    assert line.startswith(f'error: {listing}:4: {tmp_path}/./a.mp4 is already listed on '
                           f"line 1 (same file as '{tmp_path}/a.mp4'")
    (tmp_path / 'b').mkdir()
    (tmp_path / 'b' / 'a.mp4').write_bytes(b'y')
    listing.write_text('a.mp4\nb/a.mp4\n')
    line = error_line(run('infer_video.py', *args, '--list', listing))
    assert 'would both write' in line and f'{listing}:2' in line


def test_infer_video_reads_a_bom_crlf_list(tmp_path):
    """A list saved by a Windows editor (BOM, CRLF) names real videos: they are inferred."""
    from infer_helpers import ONE_CFG, random_checkpoint

    from mmaction_ext.synthetic import write_video
    rng = np.random.default_rng(0)
    for name in ('a', 'b'):
        write_video(str(tmp_path / f'{name}.mp4'),
                    rng.integers(0, 256, (10, 64, 64, 3), dtype=np.uint8))
    ckpt = random_checkpoint(ONE_CFG, str(tmp_path / 'one.pth'))
    listing = tmp_path / 'videos.txt'
    listing.write_bytes(b'\xef\xbb\xbfa.mp4\r\n\r\n\tb.mp4  \r\n')
    proc = run('infer_video.py', ONE_CFG, ckpt, '--list', listing, '--out-dir',
               tmp_path / 'out', '--no-progress')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '2 done, 0 skipped (complete), 0 failed' in proc.stdout
    assert sorted(os.listdir(tmp_path / 'out')) == ['a', 'b']


# ------------------------------------------------------------------ eval_segmentation.py

GT = {'v1': np.repeat([0, 1, 2, 1], 10), 'v2': np.repeat([2, 0], 20)}
WRONG = {'v1': {3, 4, 25}, 'v2': {0, 39}}  # frames predicted wrong (lh only)


def _segmentation_files(tmp_path, bom_crlf: bool = False) -> dict[str, str]:
    """``DIR/v/frames.csv`` (infer_video's columns) and ``data/v.gt.csv`` per video."""
    files = {}
    for video, gt in GT.items():
        pred = gt.copy()
        pred[sorted(WRONG[video])] = (gt[sorted(WRONG[video])] + 1) % 3
        rows = ['frame,time_s,lh_label,lh_score,rh_label,rh_score'] + [
            f'{i},{i / 25:.2f},{p},0.9,{g},0.9' for i, (p, g) in enumerate(zip(pred, gt))]
        gt_rows = ['frame,lh,rh'] + [f'{i},{g},{g}' for i, g in enumerate(gt)]
        for kind, lines, path in (('pred', rows, tmp_path / 'out' / video / 'frames.csv'),
                                  ('gt', gt_rows, tmp_path / 'data' / f'{video}.gt.csv')):
            path.parent.mkdir(parents=True, exist_ok=True)
            end = '\r\n' if bom_crlf else '\n'
            path.write_bytes((b'\xef\xbb\xbf' if bom_crlf else b'') +
                             (end.join(lines) + end).encode())
            files[f'{kind}_{video}'] = str(path)
    return files


@pytest.mark.parametrize('bom_crlf', [False, True])
def test_eval_segmentation_pairs_by_video_name_not_position(tmp_path, bom_crlf):
    files = _segmentation_files(tmp_path, bom_crlf)
    # as a shell glob gives them: predictions of v1, v2, then ground truths in another order
    order = [files['pred_v1'], files['pred_v2'], files['gt_v2'], files['gt_v1']]
    out = tmp_path / 'metrics.json'
    proc = run('eval_segmentation.py', *order, '--out', out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json
    metrics = json.loads(out.read_text())
    frames = sum(len(g) for g in GT.values())
    wrong = sum(len(w) for w in WRONG.values())
    assert metrics['lh/acc'] == pytest.approx(100 * (frames - wrong) / frames)  # 93.75
    assert metrics['rh/acc'] == pytest.approx(100.0)
    assert f'pair: {files["pred_v1"]} <-> {files["gt_v1"]}' in proc.stdout


def test_eval_segmentation_refuses_doubles_strays_and_folders(tmp_path):
    files = _segmentation_files(tmp_path)
    pairs = [files['pred_v1'], files['gt_v1'], files['pred_v2'], files['gt_v2']]
    twice = os.path.join(os.path.dirname(files['gt_v1']), '.', 'v1.gt.csv')
    line = error_line(run('eval_segmentation.py', *pairs, twice))
    assert f'argument 5: {twice} is already given at argument 2' in line
    line = error_line(run('eval_segmentation.py', *pairs[:3]))
    assert f'{files["pred_v2"]}: predictions of video \'v2\' without its ground truth' in line
    other = tmp_path / 'other' / 'v1' / 'frames.csv'
    other.parent.mkdir(parents=True)
    shutil.copy(files['pred_v1'], other)
    line = error_line(run('eval_segmentation.py', *pairs, other))
    assert 'are both predictions of video \'v1\'' in line and str(other) in line
    line = error_line(run('eval_segmentation.py', tmp_path / 'out' / 'v1', files['gt_v1']))
    assert f'CSV file {tmp_path / "out" / "v1"} is a folder, not a file' in line
    line = error_line(run('eval_segmentation.py', tmp_path / 'none.csv', files['gt_v1']))
    assert f'CSV file not found: {tmp_path / "none.csv"}' in line


# ------------------------------------------------------------------------ prepare_kth.py

def test_prepare_kth_refuses_overlapping_custom_splits(tmp_path):
    line = error_line(run('prepare_kth.py', tmp_path, '--custom', 'train=1-16', 'test=10-25'))
    assert "persons 10-16 are in both 'train' and 'test'" in line
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.txt')]  # nothing written
    line = error_line(run('prepare_kth.py', tmp_path, '--custom', 'train=1-3,5',
                          'val=4', 'test=2,5-6'))
    assert "persons 2,5 are in both 'train' and 'test'" in line
    line = error_line(run('prepare_kth.py', tmp_path, '--custom', 'train=1-3', 'train=4-6'))
    assert "split 'train' is given twice" in line


# ---------------------------------------------------------------------- analyze_results.py

def test_analyze_results_user_errors_are_one_line(tmp_path):
    import pickle

    import torch
    dump = tmp_path / 'results.pkl'
    with open(dump, 'wb') as f:
        pickle.dump([dict(pred_score=torch.tensor([0.2, 0.8]), gt_label=torch.tensor([1]))
                     for _ in range(4)], f)
    line = error_line(run('analyze_results.py', dump, '--out-dir', tmp_path / 'a',
                          '--group-by', 'camera'))
    assert "no 'camera' in the predictions" in line
    line = error_line(run('analyze_results.py', dump, '--out-dir', tmp_path / 'a',
                          '--classes', 'a', 'b', 'c'))
    assert '3 class names for 2-class predictions' in line
    line = error_line(run('analyze_results.py', tmp_path, '--out-dir', tmp_path / 'a'))
    assert f'results {tmp_path}: is a folder, not a file' in line
