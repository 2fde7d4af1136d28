"""A synthetic tree with KTH's exact layout and names, whose action decides the motion.

Real KTH cannot be downloaded here, so the dataset, preparation tool, configs and error
analysis are exercised on this tree: ``<root>/<action>/personNN_<action>_dK_uncomp.avi``
for every slot except the missing ``person13_handclapping_d3``, optionally a truncated
file and a ``00sequences.txt`` in KTH's own format. Counting and splitting need no
decoding, so slots outside ``decodable`` can be tiny placeholder files (fast tests).

    python -m mmaction_ext.synthetic.kth data/kth_synthetic [--persons 1-25] [--frames 36]
"""
from __future__ import annotations

import argparse
import os.path as osp
from typing import Collection, Sequence

import numpy as np

from mmaction_ext.fileio import atomic_write_bytes, write_lines

from ..datasets.kth.kth_meta import (
    KTH_CLASSES,
    KTH_MISSING,
    KTH_PERSONS,
    KTH_SCENARIOS,
    KTHVideo,
    expected_videos,
    parse_persons,
)
from .video_io import write_video

PLACEHOLDER = b'placeholder: not a video (synthetic KTH tree)\n'


def render_kth_clip(video: KTHVideo, num_frames: int, size: tuple[int, int],
                    seed: int = 0) -> np.ndarray:
    """Frames ``(T, H, W, 3)`` uint8 for one slot: the action picks the motion direction.

    A textured square crosses a noisy background in one of six directions (60 degrees
    apart, one per action) and wraps round the frame edges instead of bouncing, so every
    window of the clip shows the same motion. Persons and scenarios seed colours, start
    and speed (d4 "indoors" has a calmer background), so held-out persons look new but
    move alike.
    """
    height, width = size
    noise = {'d1': 20, 'd2': 30, 'd3': 20, 'd4': 10}[video.scenario]
    rng = np.random.default_rng(
        [seed, video.person, video.label, KTH_SCENARIOS.index(video.scenario)])
    base = rng.integers(0, 80, size=3)
    frames = base + rng.integers(0, noise + 1, size=(num_frames, height, width, 1))
    frames = frames.astype(np.uint8)
    side = max(4, int(0.3 * min(height, width)))
    colour = rng.integers(120, 256, size=3)
    patch = np.clip(colour - rng.integers(0, 60, size=(side, side, 1)), 0, 255)
    angle = 2 * np.pi * video.label / len(KTH_CLASSES)
    speed = 0.05 * width * rng.uniform(0.8, 1.2)  # pixels per frame
    x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
    offsets = np.arange(side)
    for t in range(num_frames):
        x = int(x0 + speed * np.cos(angle) * t)
        y = int(y0 + speed * np.sin(angle) * t)
        frames[t][np.ix_((y + offsets) % height, (x + offsets) % width)] = patch
    return frames


def synthetic_ranges(num_frames: int, video: KTHVideo) -> list[tuple[int, int]]:
    """Sub-sequence ranges in the spirit of 00sequences.txt: 4 parts (3 for a few slots),
    with a gap before the last part."""
    parts = 3 if (video.person + video.label) % 7 == 0 else 4
    bounds = np.linspace(0, num_frames, parts + 1).astype(int)
    ranges = [(int(bounds[i]) + 1, int(bounds[i + 1])) for i in range(parts)]
    last_start, last_end = ranges[-1]
    if last_end - last_start >= 4:  # a gap, as when the person leaves the frame
        ranges[-1] = (last_start + 2, last_end)
    return ranges


