"""Trust III through the tools, as a user runs them (issue #21): what ``--resume``
compares, ranks that read different lists, and test batches of mixed clip sizes.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmaction_ext.evaluation.safe_results import load_results

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
DEMO = os.path.join(REPO, 'configs/demo/vit-tiny_synthetic-motion.py')
ITER_CONFIG = os.path.join(REPO, 'configs/demo/vit-tiny_synthetic-motion_iter.py')
BIN = os.path.dirname(sys.executable)

pytestmark = pytest.mark.slow


def run(args: list[str], timeout: int = 600) -> tuple[int, str]:
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore', 'OMP_NUM_THREADS': '1',
           'MMACTION_EXT_DIST_TIMEOUT': '120',
           # the tools import this checkout's mmaction_ext, not the editable install's
           'PYTHONPATH': os.pathsep.join([REPO, os.path.join(REPO, 'tests')])}
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, env=env,
                          timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


def data_options(root: str, train_list: str = 'train_list.txt') -> list[str]:
    opts = []
    for loader, ann in (('train_dataloader', train_list), ('val_dataloader', 'val_list.txt')):
        opts += [f'{loader}.dataset.ann_file={root}/{ann}',
                 f'{loader}.dataset.data_prefix.video={root}/videos',
                 f'{loader}.num_workers=0', f'{loader}.persistent_workers=False']
    return opts


def train(work, data, *extra, train_list='train_list.txt'):
    return run([sys.executable, 'tools/train.py', ITER_CONFIG, '--work-dir', str(work),
                '--verbose', *extra, '--cfg-options', 'train_cfg.max_iters=4',
                *data_options(data, train_list)])


# ---------------------------------------------------------------- what --resume compares

@pytest.fixture(scope='module')
def trained(tmp_path_factory, tiny_motion_data):
    """A 4-iteration run's work dir, and its data."""
    work = tmp_path_factory.mktemp('resume') / 'work'
    code, out = train(work, tiny_motion_data)
    assert code == 0, out[-3000:]
    return work, tiny_motion_data


def _fresh_copy(work, tmp_path):
    copy = tmp_path / 'work'
    shutil.copytree(work, copy)
    return copy


def test_resume_with_doubled_accumulation_is_refused_in_words(trained, tmp_path):
    work, data = trained
    code, out = train(_fresh_copy(work, tmp_path), data, '--resume', '--cfg-options',
                      'optim_wrapper.accumulative_counts=2')
    assert code != 0
    assert 'ResumeMismatchError' in out
    assert ('effective batch 8 (8 per rank x 1 ranks x 1 accumulated) -> '
            '16 (8 per rank x 1 ranks x 2 accumulated)') in out
    assert 'optim_wrapper.accumulative_counts: unset -> 2' in out
    assert 'Iter(train) [ 5/' not in out


def test_resume_of_the_same_files_in_another_folder_continues(trained, tmp_path):
    work, data = trained
    moved = tmp_path / 'moved'
    shutil.copytree(data, moved)
    code, out = train(_fresh_copy(work, tmp_path), str(moved), '--resume', '--cfg-options',
                      'train_cfg.max_iters=6')
    assert code == 0, out[-3000:]
    assert re.search(r'resumed epoch: \d+, iter: 4', out), out[-3000:]
    assert 'ResumeMismatchError' not in out


def test_resume_with_a_relabelled_clip_names_it(trained, tmp_path):
    work, data = trained
    moved = tmp_path / 'relabelled'
    shutil.copytree(data, moved)
    lines = (moved / 'train_list.txt').read_text().splitlines()
    name, label = lines[1].split()
    lines[1] = f'{name} {(int(label) + 1) % 4}'
    (moved / 'train_list.txt').write_text('\n'.join(lines) + '\n')
    code, out = train(_fresh_copy(work, tmp_path), str(moved), '--resume')
    assert code != 0
    assert (f"training samples: 16 samples on both sides: 1 changed ('{name} label={label}' "
            f"-> '{name} label={(int(label) + 1) % 4}')") in out


# ---------------------------------------------------------------- ranks reading other lists

def _ddp(tmp_path, data, rank1_edit):
    """torchrun 2 CPU ranks; rank r reads copy<r>/train_list.txt (edited for rank 1)."""
    for rank in (0, 1):
        os.makedirs(tmp_path / f'copy{rank}')
        lines = open(os.path.join(data, 'train_list.txt')).read().splitlines()
        if rank == 1:
            lines = rank1_edit(lines)
        (tmp_path / f'copy{rank}' / 'train_list.txt').write_text('\n'.join(lines) + '\n')
    config = tmp_path / 'per_rank_lists.py'
    config.write_text(
        f"_base_ = {ITER_CONFIG!r}\n"
        f"train_dataloader = dict(dataset=dict(ann_file='{tmp_path}/copy{{{{$RANK:0}}}}/"
        "train_list.txt'))\n")
    opts = [o for o in data_options(data) if not o.startswith('train_dataloader.dataset.ann')]
    return run([os.path.join(BIN, 'torchrun'), '--nproc_per_node=2', '--master_port=29561',
                'tools/train.py', str(config), '--launcher', 'pytorch', '--work-dir',
                str(tmp_path / 'work'), '--cfg-options', 'train_cfg.max_iters=4', *opts],
               timeout=420)


