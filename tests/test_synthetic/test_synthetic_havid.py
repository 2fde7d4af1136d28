"""The synthetic HA-ViD textures move as the label says and carry no start-position cue."""
from __future__ import annotations

import numpy as np

from mmaction_ext.synthetic.havid import render_sliding_texture
from mmaction_ext.synthetic.motion import motion_for_label

REGION = (0, 0, 64, 64)


def _shift(a: np.ndarray, b: np.ndarray, reach: int = 8) -> tuple[int, int]:
    """The integer (dx, dy) that best maps frame ``a`` onto frame ``b``."""
    a, b = a.mean(-1), b.mean(-1)
    best, arg = np.inf, (0, 0)
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            crop_b = b[max(dy, 0):64 + min(dy, 0), max(dx, 0):64 + min(dx, 0)]
            crop_a = a[max(-dy, 0):64 + min(-dy, 0), max(-dx, 0):64 + min(-dx, 0)]
            err = np.abs(crop_b - crop_a).mean()
            if err < best:
                best, arg = err, (dx, dy)
    return arg


def _grid_phase(frame: np.ndarray, block: int = 8) -> int:
    """Where the vertical block edges lie, modulo the block size."""
    edges = np.abs(np.diff(frame.mean(-1), axis=1)).sum(0)  # edge strength per column
    strength = [edges[p::block].sum() for p in range(block)]
    return int(np.argmax(strength))


def test_texture_moves_at_the_labels_velocity():
    rng = np.random.default_rng(0)
    for motion in range(8):
        frames = render_sliding_texture([(REGION, motion)], 8, 8, 64, 64, rng, noise=0)
        dx, dy = motion_for_label(motion, 8)
        norm = np.hypot(dx, dy)
        steps = np.array([_shift(frames[t], frames[t + 1]) for t in range(7)])
        # 4.5 pixels per frame on average, rounded per frame to whole pixels
        np.testing.assert_allclose(steps.mean(0), 4.5 * np.array([dx, dy]) / norm, atol=0.6)


def test_start_offset_is_random_not_tied_to_the_class():
    """Same motion, different clips: the block grid starts at many different phases (a
    fixed start made it a class cue that long-video windows lack)."""
    rng = np.random.default_rng(1)
    phases = {_grid_phase(render_sliding_texture([(REGION, 0)], 8, 2, 64, 64, rng,
                                                 noise=0)[0]) for _ in range(24)}
    assert len(phases) >= 5, phases


def test_stamp_tells_current_data_from_stale(tmp_path, monkeypatch):
    """run_demo.sh reuses data only if this generator version wrote it with these options."""
    import os

    from mmaction_ext.synthetic import havid
    recipe = dict(layout='dual_hand', num_classes={'lh': 2, 'rh': 2},
                  per_class={'train': {'lh': 1, 'rh': 1}}, num_frames=4, size=(32, 64),
                  ext='.mp4', view=0, level='pt', seed=0)
    assert havid.is_current(str(tmp_path), **recipe) is None  # nothing written yet
    lists = havid.make_havid_dataset(str(tmp_path), **recipe)
    assert havid.is_current(str(tmp_path), **recipe) == lists
    assert havid.is_current(str(tmp_path), **dict(recipe, seed=1)) is None
    assert havid.is_current(str(tmp_path), **dict(recipe, num_frames=8)) is None
    monkeypatch.setattr(havid, 'GENERATOR_VERSION', havid.GENERATOR_VERSION + 1)
    assert havid.is_current(str(tmp_path), **recipe) is None  # older generator's data
    monkeypatch.undo()
    os.remove(lists['rh']['train'])
    assert havid.is_current(str(tmp_path), **recipe) is None  # incomplete
