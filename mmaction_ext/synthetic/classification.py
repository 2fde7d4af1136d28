"""A plain single-label dataset in MMAction2's ``VideoDataset`` list format."""
from __future__ import annotations

import os

import numpy as np

from mmaction_ext.fileio import write_lines

from .motion import render_clip
from .video_io import write_video


def make_classification_dataset(root: str, num_classes: int = 4,
                                videos_per_class: dict[str, int] | None = None,
                                num_frames: int = 16, size: tuple[int, int] = (48, 48),
                                ext: str = '.avi', seed: int = 0) -> dict[str, str]:
    """Write ``<root>/videos/<split>/*.ext`` and ``<root>/<split>_list.txt`` per split.

    Each list line is ``<path relative to root/videos> <label>``. Splits get different
    random appearances (seeded per split), so the held-out split tests generalisation.

    Returns:
        ``{split: list_file_path}``.
    """
    videos_per_class = videos_per_class or {'train': 12, 'val': 4}
    height, width = size
    lists = {}
    for split_index, (split, count) in enumerate(videos_per_class.items()):
        rng = np.random.default_rng([seed, split_index])
        lines = []
        for label in range(num_classes):
            for i in range(count):
                rel = f'{split}/class{label}_{i:03d}{ext}'
                clip = render_clip([((0, 0, width, height), label)], num_classes,
                                   num_frames, height, width, rng)
                write_video(os.path.join(root, 'videos', rel), clip)
                lines.append(f'{rel} {label}')
        lists[split] = os.path.join(root, f'{split}_list.txt')
        write_lines(lists[split], lines)
    return lists
