"""Synthetic HA-ViD-style dual-hand data in both on-disk layouts.

A frame holds two regions, the left half for the left hand and the right half for the
right hand. Each half shows sparse bright blocks on a dark ground that slide as its own hand's label
says (direction from :func:`~mmaction_ext.synthetic.motion.motion_for_label`), so every
token of a half carries that hand's motion; frames get fresh pixel noise. A left-hand
clip labels the left half's motion while the right half moves as a random right-hand
label, and vice versa. The two hands use disjoint sets of motions (as HA-ViD's hands
mostly do different primitives). Left and right lists are different clips with
different counts, as in the real data.
"""
from __future__ import annotations

import json
import math
import os

import numpy as np

from mmaction_ext.fileio import write_json, write_lines

from .motion import motion_for_label
from .video_io import write_video

HANDS = ('lh', 'rh')
# Bumped whenever the same arguments would render different clips: data written by an
# older generator is then regenerated (``make_synthetic_data.py havid --reuse``).
# 2: random start offset per clip (no class cue in the block grid's position).
GENERATOR_VERSION = 2
STAMP_FILE = 'synthetic_havid.json'


def _hand_regions(height: int, width: int) -> dict[str, tuple[int, int, int, int]]:
    half = width // 2
    return {'lh': (0, 0, half, height), 'rh': (half, 0, width, height)}


