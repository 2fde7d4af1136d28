"""Segmentation measures against MS-TCN's ``eval.py``, restated here independently.

``ref_*`` below restate yabufarha/ms-tcn ``eval.py`` (Python 2 there; ``np.float`` and
``print`` statements modernised, nothing else changed in meaning) so the project's
vectorised code is checked against the published definitions on random label
sequences, background classes included.
"""
from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

from mmaction_ext.evaluation import TemporalSegmentationMetric
from mmaction_ext.evaluation.functional.segmentation import edit_score, segmentation_scores


def ref_segments(frame_wise_labels, bg_class):
    labels, starts, ends = [], [], []
    last_label = frame_wise_labels[0]
    if frame_wise_labels[0] not in bg_class:
        labels.append(frame_wise_labels[0])
        starts.append(0)
    for i in range(len(frame_wise_labels)):
        if frame_wise_labels[i] != last_label:
            if frame_wise_labels[i] not in bg_class:
                labels.append(frame_wise_labels[i])
                starts.append(i)
            if last_label not in bg_class:
                ends.append(i)
            last_label = frame_wise_labels[i]
    if last_label not in bg_class:
        ends.append(i + 1)
    return labels, starts, ends


def ref_levenstein(p, y):
    m_row, n_col = len(p), len(y)
    D = np.zeros([m_row + 1, n_col + 1], float)
    for i in range(m_row + 1):
        D[i, 0] = i
    for i in range(n_col + 1):
        D[0, i] = i
    for j in range(1, n_col + 1):
        for i in range(1, m_row + 1):
            if y[j - 1] == p[i - 1]:
                D[i, j] = D[i - 1, j - 1]
            else:
                D[i, j] = min(D[i - 1, j] + 1, D[i, j - 1] + 1, D[i - 1, j - 1] + 1)
    return (1 - D[-1, -1] / max(m_row, n_col)) * 100


def ref_f_score(recognized, ground_truth, overlap, bg_class):
    p_label, p_start, p_end = ref_segments(recognized, bg_class)
    y_label, y_start, y_end = ref_segments(ground_truth, bg_class)
    tp = fp = 0
    hits = np.zeros(len(y_label))
    for j in range(len(p_label)):
        intersection = np.minimum(p_end[j], y_end) - np.maximum(p_start[j], y_start)
        union = np.maximum(p_end[j], y_end) - np.minimum(p_start[j], y_start)
        IoU = (1.0 * intersection / union) * ([p_label[j] == y_label[x]
                                               for x in range(len(y_label))])
        idx = np.array(IoU).argmax()
        if IoU[idx] >= overlap and not hits[idx]:
            tp += 1
            hits[idx] = 1
        else:
            fp += 1
    return float(tp), float(fp), float(len(y_label) - sum(hits))


def ref_scores(preds, gts, bg_class):
    """MS-TCN ``eval.py``'s main loop over several videos."""
    overlap = [.1, .25, .5]
    tp, fp, fn = np.zeros(3), np.zeros(3), np.zeros(3)
    correct = total = 0
    edit = 0.0
    for recog, gt in zip(preds, gts):
        recog, gt = list(recog), list(gt)
        for i in range(len(gt)):
            total += 1
            correct += gt[i] == recog[i]
        edit += ref_levenstein(ref_segments(recog, bg_class)[0], ref_segments(gt, bg_class)[0])
        for s in range(3):
            a, b, c = ref_f_score(recog, gt, overlap[s], bg_class)
            tp[s] += a
            fp[s] += b
            fn[s] += c
    out = {'acc': 100 * correct / total, 'edit': edit / len(gts)}
    for s, name in enumerate(['F1@10', 'F1@25', 'F1@50']):
        with np.errstate(invalid='ignore', divide='ignore'):
            precision = tp[s] / (tp[s] + fp[s])
            recall = tp[s] / (tp[s] + fn[s])
            out[name] = float(np.nan_to_num(2.0 * precision * recall / (precision + recall))
                              * 100)
    return out


def _random_video(rng, num_classes=4, length=None):
    length = length or int(rng.integers(5, 120))
    gt = np.repeat(rng.integers(0, num_classes, 12), rng.integers(1, 15, 12))[:length]
    pred = gt.copy()
    flips = rng.random(len(gt)) < rng.uniform(0, 0.3)
    pred[flips] = rng.integers(0, num_classes, flips.sum())
    return pred, gt


