"""End to end through the command-line tools: ours, torchrun, and MMAction2's own (mim)."""
from __future__ import annotations

import glob
import os
import pickle
import re
import subprocess
import sys

import pytest

from mmaction_ext.checkpoint import safe_torch_load

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
ITER_CONFIG = os.path.join(REPO, 'configs/demo/vit-tiny_synthetic-motion_iter.py')
BIN = os.path.dirname(sys.executable)

pytestmark = pytest.mark.slow


def data_options(root: str) -> list[str]:
    """--cfg-options pointing the demo config at a generated dataset."""
    opts = []
    for loader, split in (('train_dataloader', 'train'), ('val_dataloader', 'val'),
                          ('test_dataloader', 'val')):
        opts += [f'{loader}.dataset.ann_file={root}/{split}_list.txt',
                 f'{loader}.dataset.data_prefix.video={root}/videos',
                 f'{loader}.num_workers=0', f'{loader}.persistent_workers=False']
    return opts


def run(args: list[str], timeout: int = 600) -> str:
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore', 'OMP_NUM_THREADS': '1'}
    result = subprocess.run(args, cwd=REPO, capture_output=True, text=True, env=env,
                            timeout=timeout)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    return out


def train(work_dir, data, *extra: str) -> str:
    return run([sys.executable, 'tools/train.py', ITER_CONFIG, '--work-dir', str(work_dir),
                *extra, '--cfg-options', *data_options(data)])


def test_train_resume_then_test(tmp_path, tiny_motion_data):
    work = tmp_path / 'work'
    train(work, tiny_motion_data, '--cfg-options', 'train_cfg.max_iters=10')
    assert os.path.isfile(work / 'iter_10.pth')
    assert (work / 'last_checkpoint').read_text().strip().endswith('iter_10.pth')

    out = train(work, tiny_motion_data, '--resume')
    assert re.search(r'resumed epoch: \d+, iter: 10', out), out[-3000:]
    trained_iters = [int(i) for i in re.findall(r'Iter\(train\) \[\s*(\d+)/20\]', out)]
    assert trained_iters and min(trained_iters) > 10  # continued, did not restart at 1
    final = safe_torch_load(str(work / 'iter_20.pth'))
    assert final['meta']['iter'] == 20

    dump = tmp_path / 'preds.pkl'
    out = run([sys.executable, 'tools/test.py', ITER_CONFIG, str(work / 'iter_20.pth'),
               '--work-dir', str(tmp_path / 'test'), '--dump', str(dump),
               '--cfg-options', *data_options(tiny_motion_data)])
    assert re.search(r'acc/top1: [0-9.]+', out)
    with open(dump, 'rb') as f:
        predictions = pickle.load(f)
    val_lines = open(os.path.join(tiny_motion_data, 'val_list.txt')).read().split('\n')
    assert len(predictions) == len([line for line in val_lines if line.strip()])


def test_torchrun_two_cpu_processes(tmp_path, tiny_motion_data):
    work = tmp_path / 'ddp'
    out = run([os.path.join(BIN, 'torchrun'), '--nproc_per_node=2', '--master_port=29533',
               'tools/train.py', ITER_CONFIG, '--launcher', 'pytorch', '--work-dir', str(work),
               '--cfg-options', 'train_cfg.max_iters=10', *data_options(tiny_motion_data)])
    assert 'Distributed training: True' in out
    assert re.search(r'Iter\(val\) \[\d+/\d+\]\s+acc/top1', out)
    checkpoint = safe_torch_load(str(work / 'iter_10.pth'))
    assert checkpoint['meta']['iter'] == 10
    # DDP keys must not leak into the saved model (``module.`` prefix).
    assert not any(k.startswith('module.') for k in checkpoint['state_dict'])


def test_mmaction_packaged_tools_run_project_configs(tmp_path, tiny_motion_data):
    """`mim train mmaction CFG` and MMAction2's own tools/test.py on our checkpoint."""
    work = tmp_path / 'mim'
    run([os.path.join(BIN, 'mim'), 'train', 'mmaction', ITER_CONFIG, '--work-dir', str(work),
         '--cfg-options', 'train_cfg.max_iters=10', *data_options(tiny_motion_data)])
    checkpoint = work / 'iter_10.pth'
    assert checkpoint.is_file()
    import mmaction
    stock_test = os.path.join(os.path.dirname(mmaction.__file__), '.mim/tools/test.py')
    out = run([sys.executable, stock_test, ITER_CONFIG, str(checkpoint),
               '--work-dir', str(tmp_path / 'stock_test'),
               '--cfg-options', *data_options(tiny_motion_data)])
    assert re.search(r'acc/top1: [0-9.]+', out)
    assert glob.glob(str(tmp_path / 'stock_test' / '*' / '*.log'))
