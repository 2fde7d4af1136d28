"""HandAccMetric: per-hand numbers against a direct computation; dropped samples fail."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmaction_ext.evaluation.metrics.hand_acc_metric import HandAccMetric, MissingSamplesError


def _results(seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = []
    for idx, hand, classes in [(i, 'lh', 3) for i in range(7)] + \
            [(i, 'rh', 6) for i in range(7, 19)]:
        scores = rng.random(classes)
        rows.append(dict(hand=hand, sample_idx=idx, pred_score=torch.tensor(scores),
                         gt_label=torch.tensor([int(rng.integers(classes))])))
    return rows


def _reference(rows, hand, k):
    picked = [r for r in rows if r['hand'] == hand]
    hits = [int(r['gt_label']) in np.argsort(-r['pred_score'].numpy())[:k] for r in picked]
    per_class = {}
    for r in picked:
        label = int(r['gt_label'])
        per_class.setdefault(label, []).append(int(r['pred_score'].argmax()) == label)
    return float(np.mean(hits)), float(np.mean([np.mean(v) for v in per_class.values()]))


def _evaluate(rows, out_dir=None, counts=None):
    metric = HandAccMetric(topk=(1, 2), out_dir=out_dir)
    metric.dataset_meta = dict(hand_counts=counts or {'lh': 7, 'rh': 12},
                               classes={'lh': ['a', 'b', 'c']})
    for start in range(0, len(rows), 4):
        metric.process({}, rows[start:start + 4])
    return metric.evaluate(len(rows))


def test_per_hand_accuracies_and_their_mean(tmp_path):
    rows = _results()
    metrics = _evaluate(rows, out_dir=str(tmp_path))
    for hand in ('lh', 'rh'):
        top1, mean_class = _reference(rows, hand, 1)
        top2, _ = _reference(rows, hand, 2)
        assert metrics[f'hand_acc/{hand}_top1'] == pytest.approx(top1)
        assert metrics[f'hand_acc/{hand}_top2'] == pytest.approx(top2)
        assert metrics[f'hand_acc/{hand}_mean_class_accuracy'] == pytest.approx(mean_class)
    assert metrics['hand_acc/mean_top1'] == pytest.approx(
        (metrics['hand_acc/lh_top1'] + metrics['hand_acc/rh_top1']) / 2)
    assert next(iter(metrics)) == 'hand_acc/mean_top1'  # what save_best='auto' picks
    matrix = np.load(tmp_path / 'confusion_rh.npy')
    rh = [r for r in rows if r['hand'] == 'rh']
    assert matrix.shape == (6, 6) and matrix.sum() == len(rh)
    for r in rh:  # every (true, predicted) pair is counted in its cell
        assert matrix[int(r['gt_label']), int(r['pred_score'].argmax())] > 0
    assert (tmp_path / 'confusion_lh.png').stat().st_size > 1000


def test_a_dropped_sample_fails_evaluation():
    rows = _results()
    with pytest.raises(MissingSamplesError, match=r"results per hand \{'lh': 6, 'rh': 12\}"):
        _evaluate(rows[1:])


def test_a_duplicated_sample_fails_evaluation():
    rows = _results()
    rows[3] = dict(rows[3], sample_idx=2)
    with pytest.raises(MissingSamplesError, match=r'scored twice: \[2\]'):
        _evaluate(rows)


def test_sample_without_hand_is_refused():
    rows = _results()
    rows[0] = {k: v for k, v in rows[0].items() if k != 'hand'}
    with pytest.raises(KeyError, match='hand=None'):
        _evaluate(rows)
