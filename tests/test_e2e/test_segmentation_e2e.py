"""End to end through the stock tools: features layout -> tools/train.py -> tools/test.py."""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import pytest
from segmentation_helpers import REPO, make_layout, tiny_config

pytestmark = pytest.mark.slow


def _run(args: list[str]) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != 'MMACTION_EXT_VERBOSE'}
    res = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                         env={**env, 'PYTHONWARNINGS': 'ignore'}, timeout=900)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    return out.splitlines()


@pytest.mark.parametrize('tracks', [('lh', 'rh'), ('label',)])
def test_train_then_test_prints_per_hand_segmentation_table(tmp_path, tracks):
    data = tmp_path / 'data'
    make_layout(str(data), tracks=tracks, videos=[f'v{i}' for i in range(4)],
                lengths=(60, 80, 70, 50))
    cfg = tiny_config(str(tmp_path / 'cfg.py'), str(data), tracks=tracks, epochs=40)
    _run(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'work')])
    lines = _run(['tools/test.py', cfg, str(tmp_path / 'work/epoch_40.pth'),
                  '--work-dir', str(tmp_path / 'test')])
    first = lines.index('temporal segmentation (%), 4 video(s):')
    assert lines[first + 1].split() == ['track', 'acc', 'edit', 'F1@10', 'F1@25', 'F1@50']
    rows = {ln.split()[0]: [float(v) for v in ln.split()[1:]]
            for ln in lines[first + 2:first + 2 + len(tracks) + (len(tracks) > 1)]}
    assert set(rows) == set(tracks) | ({'mean'} if len(tracks) > 1 else set())
    (metrics_file,) = glob.glob(str(tmp_path / 'test' / '*' / '*.json'))
    metrics = json.load(open(metrics_file))
    for track in tracks:
        shown = rows[track]
        for value, name in zip(shown, ['acc', 'edit', 'F1@10', 'F1@25', 'F1@50']):
            assert metrics[f'seg/{track}/{name}'] == pytest.approx(value, abs=0.006)
        # the features carry the label (one-hot + noise): 80 steps learn much of it (86-97%
        # seen); chance is 25-33%
        assert metrics[f'seg/{track}/acc'] > 75.0, metrics
