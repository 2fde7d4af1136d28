"""From per-window scores to per-frame scores, labels and segments (pure numpy)."""
from __future__ import annotations

import numpy as np


def frame_scores_from_windows(spans: np.ndarray, scores: np.ndarray,
                              num_frames: int) -> np.ndarray:
    """Per-frame scores: the mean of the scores of the windows covering each frame.

    Args:
        spans: ``(W, 2)`` first and last-plus-one frame each window covers.
        scores: ``(W, C)`` window scores.
        num_frames: frames of the video.

    Returns:
        ``(num_frames, C)``. A frame no window covers takes the scores of the nearest
        window (distance from the frame to the window's span; the earlier on a tie).
    """
    spans = np.clip(np.asarray(spans, dtype=np.int64), 0, num_frames)
    scores = np.asarray(scores, dtype=np.float64)
    if len(spans) == 0:
        raise ValueError('no windows to take frame scores from')
    diff = np.zeros((num_frames + 1, scores.shape[1]))
    count = np.zeros(num_frames + 1)
    np.add.at(diff, spans[:, 0], scores)
    np.add.at(diff, spans[:, 1], -scores)
    np.add.at(count, spans[:, 0], 1)
    np.add.at(count, spans[:, 1], -1)
    total, covered = np.cumsum(diff, 0)[:-1], np.cumsum(count)[:-1]
    out = np.empty_like(total)
    hit = covered > 0
    out[hit] = total[hit] / covered[hit, None]
    missing = np.flatnonzero(~hit)
    if len(missing):
        gap = np.maximum(np.maximum(spans[None, :, 0] - missing[:, None],
                                    missing[:, None] - spans[None, :, 1] + 1), 0)
        out[missing] = scores[np.argmin(gap, axis=1)]
    return out


def moving_average(scores: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average over ``width`` frames; the window shrinks at the ends.

    ``width <= 1`` returns the scores unchanged.
    """
    if width <= 1:
        return scores
    before, after = (width - 1) // 2, width // 2
    padded = np.concatenate([np.zeros((1, scores.shape[1])), np.cumsum(scores, 0)])
    n = len(scores)
    idx = np.arange(n)
    lo, hi = np.maximum(idx - before, 0), np.minimum(idx + after + 1, n)
    return (padded[hi] - padded[lo]) / (hi - lo)[:, None]


def label_runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of equal labels as ``(label, first_frame, last_frame)`` (inclusive)."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        return []
    cuts = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(labels)]]) - 1
    return [(int(labels[s]), int(s), int(e)) for s, e in zip(starts, ends)]