def render_sliding_texture(labels: list[tuple[tuple[int, int, int, int], int]],
                           num_motions: int, num_frames: int, height: int, width: int,
                           rng: np.random.Generator, block: int = 8, speed: float = 4.5,
                           density: float = 0.25, noise: int = 12) -> np.ndarray:
    """Render ``(T, H, W, 3)`` uint8 frames; each ``(region, motion)`` slides its texture.

    The texture moves ``speed`` pixels per frame in ``motion_for_label``'s direction.
    Each region starts at a random offset within one block, sub-pixel part included: a
    fixed start would tie the block grid's position and the rounding pattern of the
    sub-pixel steps to the class, a cue that trimmed clips share and that 8 frames cut
    from the middle of a long slide (``havid-long``) do not.
    """
    frames = np.zeros((num_frames, height, width, 3), dtype=np.int16)
    for (x0, y0, x1, y1), motion in labels:
        w, h = x1 - x0, y1 - y0
        dx, dy = motion_for_label(motion, num_motions)
        norm = math.hypot(dx, dy) or 1.0
        vx, vy = speed * dx / norm, speed * dy / norm
        pad_x, pad_y = int(abs(vx) * num_frames) + 1, int(abs(vy) * num_frames) + 1
        # sparse bright blocks on a dark ground: every edge has the same contrast sign,
        # so a single tubelet's linear embedding already sees which way it moves
        cells = ((h + pad_y) // block + 3, (w + pad_x) // block + 3, 1)
        grid = (rng.random(cells) < density) * rng.uniform(150, 255, size=3) + \
            rng.uniform(0, 60, size=3)
        canvas = np.kron(grid, np.ones((block, block, 1)))
        # a window at offset o0 - v*t over the canvas shows the texture moving by +v
        sx, sy = (pad_x if vx >= 0 else 0), (pad_y if vy >= 0 else 0)
        sx, sy = sx + rng.uniform(0, block), sy + rng.uniform(0, block)
        for t in range(num_frames):
            ox, oy = int(round(sx - vx * t)), int(round(sy - vy * t))
            frames[t, y0:y1, x0:x1] = canvas[oy:oy + h, ox:ox + w]
    frames += rng.integers(-noise, noise + 1, size=(num_frames, height, width, 1))
    return np.clip(frames, 0, 255).astype(np.uint8)


def motion_index(hand: str, label: int, num_classes: dict[str, int]) -> int:
    """The motion class of ``hand``'s ``label`` among :func:`num_motions` classes.

    The hands' motions interleave (left even, right odd), so with up to 4 classes per
    hand each hand's directions are 90 degrees apart and the two sets are disjoint.
    """
    return 2 * label + (0 if hand == 'lh' else 1)


def num_motions(num_classes: dict[str, int]) -> int:
    """How many motion classes the two hands' labels use together."""
    return 2 * max(num_classes.values())


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
            motions = [(regions[hand], motion_index(hand, label, num_classes)),
                       (regions[other], motion_index(other, distractor, num_classes))]
            clip = render_sliding_texture(motions, num_motions(num_classes), num_frames,
                                          height, width, rng)
            write_video(os.path.join(video_dir, rel), clip)
            lines.append(f'{rel} {label}')
    order = rng.permutation(len(lines))  # real lists are not sorted by class
    return [lines[i] for i in order]


def _write_list(path: str, lines: list[str]) -> str:
    return write_lines(path, lines)


def make_havid_dataset(root: str, layout: str = 'dual_hand',
                       num_classes: dict[str, int] | None = None,
                       per_class: dict[str, dict[str, int]] | None = None,
                       num_frames: int = 24, size: tuple[int, int] = (64, 128),
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
        num_classes: classes per hand, e.g. ``{'lh': 3, 'rh': 4}``; the hands' classes
            together pick distinct compass directions (see :func:`motion_index`).
        per_class: clips per class, ``{split: {hand: count}}``; defaults give the two
            hands different list lengths.
        num_frames, size: clip length and ``(height, width)``; the width is split in two
            (the default 64x128 gives each hand a 64x64 region). Clips longer than the
            model's window (24 frames for the demo's 8) let ``SampleFrames`` draw a
            different stretch of the slide each epoch.
        ext: ``.mp4`` (H.264, like HA-ViD) or ``.avi``.

    Returns:
        ``{hand: {split: list_file}}``. The arguments and :data:`GENERATOR_VERSION` are
        recorded in ``root/synthetic_havid.json`` (see :func:`is_current`).
    """
    if layout not in ('dual_hand', 'authors'):
        raise ValueError(f"layout must be 'dual_hand' or 'authors', got {layout!r}")
    num_classes = num_classes or {'lh': 3, 'rh': 4}
    per_class = per_class or {'train': {'lh': 80, 'rh': 64}, 'val': {'lh': 40, 'rh': 30}}
    if size[1] % 2:
        raise ValueError(f'width {size[1]} must be even (two hand halves, H.264)')
    stamp_path = os.path.join(root, STAMP_FILE)
    if os.path.exists(stamp_path):  # a run cut short must not look complete
        os.remove(stamp_path)
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
    stamp = dict(version=GENERATOR_VERSION, lists=lists, **_recipe(
        layout, num_classes, per_class, num_frames, size, ext, view, level, seed))
    write_json(stamp_path, stamp)
    return lists


def _recipe(layout, num_classes, per_class, num_frames, size, ext, view, level, seed):
    return dict(layout=layout, num_classes=num_classes, per_class=per_class,
                num_frames=num_frames, size=list(size), ext=ext, view=view, level=level,
                seed=seed)


def is_current(root: str, **kwargs) -> dict[str, dict[str, str]] | None:
    """The lists of a dataset this generator version wrote under ``root`` with these
    arguments (as :func:`make_havid_dataset`'s, defaults filled in), else ``None``."""
    try:
        with open(os.path.join(root, STAMP_FILE)) as f:
            stamp = json.load(f)
    except (OSError, ValueError):
        return None
    wanted = _recipe(**kwargs)
    lists = stamp.get('lists') or {}
    if stamp.get('version') != GENERATOR_VERSION or any(
            stamp.get(k) != json.loads(json.dumps(v)) for k, v in wanted.items()):
        return None
    paths = [p for splits in lists.values() for p in splits.values()]
    return lists if paths and all(os.path.isfile(p) for p in paths) else None
