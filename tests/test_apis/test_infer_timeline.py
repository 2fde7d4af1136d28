"""Window placement, frame-score aggregation and segmentation measures, against hand values."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from infer_helpers import ONE_CFG
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from mmaction_ext.apis import WindowPipeline, frame_scores_from_windows, label_runs, moving_average
from mmaction_ext.apis.sequential_frames import SequentialFrames
from mmaction_ext.evaluation import TemporalSegmentationMetric
from mmaction_ext.evaluation.functional.segmentation import edit_score, segmentation_scores
from mmaction_ext.synthetic import write_video


def test_frame_scores_mean_of_covering_windows_and_nearest_for_gaps():
    # frames 0-9; windows [0,4) and [2,6) overlap on 2-3; frames 6-7 uncovered, 8-9 by [8,10)
    spans = np.array([[0, 4], [2, 6], [8, 10]])
    scores = np.array([[1.0, 0.0], [0.0, 1.0], [0.2, 0.8]])
    out = frame_scores_from_windows(spans, scores, 10)
    expected = [[1, 0], [1, 0], [.5, .5], [.5, .5], [0, 1], [0, 1],
                [0, 1],          # frame 6: 1 frame from [2,6), 2 from [8,10)
                [.2, .8],        # frame 7: 2 frames from [2,6), 1 from [8,10)
                [.2, .8], [.2, .8]]
    np.testing.assert_allclose(out, expected)


def test_moving_average_and_runs():
    x = np.array([[0.0], [3.0], [6.0], [9.0]])
    np.testing.assert_allclose(moving_average(x, 3)[:, 0], [1.5, 3.0, 6.0, 7.5])
    np.testing.assert_allclose(moving_average(x, 2)[:, 0], [1.5, 4.5, 7.5, 9.0])
    assert moving_average(x, 1) is x
    assert label_runs(np.array([2, 2, 0, 0, 0, 1])) == [(2, 0, 1), (0, 2, 4), (1, 5, 5)]


def _pipeline(config: str) -> WindowPipeline:
    init_default_scope('mmaction')
    return WindowPipeline(Config.fromfile(config).test_pipeline)


def test_window_plan_covers_video_and_loops_short_videos():
    wp = _pipeline(ONE_CFG)                      # clip_len 8, frame_interval 2: span 15
    assert (wp.clip_len, wp.frame_interval, wp.span) == (8, 2, 15)
    assert wp.starts(40, 7) == [0, 7, 14, 21, 25]  # last window ends at frame 39
    assert wp.starts(15, 7) == [0] and wp.starts(6, 7) == [0]
    np.testing.assert_array_equal(wp.indices(25, 40), np.arange(25, 40, 2))
    # shorter than a window: SampleFrames' 'loop' (test.py samples the same frames)
    np.testing.assert_array_equal(wp.indices(0, 6), np.arange(0, 16, 2) % 6)
    assert wp.test_clip_start(40) == 12


def test_multi_view_test_pipelines_are_refused():
    init_default_scope('mmaction')
    steps = Config.fromfile(ONE_CFG).test_pipeline
    multi = [dict(s, num_clips=3) if s['type'] == 'SampleFrames' else s for s in steps]
    with pytest.raises(ValueError, match='num_clips=1'):
        WindowPipeline(multi)
    three = [dict(type='ThreeCrop', crop_size=72) if s['type'] == 'CenterCrop' else s
             for s in steps]
    wp = WindowPipeline(three)
    with pytest.raises(ValueError, match='multi-crop'):
        wp.transform_frames(np.zeros((4, 72, 90, 3), np.uint8))


@pytest.mark.parametrize('num_frames', [19, 6])
def test_window_input_is_bit_identical_to_the_stock_test_pipeline(tmp_path, num_frames):
    """The packed window tensor equals Compose(test_pipeline)'s, for a long and a short video."""
    path = str(tmp_path / 'v.mp4')
    rng = np.random.default_rng(0)
    write_video(path, rng.integers(0, 256, (num_frames, 64, 80, 3), dtype=np.uint8))
    wp = _pipeline(ONE_CFG)                     # Resize(-1, 72) + CenterCrop(64)
    stock = Compose(Config.fromfile(ONE_CFG).test_pipeline)(
        dict(filename=path, label=-1, start_index=0, modality='RGB'))
    frames = np.concatenate([f for _, f in SequentialFrames(path, chunk=4)])
    imgs, shape = wp.transform_frames(frames)
    start = wp.test_clip_start(num_frames)
    inds = wp.indices(start, num_frames)
    ours = wp.pack([imgs[i] for i in inds], shape, inds)
    assert ours['inputs'].shape == stock['inputs'].shape == (1, 3, 8, 64, 64)
    assert torch.equal(ours['inputs'], stock['inputs'])


# Hand-computed reference (see the comments) for the segmentation measures.
GT = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2])    # segments 0[0,4) 1[4,8) 2[8,10)
PRED = np.array([0, 0, 0, 1, 1, 1, 0, 0, 2, 2])  # segments 0[0,3) 1[3,6) 0[6,8) 2[8,10)
# accuracy 7/10; edit: [0,1,0,2] vs [0,1,2] is one deletion -> 1 - 1/4
# IoUs of the predicted segments with their label's gt segment: 3/4, 2/5, 0, 1
# F1@10 = F1@25: tp 3 fp 1 fn 0 -> P 3/4 R 1 -> 6/7; F1@50: tp 2 fp 2 fn 1 -> 4/7
REFERENCE = {'acc': 70.0, 'edit': 75.0, 'F1@10': 600 / 7, 'F1@25': 600 / 7, 'F1@50': 400 / 7}


def test_segmentation_scores_match_hand_computed_reference():
    scores = segmentation_scores([PRED], [GT])
    assert scores.keys() == REFERENCE.keys()
    for key, value in REFERENCE.items():
        assert scores[key] == pytest.approx(value), key
    assert edit_score(GT, GT) == 100.0


def test_metric_pools_videos_per_hand():
    metric = TemporalSegmentationMetric(tracks=('lh', 'rh'))
    perfect = np.array([3, 3, 1])
    metric.process(None, [dict(lh_pred_labels=PRED, lh_gt_labels=GT,
                               rh_pred_labels=GT, rh_gt_labels=GT),
                          dict(lh_pred_labels=perfect, lh_gt_labels=perfect,
                               rh_pred_labels=perfect, rh_gt_labels=perfect)])
    out = metric.compute_metrics(metric.results)
    assert out['lh/acc'] == pytest.approx(1000 / 13)         # (7 + 3) / 13 frames
    assert out['lh/edit'] == pytest.approx(87.5)             # mean of 75 and 100
    # F1@50 from summed counts: tp 2+2, fp 2+0, fn 1+0 -> P 4/6, R 4/5
    assert out['lh/F1@50'] == pytest.approx(2 * (4 / 6) * 0.8 / (4 / 6 + 0.8) * 100)
    assert out['rh/acc'] == out['rh/edit'] == out['rh/F1@50'] == 100.0
    assert out['mean/acc'] == pytest.approx((1000 / 13 + 100) / 2)
    with pytest.raises(KeyError, match='rh_pred_labels'):
        metric.process(None, [dict(lh_pred_labels=PRED, lh_gt_labels=GT)])
