"""Per-hand accuracy of a dual-hand recognizer, computed from one mixed result list."""
from __future__ import annotations

import os
from collections import Counter
from typing import Any, Sequence

import numpy as np
from mmaction.evaluation.functional import top_k_accuracy
from mmaction.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmaction_ext.fileio import write_figure_png, write_npy

from ..functional.coverage import MissingSamplesError, check_scored_once

HANDS = ('lh', 'rh')
__all__ = ['HandAccMetric', 'MissingSamplesError']


def hand_accuracies(scores: np.ndarray, labels: np.ndarray,
                    topk: Sequence[int] = (1, 5)) -> dict[str, float]:
    """``top{k}`` and ``mean_class_accuracy`` of ``(N, C)`` scores against ``(N,)`` labels."""
    out = {f'top{k}': float(a)
           for k, a in zip(topk, top_k_accuracy(list(scores), labels, topk))}
    out['mean_class_accuracy'] = mean_class_recall(scores.argmax(axis=1), labels)
    return out


def mean_class_recall(preds: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the classes present in ``labels`` of each class's top-1 recall.

    MMAction2's ``mean_class_accuracy`` also averages over classes that are only
    predicted (scoring them 0), which deflates the figure on small or partial test sets.
    """
    classes = np.unique(labels)
    return float(np.mean([(preds[labels == c] == c).mean() for c in classes]))


def save_confusion_png(matrix: np.ndarray, path: str, title: str,
                       class_names: Sequence[str] | None = None) -> str:
    """Write a row-normalised confusion matrix (rows: true class) as a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = matrix.sum(axis=1, keepdims=True)
    norm = np.divide(matrix, rows, out=np.zeros_like(matrix, dtype=float), where=rows > 0)
    n = len(matrix)
    side = min(4 + 0.18 * n, 24)
    fig, ax = plt.subplots(figsize=(side, side))
    image = ax.imshow(norm, cmap='Blues', vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set(title=title, xlabel='predicted', ylabel='true')
    if n <= 40:
        labels = list(class_names) if class_names is not None else [str(i) for i in range(n)]
        ax.set_xticks(range(n), labels, rotation=90, fontsize=6)
        ax.set_yticks(range(n), labels, fontsize=6)
    if n <= 12:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, int(matrix[i, j]), ha='center', va='center', fontsize=7,
                        color='white' if norm[i, j] > 0.5 else 'black')
    fig.tight_layout()
    return write_figure_png(path, fig, dpi=100)


@METRICS.register_module()
class HandAccMetric(BaseMetric):
    """Top-k and mean-class accuracy per hand, and their mean over hands.

    Works on a val/test set that mixes both hands (``HAViDDataset``): each result is
    grouped by its sample's ``hand``. Before computing, it checks that every sample of
    each hand was scored exactly once (against ``dataset_meta['hand_counts']`` and by
    ``sample_idx``), so a dropped or duplicated sample fails loudly.

    Keys: ``hand_acc/{lh,rh,mean}_{top1,top5,mean_class_accuracy}`` (``mean_top1``
    first, so ``save_best='auto'`` picks it).

    Args:
        topk: top-k accuracies to report.
        out_dir: if set, write ``confusion_{hand}.png`` and ``confusion_{hand}.npy`` there.
        check_counts: verify every sample of each hand is evaluated exactly once.
    """

    default_prefix = 'hand_acc'

    def __init__(self, topk: Sequence[int] = (1, 5), out_dir: str | None = None,
                 check_counts: bool = True, collect_device: str = 'cpu',
                 prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(topk)
        self.out_dir = out_dir
        self.check_counts = check_counts

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            hand = sample.get('hand')
            if hand not in HANDS:
                raise KeyError(f'HandAccMetric: sample {sample.get("sample_idx")} has '
                               f'hand={hand!r}; evaluate a HAViDDataset')
            self.results.append(dict(hand=hand, sample_idx=sample.get('sample_idx'),
                                     pred=sample['pred_score'].cpu().numpy(),
                                     label=int(sample['gt_label'].item())))

    def _check(self, results: list[dict]) -> None:
        meta = self.dataset_meta or {}
        expected = meta.get('hand_counts')
        got = Counter(r['hand'] for r in results)
        if expected is not None and dict(got) != {h: n for h, n in expected.items() if n}:
            raise MissingSamplesError(
                f'HandAccMetric: results per hand {dict(got)} but the dataset has {expected}')
        check_scored_once([r['sample_idx'] for r in results], None, 'HandAccMetric')

    def compute_metrics(self, results: list) -> dict:
        if self.check_counts:
            self._check(results)
        per_hand: dict[str, dict[str, float]] = {}
        for hand in HANDS:
            rows = [r for r in results if r['hand'] == hand]
            if not rows:
                continue
            scores = np.stack([r['pred'] for r in rows])
            labels = np.array([r['label'] for r in rows])
            per_hand[hand] = hand_accuracies(scores, labels, self.topk)
            per_hand[hand]['num_samples'] = len(rows)
            if self.out_dir:
                self._save_confusion(hand, scores, labels)
        names = [f'top{k}' for k in self.topk] + ['mean_class_accuracy']
        metrics = {f'mean_{n}': float(np.mean([v[n] for v in per_hand.values()]))
                   for n in names}
        for hand, values in per_hand.items():
            metrics.update({f'{hand}_{n}': values[n] for n in names})
        print_log(self.table(per_hand, names), logger='current')
        return metrics

    @staticmethod
    def table(per_hand: dict[str, dict[str, float]], names: Sequence[str]) -> str:
        """A plain-text per-hand table (percent) for logs and the README."""
        header = f"{'hand':<6}{'clips':>7}" + ''.join(f'{n:>22}' for n in names)
        lines = ['per-hand accuracy (%):', header]
        for hand, values in per_hand.items():
            lines.append(f"{hand:<6}{values['num_samples']:>7}"
                         + ''.join(f'{100 * values[n]:>22.2f}' for n in names))
        mean = [np.mean([v[n] for v in per_hand.values()]) for n in names]
        lines.append(f"{'mean':<6}{'':>7}" + ''.join(f'{100 * m:>22.2f}' for m in mean))
        return '\n'.join(lines)

    def _save_confusion(self, hand: str, scores: np.ndarray, labels: np.ndarray) -> None:
        """Write ``confusion_{hand}.npy`` (rows: true class) and its PNG to ``out_dir``."""
        matrix = np.zeros((scores.shape[1],) * 2, dtype=np.int64)
        np.add.at(matrix, (labels, scores.argmax(axis=1)), 1)
        classes = (self.dataset_meta or {}).get('classes')
        names = classes.get(hand) if isinstance(classes, dict) else None
        write_npy(os.path.join(self.out_dir, f'confusion_{hand}.npy'), matrix)
        save_confusion_png(matrix, os.path.join(self.out_dir, f'confusion_{hand}.png'),
                           f'{hand} confusion ({len(labels)} clips)', names)
