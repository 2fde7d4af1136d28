"""tools/compare_segmentation.py: windows rebuilt from the feature files' score rows."""
from __future__ import annotations

import importlib.util
import json
import os
import pickle

import numpy as np
import pytest
from segmentation_helpers import REPO

from mmaction_ext.apis.segmentation_features import write_bundle, write_mappings, write_video
from mmaction_ext.apis.timeline import moving_average
from mmaction_ext.evaluation.functional.segmentation import segmentation_scores

CLASSES = {'lh': ['lh_00', 'lh_01'], 'rh': ['rh_00', 'rh_01', 'rh_02']}


def _tool():
    spec = importlib.util.spec_from_file_location(
        'compare_tool', os.path.join(REPO, 'tools/compare_segmentation.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_matches_independent_scores_and_plots(tmp_path, capsys):
    rng = np.random.default_rng(0)
    root = tmp_path / 'feats'
    results, truth, scores = [], {}, {}
    for video in ('x', 'y'):
        truth[video] = {t: np.repeat(rng.integers(0, len(c), 6), 10) for t, c in CLASSES.items()}
        scores[video] = {t: rng.random((60, len(c))) for t, c in CLASSES.items()}
        feats = {t: np.concatenate([rng.normal(size=(4, 60)), scores[video][t].T]).astype(
            np.float32) for t in CLASSES}
        write_video(str(root), video, feats, truth[video], CLASSES)
        results.append({'video': video, **{f'{t}_pred_labels': truth[video][t][::-1].copy()
                                           for t in CLASSES}})
    write_mappings(str(root), CLASSES)
    write_bundle(str(root / 'splits/test.bundle'), ['x', 'y'])
    (root / 'extract_features.json').write_text(json.dumps(
        dict(tracks=list(CLASSES), classes=CLASSES)))
    with open(tmp_path / 'preds.pkl', 'wb') as f:
        pickle.dump(results, f)
    out = tmp_path / 'table.json'
    assert _tool().main([str(root), str(root / 'splits/test.bundle'), str(tmp_path / 'preds.pkl'),
                         '--smooth', '0', '5', '--out', str(out),
                         '--plot-dir', str(tmp_path / 'plots')]) == 0
    table = json.loads(out.read_text())
    for t in CLASSES:
        gts = [truth[v][t] for v in ('x', 'y')]
        for s in (0, 5):
            windows = [moving_average(scores[v][t].astype(np.float32).astype(np.float64), s)
                       .argmax(1) for v in ('x', 'y')]
            assert table[f'{t}/windows smooth {s}'] == pytest.approx(
                segmentation_scores(windows, gts))
        assert table[f'{t}/segmenter'] == pytest.approx(
            segmentation_scores([truth[v][t][::-1] for v in ('x', 'y')], gts))
    assert (tmp_path / 'plots/x.png').read_bytes()[:4] == b'\x89PNG'
    assert 'rh   segmenter' in capsys.readouterr().out


def test_results_missing_a_video_of_the_split(tmp_path):
    root = tmp_path / 'feats'
    root.mkdir()
    (root / 'extract_features.json').write_text(json.dumps(dict(tracks=['lh'], classes={})))
    write_bundle(str(root / 'splits/test.bundle'), ['x', 'y'])
    with open(tmp_path / 'preds.pkl', 'wb') as f:
        pickle.dump([{'video': 'x', 'lh_pred_labels': np.zeros(3)}], f)
    with pytest.raises(SystemExit, match=r"no predictions for \['y'\]"):
        _tool().main([str(root), str(root / 'splits/test.bundle'), str(tmp_path / 'preds.pkl')])


def test_features_root_without_extraction_record(tmp_path):
    from mmaction_ext.fileio.list_reader import ListFileError
    with pytest.raises(ListFileError, match=r'extract_features\.json not found: .*feats/'
                       r'extract_features\.json; FEATURES_ROOT must come from '
                       r'tools/extract_features\.py'):
        _tool().main([str(tmp_path / 'feats'), 'x.bundle', 'x.pkl'])
    (tmp_path / 'extract_features.json').write_text('{"tracks":\n [1,,2]}\n')
    with pytest.raises(ListFileError, match=r'extract_features\.json:2: not JSON'):
        _tool().main([str(tmp_path), 'x.bundle', 'x.pkl'])
