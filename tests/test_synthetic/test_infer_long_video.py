"""Long synthetic dual-hand videos (independent per-hand segments) and the bench's parser."""
from __future__ import annotations

import csv
import importlib.util
import math
import os

import numpy as np
import pytest

from mmaction_ext.apis import SequentialFrames, label_runs
from mmaction_ext.synthetic import make_long_havid_video
from mmaction_ext.synthetic.havid import motion_index, num_motions
from mmaction_ext.synthetic.motion import motion_for_label

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def _shift(a: np.ndarray, b: np.ndarray, reach: int = 6) -> tuple[int, int]:
    """Integer (dx, dy) with b(y, x) ~ a(y - dy, x - dx), by least squares over a margin."""
    m = reach
    best, arg = math.inf, (0, 0)
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            err = np.mean((b[m:-m, m:-m] - a[m - dy:a.shape[0] - m - dy,
                                             m - dx:a.shape[1] - m - dx]) ** 2)
            if err < best:
                best, arg = err, (dx, dy)
    return arg


def test_long_video_has_independent_hand_segments_moving_as_labelled(tmp_path):
    path = str(tmp_path / 'long.mp4')
    classes = {'lh': 3, 'rh': 4}
    labels = make_long_havid_video(path, duration_s=4, fps=25, segment_s=(0.4, 1.0),
                                   num_classes=classes, seed=3)
    with open(tmp_path / 'long.gt.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 100 and list(rows[0]) == ['frame', 'lh', 'rh']
    source = SequentialFrames(path)
    assert source.num_frames == 100 and source.fps == pytest.approx(25)
    frames = np.concatenate([f for _, f in source]).astype(np.float32).mean(-1)
    bounds = {}
    for k, hand in enumerate(('lh', 'rh')):
        np.testing.assert_array_equal([int(r[hand]) for r in rows], labels[hand])
        runs = label_runs(labels[hand])
        bounds[hand] = {first for _, first, _ in runs[1:]}
        assert all(a[0] != b[0] for a, b in zip(runs, runs[1:]))     # a change each time
        assert all(10 <= last - first + 1 <= 25 for _, first, last in runs[:-1])
        for label, first, last in runs[:-1]:   # each segment slides as its label says
            half = frames[:, :, k * 64:(k + 1) * 64]
            t = (first + last) // 2
            dx, dy = motion_for_label(motion_index(hand, label, classes), num_motions(classes))
            norm = math.hypot(dx, dy)
            expected = (4.5 * dx / norm, 4.5 * dy / norm)
            got = _shift(half[t], half[t + 1])
            assert abs(got[0] - expected[0]) <= 1 and abs(got[1] - expected[1]) <= 1, \
                (hand, label, got, expected)
    assert bounds['lh'] != bounds['rh'] and len(bounds['lh']) >= 3


def test_bench_parser_reads_speedup_and_refuses_unequal_scores():
    spec = importlib.util.spec_from_file_location('run_all',
                                                  os.path.join(REPO, 'bench/run_all.py'))
    run_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_all)
    line = ('{"duration_s": 20.0, "speedup": 4.5, "cpu_speedup": 5.0, '
            '"max_abs_diff": 3e-08, "top1_agree": true}')
    rows = run_all.parse_infer_video('rep 0 ours: 1 s\n' + line + '\n')
    assert [(r[0], r[2]) for r in rows] == [('video inference', 4.5)]
    with pytest.raises(ValueError, match='scores differ'):
        run_all.parse_infer_video(line.replace('true', 'false'))