@pytest.mark.parametrize('bg_class', [(), (0,), (0, 3)])
def test_scores_match_ms_tcn_reference_on_random_videos(bg_class):
    rng = np.random.default_rng(len(bg_class))
    for trial in range(40):
        videos = [_random_video(rng) for _ in range(int(rng.integers(1, 5)))]
        # the reference raises (argmax of nothing) or gives NaN when the truth has no
        # foreground segment: compared where it is defined
        videos = [(p, g) for p, g in videos if set(g.tolist()) - set(bg_class)]
        if not videos:
            continue
        preds, gts = zip(*videos)
        ours = segmentation_scores(preds, gts, bg_class=set(bg_class))
        ref = ref_scores(preds, gts, set(bg_class))
        assert ours == pytest.approx(ref, abs=1e-9), (trial, bg_class)


def test_background_segments_are_left_out_of_edit_and_f1_not_accuracy():
    gt = np.array([9, 9, 1, 1, 1, 9, 2, 2])
    pred = np.array([1, 1, 1, 1, 1, 2, 2, 2])   # a background gap missed
    without = segmentation_scores([pred], [gt])
    with_bg = segmentation_scores([pred], [gt], bg_class={9})
    assert with_bg['acc'] == without['acc'] == 62.5  # 5 of 8 frames
    # bg left out: gt segments 1[2,5) 2[6,8); pred 1[0,5) IoU 3/5, 2[5,8) IoU 2/3
    assert with_bg['edit'] == 100.0 and with_bg['F1@50'] == 100.0
    assert without['edit'] == pytest.approx(100 * (1 - 2 / 4))


def test_empty_and_background_only_videos_are_errors_naming_the_video():
    empty = np.zeros(0, dtype=np.int64)
    with pytest.raises(IndexError):          # what the reference does with no frames
        ref_segments([], ())
    with pytest.raises(ValueError, match='clip7: 0 predicted and 0 true frames'):
        segmentation_scores([empty], [empty], names=['clip7'])
    with pytest.raises(ValueError, match='clip8: prediction and truth are background only'):
        edit_score(np.array([0, 0]), np.array([0, 0]), bg_class={0}, name='clip8')
    with np.errstate(invalid='ignore'):      # the reference: 0/0
        assert np.isnan(ref_levenstein([], []))


def test_metric_resolves_background_names_per_track():
    metric = TemporalSegmentationMetric(tracks=('lh', 'rh'), bg_class={'lh': ['idle']})
    metric.dataset_meta = dict(classes=dict(lh=['idle', 'grasp'], rh=['idle', 'screw']))
    assert metric.background('lh') == {0} and metric.background('rh') == set()
    gt = np.array([0, 1, 1, 0])
    pred = np.array([1, 1, 1, 0])
    metric.process(None, [dict(video='v', lh_pred_labels=pred, lh_gt_labels=gt,
                               rh_pred_labels=pred, rh_gt_labels=gt)])
    out = metric.compute_metrics(metric.results)
    assert out['lh/edit'] == 100.0 and out['rh/edit'] == pytest.approx(100 * (1 - 1 / 3))
    bad = TemporalSegmentationMetric(tracks=('lh',), bg_class=['nothing'])
    bad.dataset_meta = dict(classes=dict(lh=['idle']))
    with pytest.raises(KeyError, match="'nothing' is not a class name of track 'lh'"):
        bad.background('lh')


def _write_csv(path, header, rows):
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def _eval(*args):
    return subprocess.run([sys.executable, 'tools/eval_segmentation.py', *map(str, args)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.mark.slow  # two tool processes: about 18 s on a loaded machine
def test_cli_background_option_and_empty_video(tmp_path):
    gt = [9, 9, 1, 1, 1, 9, 2, 2]
    pred = [1, 1, 1, 1, 1, 2, 2, 2]
    frames = _write_csv(tmp_path / 'frames.csv', ['frame', 'time_s', 'label', 'score'],
                        [[i, i / 25, p, 1.0] for i, p in enumerate(pred)])
    truth = _write_csv(tmp_path / 'gt.csv', ['frame', 'label'], list(enumerate(gt)))
    res = _eval(frames, truth, '--bg-class', 9, '--out', tmp_path / 'm.json')
    assert res.returncode == 0, res.stderr
    line = [ln for ln in res.stdout.splitlines() if ln.startswith('label')][0]
    assert line.split()[1:] == ['62.50', '100.00', '100.00', '100.00', '100.00']
    empty_frames = _write_csv(tmp_path / 'e.csv', ['frame', 'time_s', 'label', 'score'], [])
    empty_truth = _write_csv(tmp_path / 'e.gt.csv', ['frame', 'label'], [])
    res = _eval(empty_frames, empty_truth)
    assert res.returncode != 0
    assert '0 predicted and 0 true frames' in res.stderr and 'e.csv' in res.stderr
    assert 'Traceback' not in res.stderr