def test_ddp_ranks_with_one_relabelled_line_are_refused(tmp_path, tiny_motion_data):
    def relabel(lines):
        name, label = lines[5].split()
        lines[5] = f'{name} {(int(label) + 1) % 4}'
        return lines
    code, out = _ddp(tmp_path, tiny_motion_data, relabel)
    assert code != 0
    assert 'RankDisagreementError' in out, out[-4000:]
    assert 'the train dataset differs between rank 0 and rank 1' in out
    assert "1 changed ('train/class1_001.avi label=1' -> 'train/class1_001.avi label=2')" in out
    assert 'Iter(train)' not in out


def test_ddp_ranks_with_lists_of_other_lengths_say_so(tmp_path, tiny_motion_data):
    code, out = _ddp(tmp_path, tiny_motion_data, lambda lines: lines[:-1])
    assert code != 0
    assert 'the train dataset has 16 samples on rank 0 but 15 on rank 1' in out
    assert 'each rank read a different list (this is not a sampler problem)' in out
    assert '1 only on rank 0 (train/class3_003.avi)' in out


# ---------------------------------------------------------------- batches of mixed sizes

@pytest.fixture(scope='module')
def mixed_sizes(tmp_path_factory):
    """8 clips of 64x128 of which one is replaced by a 96x192 clip; a checkpoint."""
    from mmaction_ext.synthetic import make_classification_dataset
    from mmaction_ext.synthetic.video_io import write_video
    tmp = tmp_path_factory.mktemp('mixed')
    root = str(tmp / 'data')
    make_classification_dataset(root, num_classes=4, videos_per_class={'val': 2},
                                num_frames=16, size=(64, 128))
    odd = os.path.join(root, 'videos', 'val/class2_000.avi')
    frames = np.random.default_rng(0).integers(0, 255, (16, 96, 192, 3), dtype=np.uint8)
    write_video(odd, frames)
    cfg_path = tmp / 'cfg.py'
    cfg_path.write_text(f'''
_base_ = {DEMO!r}
test_pipeline = [
    dict(type='SafeDecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file={os.path.join(root, 'val_list.txt')!r},
                 data_prefix=dict(video={os.path.join(root, 'videos')!r}),
                 pipeline=test_pipeline))
''')
    with DefaultScope.overwrite_default_scope('mmaction'):
        torch.manual_seed(0)
        model = MODELS.build(Config.fromfile(str(cfg_path)).model)
    ckpt = str(tmp / 'model.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    return str(cfg_path), ckpt, tmp


def test_a_batch_of_mixed_clip_sizes_is_refused_naming_the_file(mixed_sizes):
    cfg, ckpt, tmp = mixed_sizes
    code, out = run([sys.executable, 'tools/test.py', cfg, ckpt, '--verbose',
                     '--work-dir', str(tmp / 'w1')])
    assert code != 0
    assert 'MixedClipSizeError' in out
    assert re.search(r'test batch 0 mixes clip sizes: \S*val/class2_000.avi is 1x3x8x96x192, '
                     r'the other 7 clips are 1x3x8x64x128', out), out[-3000:]
    assert 'acc/top1' not in out


def test_mixed_sizes_scored_one_clip_at_a_time_pass(mixed_sizes):
    """batch_size=1: every clip is scored alone, so no neighbour can change its score."""
    cfg, ckpt, tmp = mixed_sizes
    dump = tmp / 'one_by_one.pkl'
    code, out = run([sys.executable, 'tools/test.py', cfg, ckpt, '--verbose', '--work-dir',
                     str(tmp / 'w2'), '--dump', str(dump), '--cfg-options',
                     'test_dataloader.batch_size=1'])
    assert code == 0, out[-3000:]
    assert len(load_results(str(dump))) == 8


# ---------------------------------------------------------------- a list label the head lacks

def test_a_test_list_label_beyond_the_head_is_refused(mixed_sizes, tiny_motion_data, tmp_path):
    """Label 7 for a 4-class model scored 25% top-1 (and 75% top-5) with exit 0."""
    _, ckpt, _ = mixed_sizes  # the demo model, 4 classes
    lines = open(os.path.join(tiny_motion_data, 'val_list.txt')).read().splitlines()
    name = lines[-1].split()[0]
    lines[-1] = f'{name} 7'
    bad_list = tmp_path / 'val_list.txt'
    bad_list.write_text('\n'.join(lines) + '\n')
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f'''
_base_ = {DEMO!r}
test_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file={str(bad_list)!r},
                 data_prefix=dict(video={os.path.join(tiny_motion_data, 'videos')!r})))
''')
    code, out = run([sys.executable, 'tools/test.py', str(cfg), ckpt, '--verbose',
                     '--work-dir', str(tmp_path / 'w')])
    assert code != 0
    assert (f"test list ({bad_list}): {os.path.join(tiny_motion_data, 'videos', name)} has "
            "label 7, but the model's cls_head has 4 classes (labels 0-3)") in out
    assert 'acc/top1' not in out
