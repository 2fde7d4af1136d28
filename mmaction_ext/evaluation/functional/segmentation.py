"""Temporal action segmentation measures (frame accuracy, edit score, F1@k), pure numpy.

The definitions follow MS-TCN's evaluation (Farha & Gall, CVPR 2019; ``eval.py`` of
yabufarha/ms-tcn, used by ASFormer and later work): segments are runs of equal frame
labels, those of a background class (MS-TCN's ``bg_class``) left out; the edit score is
``(1 - Levenshtein(pred segments, gt segments) / max(#pred, #gt)) * 100``; for F1@k each
predicted segment, in order, is a true positive when its best temporal IoU with a
ground-truth segment of the same label is at least k and that segment is not matched
yet; F1 = 2PR/(P+R) * 100. Over several videos frame accuracy pools the frames
(background frames included, as MS-TCN does), the edit score is the mean per video, and
F1 sums true/false positives and false negatives first.

Deliberate differences from the reference, each an error instead of a number: a video
with no frames (the reference raises IndexError) and a video with no non-background
segment in either prediction or truth (the reference's edit is 0/0 = NaN, which then
poisons the mean) raise ``SegmentationInputError`` naming the video.
"""
from __future__ import annotations

from typing import Collection, Sequence

import numpy as np

DEFAULT_OVERLAPS = (0.10, 0.25, 0.50)


def segments(labels: np.ndarray, bg_class: Collection = ()
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal labels not in ``bg_class``: ``(labels, starts, ends)``, ends exclusive."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return labels[:0], empty, empty
    cuts = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(labels)]])
    keep = np.array([lab not in bg_class for lab in labels[starts].tolist()], dtype=bool)
    return labels[starts][keep], starts[keep], ends[keep]


def levenshtein(a: Sequence, b: Sequence) -> int:
    """Edit distance (insertions, deletions, substitutions, each cost 1)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


class SegmentationInputError(ValueError):
    """A video the segmentation measures cannot score (no frames, background only)."""


def _check_nonempty(pred: np.ndarray, gt: np.ndarray, name: str) -> None:
    if len(pred) == 0 or len(gt) == 0:
        raise SegmentationInputError(
            f'{name}: {len(pred)} predicted and {len(gt)} true frames; segmentation scores '
            'need at least one frame (drop empty videos from the split)')


def edit_score(pred: np.ndarray, gt: np.ndarray, bg_class: Collection = (),
               name: str = 'video') -> float:
    """Segmental edit score in [0, 100] (100: same order of segment labels)."""
    _check_nonempty(np.asarray(pred), np.asarray(gt), name)
    p, g = segments(pred, bg_class)[0], segments(gt, bg_class)[0]
    longest = max(len(p), len(g))
    if longest == 0:
        raise SegmentationInputError(
            f'{name}: prediction and truth are background only ({sorted(bg_class)}), so '
            'the edit score is undefined (MS-TCN would give NaN); leave the video out or '
            'do not name its label a background class')
    return (1.0 - levenshtein(p.tolist(), g.tolist()) / longest) * 100.0


def f1_counts(pred: np.ndarray, gt: np.ndarray, overlap: float,
              bg_class: Collection = ()) -> tuple[int, int, int]:
    """``(tp, fp, fn)`` of predicted segments at IoU threshold ``overlap``."""
    p_lab, p_start, p_end = segments(pred, bg_class)
    g_lab, g_start, g_end = segments(gt, bg_class)
    used = np.zeros(len(g_lab), dtype=bool)
    tp = fp = 0
    for lab, s, e in zip(p_lab, p_start, p_end):
        inter = np.minimum(e, g_end) - np.maximum(s, g_start)
        union = np.maximum(e, g_end) - np.minimum(s, g_start)
        iou = np.where(g_lab == lab, np.clip(inter, 0, None) / union, 0.0)
        best = int(np.argmax(iou)) if len(iou) else -1
        if best >= 0 and iou[best] >= overlap and not used[best]:
            tp += 1
            used[best] = True
        else:
            fp += 1
    return tp, fp, int(len(g_lab) - used.sum())


def f1_from_counts(tp: int, fp: int, fn: int) -> float:
    """F1 (in [0, 100]) from summed counts."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall) * 100.0


def segmentation_scores(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray],
                        overlaps: Sequence[float] = DEFAULT_OVERLAPS,
                        bg_class: Collection = (),
                        names: Sequence[str] | None = None) -> dict[str, float]:
    """``acc``, ``edit`` and ``F1@{10,25,50}`` (percent) over one or more videos.

    Args:
        preds, gts: per video, per-frame labels of equal length.
        overlaps: IoU thresholds of the F1 scores.
        bg_class: labels left out of edit and F1 (not of accuracy), as MS-TCN's.
        names: per video, the name errors use (default ``video <index>``).
    """
    if len(preds) != len(gts) or not preds:
        raise SegmentationInputError(f'{len(preds)} predictions for {len(gts)} ground truths')
    names = list(names) if names is not None else [f'video {i}' for i in range(len(gts))]
    correct = total = 0
    edits = []
    counts = np.zeros((len(overlaps), 3), dtype=np.int64)
    for pred, gt, name in zip(preds, gts, names):
        pred, gt = np.asarray(pred), np.asarray(gt)
        if pred.shape != gt.shape:
            raise SegmentationInputError(f'{name}: prediction has {len(pred)} frames, ground truth '
                             f'{len(gt)}')
        edits.append(edit_score(pred, gt, bg_class, name))  # raises on an empty video
        correct += int((pred == gt).sum())
        total += len(gt)
        for k, overlap in enumerate(overlaps):
            counts[k] += f1_counts(pred, gt, overlap, bg_class)
    out = {'acc': correct / total * 100.0, 'edit': float(np.mean(edits))}
    for overlap, (tp, fp, fn) in zip(overlaps, counts):
        out[f'F1@{round(overlap * 100):d}'] = f1_from_counts(int(tp), int(fp), int(fn))
    return out
