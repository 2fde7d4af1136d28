"""havid-long --pause-s: each new segment starts still (ambiguous windows at boundaries)."""
from __future__ import annotations

import numpy as np

from mmaction_ext.apis import SequentialFrames, label_runs
from mmaction_ext.synthetic import make_long_havid_video


def _motion(frames: np.ndarray, t: int) -> float:
    """Mean absolute change between frames t and t + 1 (noise alone gives about 8-10)."""
    return float(np.abs(frames[t + 1] - frames[t]).mean())


def test_segments_after_the_first_start_still_then_move(tmp_path):
    path = str(tmp_path / 'long.avi')
    labels = make_long_havid_video(path, duration_s=6, fps=25, segment_s=(1.0, 1.6),
                                   seed=5, pause_s=(0.4, 0.4))           # 10 still frames
    frames = np.concatenate([f for _, f in SequentialFrames(path)]).astype(np.float32)
    for k, hand in enumerate(('lh', 'rh')):
        half = frames[:, :, k * 64:(k + 1) * 64]
        runs = label_runs(labels[hand])
        assert len(runs) >= 4
        first_label, first_start, first_end = runs[0]
        assert _motion(half, first_start + 2) > 30                      # the first one moves
        for _, start, end in runs[1:-1]:
            still = [_motion(half, t) for t in range(start, start + 9)]
            moving = [_motion(half, t) for t in range(start + 10, end)]
            assert max(still) < 15 < 30 < min(moving), (hand, start, still, moving)


def test_no_pause_keeps_earlier_videos_unchanged(tmp_path):
    a = make_long_havid_video(str(tmp_path / 'a.avi'), duration_s=3, fps=25,
                              segment_s=(0.5, 1.0), seed=2)
    b = make_long_havid_video(str(tmp_path / 'b.avi'), duration_s=3, fps=25,
                              segment_s=(0.5, 1.0), seed=2, pause_s=(0, 0))
    assert all(np.array_equal(a[h], b[h]) for h in a)
    assert (tmp_path / 'a.avi').read_bytes() == (tmp_path / 'b.avi').read_bytes()
