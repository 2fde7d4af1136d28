"""Untrimmed synthetic dual-hand videos: each hand changes action at its own times.

For sliding-window inference and temporal segmentation: a video minutes long whose
left half moves as the left hand's current label says and whose right half as the
right hand's, rendered with the same sliding textures as the trimmed HA-ViD clips
(:func:`~mmaction_ext.synthetic.havid.render_sliding_texture`, same motions per hand
label), so a model trained on those clips labels these frames. Each hand's segments
have random lengths drawn independently, so the hands' boundaries do not coincide.
Per-frame labels go to ``gt.csv`` (``frame,lh,rh``).

With ``pause_s``, a hand holds still at the start of each new segment (a fresh texture
that does not move, labelled as the new action, as a reach or re-grasp belongs to the
action it starts): a window there shows no motion, so its label can only come from
what follows, which a temporal model sees and a sliding window does not.
"""
from __future__ import annotations

import os

import numpy as np

from mmaction_ext.fileio import write_csv

from .havid import HANDS, motion_index, num_motions, render_sliding_texture
from .video_io import write_video


def hand_schedule(num_frames: int, num_classes: int, min_len: int, max_len: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Per-frame labels: segments of ``min_len..max_len`` frames, each label unlike the last."""
    labels = np.empty(num_frames, dtype=np.int64)
    t, last = 0, -1
    while t < num_frames:
        length = int(rng.integers(min_len, max_len + 1))
        choices = [c for c in range(num_classes) if c != last] or [last]
        last = int(rng.choice(choices))
        labels[t:t + length] = last
        t += length
    return labels


def make_long_havid_video(path: str, duration_s: float = 180.0, fps: int = 25,
                          size: tuple[int, int] = (64, 128),
                          num_classes: dict[str, int] | None = None,
                          segment_s: tuple[float, float] = (3.0, 12.0),
                          seed: int = 0,
                          pause_s: tuple[float, float] = (0.0, 0.0)) -> dict[str, np.ndarray]:
    """Write a dual-hand video to ``path`` and its labels to ``<path stem>.gt.csv``.

    Args:
        path: ``.mp4`` (H.264) or ``.avi`` output.
        duration_s, fps: length; the default is a 3-minute 25 fps video (4500 frames).
        size: ``(height, width)``; each hand owns one half of the width (the trimmed
            demo clips' 64x128 by default).
        num_classes: classes per hand (the trimmed demo's ``{'lh': 3, 'rh': 4}``).
        segment_s: shortest and longest segment in seconds, per hand independently.
        seed: random seed (schedules, textures, noise).
        pause_s: shortest and longest still stretch at the start of every segment but
            the first (at most half the segment); ``(0, 0)``: none.

    Returns:
        ``{'lh': labels, 'rh': labels}``, one label per frame.
    """
    num_classes = num_classes or {'lh': 3, 'rh': 4}
    height, width = size
    if width % 2:
        raise ValueError(f'width {width} must be even (two hand halves)')
    half = width // 2
    num_frames = int(round(duration_s * fps))
    lo, hi = (max(1, int(round(s * fps))) for s in segment_s)
    if lo > hi:
        raise ValueError(f'segment_s {segment_s}: shortest is longer than longest')
    pause_lo, pause_hi = (int(round(s * fps)) for s in pause_s)
    if not 0 <= pause_lo <= pause_hi:
        raise ValueError(f'pause_s {pause_s}: need 0 <= shortest <= longest')
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    labels = {}
    for k, hand in enumerate(HANDS):
        rng = np.random.default_rng([seed, k])
        labels[hand] = hand_schedule(num_frames, num_classes[hand], lo, hi, rng)
        x0 = 0 if hand == 'lh' else half
        for k_run, (label, first, last) in enumerate(_runs(labels[hand])):
            motion = motion_index(hand, label, num_classes)
            still = 0
            if k_run and pause_hi:
                still = min(int(rng.integers(pause_lo, pause_hi + 1)), (last - first + 1) // 2)
            if still:
                frames[first:first + still, :, x0:x0 + half] = render_sliding_texture(
                    [((0, 0, half, height), motion)], num_motions(num_classes), still,
                    height, half, rng, speed=0.0)
            frames[first + still:last + 1, :, x0:x0 + half] = render_sliding_texture(
                [((0, 0, half, height), motion)], num_motions(num_classes),
                last - first + 1 - still, height, half, rng)
    write_video(path, frames, fps=fps)
    write_gt_csv(os.path.splitext(path)[0] + '.gt.csv', labels)
    return labels


def write_gt_csv(path: str, labels: dict[str, np.ndarray]) -> str:
    """``frame,lh,rh`` (or ``frame,label``) per frame, written atomically."""
    tracks = list(labels)
    rows = ([i] + [int(v) for v in row] for i, row in enumerate(zip(*(labels[t] for t in tracks))))
    return write_csv(path, ['frame'] + tracks, rows)


def _runs(labels: np.ndarray):
    cuts = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(labels)]]) - 1
    return [(int(labels[s]), int(s), int(e)) for s, e in zip(starts, ends)]
