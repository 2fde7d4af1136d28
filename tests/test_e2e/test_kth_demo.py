"""End to end on CPU: synthetic KTH tree -> train the demo config -> test --dump ->
analyze_results; the held-out test persons must reach >= 90% top-1."""
from __future__ import annotations

import glob
import os
import subprocess
import sys

import pandas as pd
import pytest

from mmaction_ext.synthetic.kth import make_kth_tree

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
CONFIG = os.path.join(REPO, 'configs', 'demo', 'vit-tiny_synthetic-kth.py')
TEST_PERSONS = {22, 2, 3, 5, 6, 7, 8, 9, 10}

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: str) -> str:
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'}
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def test_demo_trains_tests_and_analyses(tmp_path):
    # The config reads data/kth_synthetic relative to the working directory.
    make_kth_tree(str(tmp_path / 'data' / 'kth_synthetic'))
    work = str(tmp_path / 'work')
    _run([os.path.join(REPO, 'tools', 'train.py'), CONFIG, '--work-dir', work], tmp_path)
    best = glob.glob(os.path.join(work, 'best_acc_top1_epoch_*.pth'))
    assert len(best) == 1
    dump = os.path.join(work, 'results.pkl')
    _run([os.path.join(REPO, 'tools', 'test.py'), CONFIG, best[0], '--work-dir', work,
          '--dump', dump], tmp_path)
    out_dir = os.path.join(work, 'analysis')
    printed = _run([os.path.join(REPO, 'tools', 'analyze_results.py'), dump, '--config',
                    CONFIG, '--out-dir', out_dir], tmp_path)
    per_class = pd.read_csv(os.path.join(out_dir, 'per_class.csv'))
    top1 = per_class['correct'].sum() / per_class['samples'].sum()
    print(f'held-out synthetic persons: top-1 {top1:.4f}\n{printed}')
    assert per_class['samples'].sum() == 9 * 24
    assert top1 >= 0.9
    per_person = pd.read_csv(os.path.join(out_dir, 'per_person.csv'))
    assert set(per_person['person']) == TEST_PERSONS
    assert set(pd.read_csv(os.path.join(out_dir, 'per_scenario.csv'))['scenario']) == {
        'd1', 'd2', 'd3', 'd4'}
    with open(os.path.join(out_dir, 'confusion_matrix.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    wrong = pd.read_csv(os.path.join(out_dir, 'misclassified.csv'))
    assert len(wrong) == per_class['samples'].sum() - per_class['correct'].sum()
