"""Error analysis from dumped predictions: tables, confusion matrix, misclassified top-k."""
from __future__ import annotations

import importlib.util
import os
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from mmaction_ext.evaluation.error_analysis import analyze, predictions_frame

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
NAMES = ['boxing', 'clapping', 'waving']


def _results(seed: int = 0, n: int = 30):
    """Random predictions in the shape tools/test.py --dump writes (tensors per sample)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        scores = rng.random(3)
        scores /= scores.sum()
        gt = int(rng.integers(3))
        out.append(dict(pred_score=torch.tensor(scores, dtype=torch.float32),
                        pred_label=torch.tensor([int(np.argmax(scores))]),
                        gt_label=torch.tensor([gt]), person=int(i % 4) + 1,
                        scenario=f'd{i % 2 + 1}', filename=f'v{i}.avi', num_classes=3))
    return out


def _truth(results):
    scores = np.stack([r['pred_score'].numpy() for r in results])
    gts = np.array([int(r['gt_label']) for r in results])
    return scores, gts, scores.argmax(1)


def test_tables_match_direct_computation(tmp_path):
    results = _results()
    scores, gts, preds = _truth(results)
    summary = analyze(results, str(tmp_path), NAMES)
    assert summary['top1'] == pytest.approx((preds == gts).mean())
    per_class = pd.read_csv(summary['paths']['per_class'])
    for c in range(3):
        row = per_class[per_class['label'] == c].iloc[0]
        assert row['name'] == NAMES[c] and row['samples'] == (gts == c).sum()
        assert row['top1'] == pytest.approx((preds[gts == c] == c).mean())
    per_person = pd.read_csv(summary['paths']['per_person'])
    persons = np.array([r['person'] for r in results])
    for p in range(1, 5):
        row = per_person[per_person['person'] == p].iloc[0]
        assert row['correct'] == (preds[persons == p] == gts[persons == p]).sum()
    assert set(pd.read_csv(summary['paths']['per_scenario'])['scenario']) == {'d1', 'd2'}
    matrix = pd.read_csv(summary['paths']['confusion_csv'], index_col=0).to_numpy()
    expected = np.zeros((3, 3), int)
    for g, p in zip(gts, preds):
        expected[g, p] += 1
    assert (matrix == expected).all()
    with open(summary['paths']['confusion_png'], 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    wrong = pd.read_csv(summary['paths']['misclassified'])
    assert len(wrong) == (preds != gts).sum() == summary['misclassified']
    first = wrong.iloc[0]
    i = int(first['index'])
    top3 = np.argsort(-scores[i])[:3]
    assert first['top3'].split(', ')[0].split(' ')[0] == NAMES[top3[0]]
    assert [t.split(' ')[0] for t in first['top3'].split(', ')] == [NAMES[k] for k in top3]
    assert first['true'] == NAMES[gts[i]] and first['filename'] == f'v{i}.avi'
    assert wrong['score'].is_monotonic_decreasing
    assert '## Per person' in open(summary['paths']['summary']).read()


def test_any_metadata_key_and_dataset_infos(tmp_path):
    results = [{k: v for k, v in r.items() if k not in ('person', 'scenario', 'filename')}
               for r in _results(1, 12)]
    infos = [dict(hand='left' if i < 6 else 'right', filename=f'f{i}.mp4') for i in range(12)]
    summary = analyze(results, str(tmp_path), NAMES, infos=infos)
    table = pd.read_csv(summary['paths']['per_hand'])
    assert list(table['hand']) == ['left', 'right'] and table['samples'].sum() == 12
    frame = predictions_frame(results, infos)
    assert frame.loc[3, 'filename'] == 'f3.mp4'
    with pytest.raises(ValueError, match='dump has 12 samples but the dataset has 11'):
        predictions_frame(results, infos[:11])
    with pytest.raises(KeyError, match="no 'camera'"):
        analyze(results, str(tmp_path), NAMES, group_by=['camera'])
    with pytest.raises(ValueError, match='2 class names for 3-class'):
        analyze(results, str(tmp_path), NAMES[:2])


def test_cli_on_a_dump(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'analyze_results', os.path.join(REPO, 'tools', 'analyze_results.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    dump = tmp_path / 'results.pkl'
    with open(dump, 'wb') as f:
        pickle.dump(_results(2), f)
    tool.main([str(dump), '--out-dir', str(tmp_path / 'a'), '--classes', *NAMES,
               '--group-by', 'scenario'])
    assert sorted(os.listdir(tmp_path / 'a')) == [
        'confusion_matrix.csv', 'confusion_matrix.png', 'misclassified.csv', 'per_class.csv',
        'per_scenario.csv', 'summary.md']
    assert '30 samples' in capsys.readouterr().out
    with pytest.raises(SystemExit, match='no such file'):
        tool.main([str(tmp_path / 'none.pkl'), '--out-dir', str(tmp_path)])


def test_aggregate_per_video(tmp_path):
    """Sub-sequence scores averaged per video: checked against a direct computation."""
    results = _results(3, 24)
    for i, r in enumerate(results):  # 6 videos of 4 sub-sequences, one label each
        r['video_id'] = f'video{i // 4}'
        r['gt_label'] = torch.tensor([(i // 4) % 3])
    summary = analyze(results, str(tmp_path), NAMES, aggregate_by='video_id')
    scores, gts, _ = _truth(results)
    expected = [scores[v * 4:(v + 1) * 4].mean(0).argmax() == gts[v * 4] for v in range(6)]
    assert summary['samples'] == 6
    assert summary['top1'] == pytest.approx(np.mean(expected))
    assert 'averaged per video_id' in open(summary['paths']['summary']).read()
    mixed = [dict(r, video_id='same') for r in results]
    with pytest.raises(ValueError, match="video_id='same' groups samples of different"):
        analyze(mixed, str(tmp_path), NAMES, aggregate_by='video_id')
