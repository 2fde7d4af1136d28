"""analyze_results on a dual-hand dump: per hand, with tools/test.py's mean class figure.

Class k of the left hand is not class k of the right: the tables are per hand and the
mean class top-1 is HandAccMetric's (mean over hands of each hand's mean over classes).
Both are checked against a computation written here from the raw arrays, and against
HandAccMetric itself; the data is built so that merging the hands gives other numbers.
"""
from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from mmaction_ext.evaluation.error_analysis import analyze
from mmaction_ext.evaluation.metrics.hand_acc_metric import HandAccMetric

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
CLASSES = {'lh': 3, 'rh': 4}
NAMES = {'lh': ['grasp', 'hold', 'turn'], 'rh': ['pick', 'place', 'screw', 'push']}


def _dump(seed: int = 0, per_hand: dict | None = None) -> list[dict]:
    """Shuffled lh/rh samples as tools/test.py --dump writes them (hand in the metainfo)."""
    rng = np.random.default_rng(seed)
    per_hand = per_hand or {'lh': 40, 'rh': 50}
    out = []
    for hand, n in per_hand.items():
        c = CLASSES[hand]
        for _ in range(n):
            gt = int(rng.integers(c))
            scores = rng.random(c)
            if rng.random() < (0.8 if hand == 'lh' else 0.4):  # the hands differ in skill
                scores[gt] += 1
            out.append(dict(pred_score=torch.tensor(scores / scores.sum(), dtype=torch.float32),
                            gt_label=torch.tensor([gt]), hand=hand, num_classes=c))
    order = rng.permutation(len(out))
    return [dict(out[i], sample_idx=k) for k, i in enumerate(order)]


def _reference(results: list[dict]) -> dict:
    """Per hand: per-class (samples, correct), confusion counts, mean class top-1."""
    ref = {}
    for hand, c in CLASSES.items():
        rows = [r for r in results if r['hand'] == hand]
        gts = [int(r['gt_label'][0]) for r in rows]
        preds = [int(np.argmax(r['pred_score'].numpy())) for r in rows]
        matrix = np.zeros((c, c), int)
        per_class = {}
        for g, p in zip(gts, preds):
            matrix[g, p] += 1
        for k in range(c):
            n = sum(1 for g in gts if g == k)
            if n:
                per_class[k] = (n, sum(1 for g, p in zip(gts, preds) if g == k and p == k))
        ref[hand] = dict(matrix=matrix, per_class=per_class,
                         mean_class=sum(ok / n for n, ok in per_class.values()) / len(per_class))
    ref['mean_class'] = (ref['lh']['mean_class'] + ref['rh']['mean_class']) / 2
    return ref


def _hand_acc_metric(results: list[dict]) -> dict:
    """What tools/test.py prints for the same predictions."""
    metric = HandAccMetric(topk=(1,))
    metric.dataset_meta = dict(hand_counts={h: sum(r['hand'] == h for r in results)
                                            for h in CLASSES})
    metric.process(None, results)
    return metric.compute_metrics(metric.results)


def test_dual_hand_tables_and_mean_class_match_references(tmp_path):
    results = _dump()
    ref = _reference(results)
    summary = analyze(results, str(tmp_path), NAMES)
    assert summary['mean_class_top1'] == pytest.approx(ref['mean_class'])
    metric = _hand_acc_metric(results)
    assert summary['mean_class_top1'] == pytest.approx(metric['mean_mean_class_accuracy'])
    for hand in CLASSES:
        assert summary['hands'][hand]['mean_class_top1'] == pytest.approx(
            metric[f'{hand}_mean_class_accuracy'])
        per_class = pd.read_csv(summary['paths'][f'per_class_{hand}'])
        assert list(per_class['name']) == [NAMES[hand][k] for k in ref[hand]['per_class']]
        for row in per_class.itertuples():
            assert (row.samples, row.correct) == ref[hand]['per_class'][row.label]
        matrix = pd.read_csv(summary['paths'][f'confusion_csv_{hand}'], index_col=0)
        assert list(matrix.index) == NAMES[hand]
        assert (matrix.to_numpy() == ref[hand]['matrix']).all()
    assert 'per_class' not in summary['paths']  # no table mixing the hands' classes
    # merging class k of both hands would give another figure: the test can tell
    gts = np.array([int(r['gt_label'][0]) for r in results])
    ok = np.array([int(np.argmax(r['pred_score'].numpy())) == g for r, g in zip(results, gts)])
    merged = np.mean([ok[gts == k].mean() for k in np.unique(gts)])
    assert abs(merged - ref['mean_class']) > 0.01
    wrong = pd.read_csv(summary['paths']['misclassified'])
    assert len(wrong) == (~ok).sum()
    for row in wrong.itertuples():
        assert row.true == NAMES[row.hand][int(results[row.index]['gt_label'][0])]


@pytest.mark.slow  # a subprocess importing MMAction2
def test_cli_on_a_dual_hand_dump_prints_test_py_figure(tmp_path):
    results = _dump(1)
    dump = tmp_path / 'results.pkl'
    with open(dump, 'wb') as f:
        pickle.dump(results, f)
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'analyze_results.py'),
                           str(dump), '--out-dir', str(tmp_path / 'a')],
                          capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(n for n in os.listdir(tmp_path / 'a') if n.startswith(('per_', 'conf'))) == [
        'confusion_matrix_lh.csv', 'confusion_matrix_lh.png', 'confusion_matrix_rh.csv',
        'confusion_matrix_rh.png', 'per_class_lh.csv', 'per_class_rh.csv', 'per_hand.csv']
    printed = float(re.search(r'mean class top-1 ([0-9.]+) \(mean over hands\)',
                              proc.stdout).group(1))
    metric = _hand_acc_metric(results)
    assert printed == pytest.approx(metric['mean_mean_class_accuracy'], abs=5e-5)
    assert printed == pytest.approx(_reference(results)['mean_class'], abs=5e-5)
    for hand in CLASSES:
        shown = float(re.search(rf'{hand}: \d+ samples, top-1 [0-9.]+, mean class top-1 '
                                r'([0-9.]+)', proc.stdout).group(1))
        assert shown == pytest.approx(metric[f'{hand}_mean_class_accuracy'], abs=5e-5)


def test_names_per_hand_must_fit_each_hand(tmp_path):
    with pytest.raises(ValueError, match="3 class names for 4-class predictions of hand 'rh'"):
        analyze(_dump(2), str(tmp_path), dict(lh=NAMES['lh'], rh=NAMES['lh']))
    with pytest.raises(ValueError, match=r"class names given for hands \['lh'\], not 'rh'"):
        analyze(_dump(2), str(tmp_path), dict(lh=NAMES['lh']))