def write_sequences_file(path: str, table: dict[str, list[tuple[int, int]] | None]) -> str:
    """Write ``table`` (video id -> ranges, ``None`` = missing) in KTH's format (CRLF,
    a prose header, tabs after the name, ``*missing*``)."""
    lines = ['', 'Synthetic sub-sequence file in the format of KTH 00sequences.txt.', '']
    for video_id, ranges in table.items():
        pad = '\t' if len(video_id) >= 24 else '\t\t'
        if ranges is None:
            lines.append(f'{video_id}\t*missing*')
        else:
            text = ', '.join(f'{s}-{e}' for s, e in ranges)
            lines.append(f'{video_id}{pad}frames\t{text}')
    return write_lines(path, lines, newline='\r\n')


def truncate_file(path: str, keep_fraction: float) -> None:
    """Cut a file to its first ``keep_fraction`` of bytes: the video's index and last
    frames are lost, as in KTH's truncated ``person01_boxing_d4``."""
    with open(path, 'rb') as f:
        data = f.read()
    atomic_write_bytes(data[:max(1, int(len(data) * keep_fraction))], path)


def make_kth_tree(root: str,
                  persons: Sequence[int] = KTH_PERSONS,
                  scenarios: Sequence[str] = KTH_SCENARIOS,
                  actions: Sequence[str] = KTH_CLASSES,
                  num_frames: int = 36,
                  size: tuple[int, int] = (120, 160),
                  decodable: Collection[str] | None = None,
                  truncated: Collection[str] = ('person01_boxing_d4',),
                  keep_fraction: float = 0.6,
                  sequences_file: str | None = '00sequences.txt',
                  seed: int = 0,
                  progress: bool = False) -> dict[str, str]:
    """Write a KTH-named tree under ``root`` and return ``{video_id: path}``.

    Args:
        persons, scenarios, actions: which slots to write (the missing KTH slot never is).
        num_frames, size: clip length and ``(height, width)`` of decodable videos.
        decodable: video ids written as real videos; ``None`` means all, others get a
            tiny placeholder (enough for counting and splitting).
        truncated: decodable video ids cut to ``keep_fraction`` of their bytes.
        sequences_file: name (under ``root``) of a synthetic ``00sequences.txt`` to
            write covering the written slots (and the ``*missing*`` line), or ``None``.
    """
    videos = expected_videos(persons, actions, scenarios)
    iterator = videos
    if progress:
        from tqdm import tqdm
        iterator = tqdm(videos, desc='synthetic KTH', unit='video')
    paths = {}
    for video in iterator:
        path = osp.join(root, video.relpath)
        if decodable is None or video.video_id in decodable:
            write_video(path, render_kth_clip(video, num_frames, size, seed))
            if video.video_id in truncated:
                truncate_file(path, keep_fraction)
        else:
            atomic_write_bytes(PLACEHOLDER, path)
        paths[video.video_id] = path
    if sequences_file:
        table: dict[str, list[tuple[int, int]] | None] = {}
        for video in expected_videos(persons, actions, scenarios, include_missing=True):
            missing = video.video_id in KTH_MISSING
            table[video.video_id] = None if missing else synthetic_ranges(num_frames, video)
        write_sequences_file(osp.join(root, sequences_file), table)
    return paths


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description='Write a synthetic KTH-named video tree.')
    parser.add_argument('root')
    parser.add_argument('--persons', default='1-25', help='e.g. "1-25" or "11-18,22"')
    parser.add_argument('--scenarios', nargs='+', default=list(KTH_SCENARIOS))
    parser.add_argument('--frames', type=int, default=36)
    parser.add_argument('--height', type=int, default=120)
    parser.add_argument('--width', type=int, default=160)
    parser.add_argument('--no-truncated', action='store_true',
                        help='do not cut person01_boxing_d4 short')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    paths = make_kth_tree(args.root, parse_persons(args.persons), args.scenarios,
                          num_frames=args.frames, size=(args.height, args.width),
                          truncated=() if args.no_truncated else ('person01_boxing_d4',),
                          seed=args.seed, progress=True)
    print(f'wrote {len(paths)} videos and 00sequences.txt under {args.root}')


if __name__ == '__main__':
    main()
