"""Synthetic HA-ViD-style dual-hand data in both on-disk layouts.

A frame holds two regions, the left half for the left hand and the right half for the
right hand; each region's square moves as its own label says. A left-hand clip list
labels the left half's motion (the right half moves at random), and vice versa, so a
head only scores well if it reads its own hand's half. Left and right lists are
different clips with different counts, as in the real data.
"""
from __future__ import annotations

import os

import numpy as np

from .motion import render_clip
from .video_io import write_video

HANDS = ('lh', 'rh')


def _hand_regions(height: int, width: int) -> dict[str, tuple[int, int, int, int]]:
    half = width // 2
    return {'lh': (0, 0, half, height), 'rh': (half, 0, width, height)}


def _write_hand_split(video_dir: str, prefix: str, hand: str, num_classes: dict[str, int],
                      per_class: int, num_frames: int, size: tuple[int, int], ext: str,
                      rng: np.random.Generator) -> list[str]:
    """Render ``per_class`` clips per label of ``hand``; return the list lines."""
    height, width = size
    regions = _hand_regions(height, width)
    other = 'rh' if hand == 'lh' else 'lh'
    lines = []
    for label in range(num_classes[hand]):
        for i in range(per_class):
            rel = f'{prefix}{hand}_c{label:02d}_{i:03d}{ext}'
            distractor = int(rng.integers(num_classes[other]))
            clip = render_clip([(regions[hand], label), (regions[other], distractor)],
                               max(num_classes.values()), num_frames, height, width, rng)
            write_video(os.path.join(video_dir, rel), clip)
            lines.append(f'{rel} {label}')
    order = rng.permutation(len(lines))  # real lists are not sorted by class
    return [lines[i] for i in order]


def _write_list(path: str, lines: list[str]) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def make_havid_dataset(root: str, layout: str = 'dual_hand',
                       num_classes: dict[str, int] | None = None,
                       per_class: dict[str, dict[str, int]] | None = None,
                       num_frames: int = 8, size: tuple[int, int] = (64, 128),
                       ext: str = '.mp4', view: int = 0, level: str = 'pt',
                       seed: int = 0) -> dict[str, dict[str, str]]:
    """Write a synthetic dual-hand dataset under ``root``.

    Args:
        root: output folder.
        layout: ``'dual_hand'`` writes ``lh_v{view}/`` and ``rh_v{view}/`` each with
            ``train_list_video.txt``, ``val_list_video.txt`` and ``videos/`` (the
            alternating trainer's layout); ``'authors'`` writes
            ``view{view}_{hand}_{level}/`` with
            ``view{view}_{hand}_{level}_{split}_list_videos.txt``
            and ``videos_{split}/`` (the dataset authors' MMAction2 layout).
        num_classes: classes per hand, e.g. ``{'lh': 3, 'rh': 4}``; motions are drawn from
            the larger count's set (4: right, down, left, up).
        per_class: clips per class, ``{split: {hand: count}}``; defaults give the two
            hands different list lengths.
        num_frames, size: clip length and ``(height, width)``; the width is split in two
            (the default 64x128 gives each hand a 64x64 region; 8 frames keep every
            square inside its region, so no bounce reverses a motion).
        ext: ``.mp4`` (H.264, like HA-ViD) or ``.avi``.

    Returns:
        ``{hand: {split: list_file}}``.
    """
    if layout not in ('dual_hand', 'authors'):
        raise ValueError(f"layout must be 'dual_hand' or 'authors', got {layout!r}")
    num_classes = num_classes or {'lh': 3, 'rh': 4}
    per_class = per_class or {'train': {'lh': 18, 'rh': 12}, 'val': {'lh': 6, 'rh': 5}}
    if size[1] % 2:
        raise ValueError(f'width {size[1]} must be even (two hand halves, H.264)')
    lists: dict[str, dict[str, str]] = {hand: {} for hand in HANDS}
    for hand_index, hand in enumerate(HANDS):
        for split_index, (split, counts) in enumerate(per_class.items()):
            rng = np.random.default_rng([seed, hand_index, split_index])
            if layout == 'dual_hand':
                hand_root = os.path.join(root, f'{hand}_v{view}')
                video_dir, prefix = os.path.join(hand_root, 'videos'), f'{split}/'
                list_path = os.path.join(hand_root, f'{split}_list_video.txt')
            else:
                name = f'view{view}_{hand}_{level}'
                hand_root = os.path.join(root, name)
                video_dir, prefix = os.path.join(hand_root, f'videos_{split}'), ''
                list_path = os.path.join(hand_root, f'{name}_{split}_list_videos.txt')
            lines = _write_hand_split(video_dir, prefix, hand, num_classes, counts[hand],
                                      num_frames, size, ext, rng)
            lists[hand][split] = _write_list(list_path, lines)
    return lists
