"""The synthetic KTH tree: exact names, placeholders, truncation, motion decided by action."""
from __future__ import annotations

import math
import os

import decord
import numpy as np

from mmaction_ext.datasets.kth.kth_meta import KTH_CLASSES, KTHVideo, parse_kth_name
from mmaction_ext.datasets.kth.kth_sequences import load_sequences_file
from mmaction_ext.synthetic.kth import PLACEHOLDER, make_kth_tree, render_kth_clip


def test_full_tree_names_and_placeholders(tmp_path):
    keep = {'person11_walking_d1', 'person01_boxing_d4'}
    paths = make_kth_tree(str(tmp_path), decodable=keep, num_frames=20)
    assert len(paths) == 599 and 'person13_handclapping_d3' not in paths
    files = [os.path.join(a, f) for a in os.listdir(tmp_path) if a in KTH_CLASSES
             for f in os.listdir(tmp_path / a)]
    assert len(files) == 599
    for rel in files:
        video = parse_kth_name(rel)
        assert rel == video.relpath
    with open(paths['person02_running_d3'], 'rb') as f:
        assert f.read() == PLACEHOLDER
    assert len(decord.VideoReader(paths['person11_walking_d1'])) == 20
    truncated = len(decord.VideoReader(paths['person01_boxing_d4']))
    assert 0 < truncated < 20
    table = load_sequences_file(str(tmp_path / '00sequences.txt'))
    assert len(table) == 600 and table['person13_handclapping_d3'] is None
    assert all(1 <= s <= e <= 20 for r in table.values() if r for s, e in r)


def _shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Translation from frame a to b by phase correlation (independent of the renderer)."""
    fa, fb = np.fft.fft2(a), np.fft.fft2(b)
    corr = np.fft.ifft2(fb * np.conj(fa) / (np.abs(fb * np.conj(fa)) + 1e-9)).real
    dy, dx = np.unravel_index(np.argmax(corr), corr.shape)
    h, w = a.shape
    return (dx - w if dx > w // 2 else dx), (dy - h if dy > h // 2 else dy)


def test_action_decides_motion_direction():
    for label, action in enumerate(KTH_CLASSES):
        for person in (3, 17):
            clip = render_kth_clip(KTHVideo(person, action, 'd4'), 6, (120, 160))
            # The square is far brighter than the background: keep only it.
            masks = [(f.max(axis=2) > 110).astype(float) for f in clip]
            dx, dy = np.mean([_shift(masks[t], masks[t + 3]) for t in range(3)], axis=0)
            angle = math.degrees(math.atan2(dy, dx)) % 360
            expected = 360 * label / len(KTH_CLASSES)
            assert min(abs(angle - expected), 360 - abs(angle - expected)) < 15, (action, angle)
