"""tools/infer_video.py end to end on tiny random-weight models: files, edge cases, reruns.

Covers a video shorter than one window, a video whose last frames do not decode, a list
with a missing file, a rerun after a crash, one-head and dual-hand models, features.
"""
from __future__ import annotations

import csv
import importlib.util
import json
import os

import numpy as np
import pytest
from infer_helpers import DUAL_CFG, ONE_CFG, REPO, random_checkpoint

from mmaction_ext.apis import VideoInferencer
from mmaction_ext.apis import outputs as outputs_module
from mmaction_ext.synthetic import write_video

pytestmark = pytest.mark.slow  # end to end: model, decoding, files (seconds each)


def _tool():
    spec = importlib.util.spec_from_file_location(
        'infer_video_tool', os.path.join(REPO, 'tools/infer_video.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def dual_ckpt(tmp_path_factory) -> str:
    return random_checkpoint(DUAL_CFG, str(tmp_path_factory.mktemp('ck') / 'dual.pth'))


@pytest.fixture(scope='module')
def one_ckpt(tmp_path_factory) -> str:
    return random_checkpoint(ONE_CFG, str(tmp_path_factory.mktemp('ck') / 'one.pth'))


def _video(path, frames: int, size=(64, 128), seed=0) -> str:
    rng = np.random.default_rng(seed)
    return write_video(str(path), rng.integers(0, 256, (frames,) + size + (3,), dtype=np.uint8))


def _rows(path) -> list[dict]:
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def test_dual_hand_outputs_match_api_scores(tmp_path, dual_ckpt):
    video = _video(tmp_path / 'clip.mp4', 30)
    out = tmp_path / 'out'
    assert _tool().main([DUAL_CFG, dual_ckpt, video, '--out-dir', str(out), '--features',
                         '--batch-size', '3', '--no-progress']) == 0
    d = out / 'clip'
    frames = _rows(d / 'frames.csv')
    assert list(frames[0]) == ['frame', 'time_s', 'lh_label', 'lh_score', 'rh_label',
                               'rh_score']
    assert [int(r['frame']) for r in frames] == list(range(30))
    assert float(frames[25]['time_s']) == pytest.approx(1.0)       # 25 fps
    scores = VideoInferencer(DUAL_CFG, dual_ckpt, features=True)(video)  # batch 8
    assert scores.starts.tolist() == [0, 4, 8, 12, 16, 20, 22]     # span 8, stride 4
    per_frame = scores.frame_scores()
    for hand in ('lh', 'rh'):
        np.testing.assert_array_equal([int(r[f'{hand}_label']) for r in frames],
                                      per_frame[hand].argmax(1))
        np.testing.assert_allclose([float(r[f'{hand}_score']) for r in frames],
                                   per_frame[hand].max(1), atol=6e-5)
    segments = _rows(d / 'segments.csv')
    assert list(segments[0]) == ['hand', 'start_frame', 'end_frame', 'start_s', 'end_s',
                                 'label', 'class_name', 'mean_score']
    for hand in ('lh', 'rh'):  # the runs tile the video
        runs = [r for r in segments if r['hand'] == hand]
        assert int(runs[0]['start_frame']) == 0 and int(runs[-1]['end_frame']) == 29
        for a, b in zip(runs, runs[1:]):
            assert int(b['start_frame']) == int(a['end_frame']) + 1 and a['label'] != b['label']
    feats = np.load(d / 'features.npy')
    meta = json.loads((d / 'features.json').read_text())
    assert feats.shape == (96, 7) and feats.dtype == np.float32
    assert meta['window_centres'] == [3, 7, 11, 15, 19, 23, 25]
    np.testing.assert_allclose(feats, scores.features.T, atol=1e-5)
    assert (d / 'timeline.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    summary = json.loads((d / 'summary.json').read_text())
    assert summary['num_frames'] == 30 and summary['windows'] == 7


def test_one_head_model_and_a_video_shorter_than_a_window(tmp_path, one_ckpt):
    video = _video(tmp_path / 'short.avi', 6, size=(64, 64))        # span is 15 frames
    out = tmp_path / 'out'
    assert _tool().main([ONE_CFG, one_ckpt, video, '--out-dir', str(out), '--smooth', '5',
                         '--no-progress']) == 0
    frames = _rows(out / 'short' / 'frames.csv')
    assert list(frames[0]) == ['frame', 'time_s', 'label', 'score'] and len(frames) == 6
    scores = VideoInferencer(ONE_CFG, one_ckpt)(video)
    assert scores.starts.tolist() == [0] and scores.spans.tolist() == [[0, 6]]
    window = scores.window_scores['label'][0]                       # one looped window
    assert all(int(r['label']) == window.argmax() for r in frames)
    assert float(frames[0]['score']) == pytest.approx(window.max(), abs=1e-4)
    segments = _rows(out / 'short' / 'segments.csv')
    assert [(r['hand'], r['start_frame'], r['end_frame']) for r in segments] == \
        [('label', '0', '5')]


def test_video_whose_last_frames_do_not_decode(tmp_path, dual_ckpt, capsys):
    video = _video(tmp_path / 'damaged.mp4', 60)
    data = bytearray(open(video, 'rb').read())
    n = len(data)
    data[int(n * 0.85):int(n * 0.97)] = bytes(int(n * 0.97) - int(n * 0.85))  # zero the tail
    open(video, 'wb').write(bytes(data))
    out = tmp_path / 'out'
    assert _tool().main([DUAL_CFG, dual_ckpt, video, '--out-dir', str(out),
                         '--no-progress']) == 0
    summary = json.loads((out / 'damaged' / 'summary.json').read_text())
    good = summary['num_frames']
    assert 8 <= good < summary['declared_frames'] == 60
    assert 'cannot be decoded' in summary['decode_error']
    assert len(_rows(out / 'damaged' / 'frames.csv')) == good
    assert 'WARNING' in capsys.readouterr().err
    # the windows are those of a video of `good` frames, the last one ending at its end
    scores = VideoInferencer(DUAL_CFG, dual_ckpt)(video)
    assert scores.spans[-1].tolist() == [good - 8, good]


def test_list_with_missing_file_and_rerun_after_crash(tmp_path, dual_ckpt, capsys,
                                                     monkeypatch):
    a, b = _video(tmp_path / 'a.mp4', 12, seed=1), _video(tmp_path / 'b.mp4', 12, seed=2)
    listing = tmp_path / 'videos.txt'
    listing.write_text('a.mp4\n# a comment\nmissing.mp4\nb.mp4\n')
    out = tmp_path / 'out'
    args = [DUAL_CFG, dual_ckpt, '--list', str(listing), '--out-dir', str(out),
            '--no-progress']
    tool = _tool()
    real_png = outputs_module.write_timeline_png

    def crash_on_b(path, scores, table):
        if scores.path == b:
            raise KeyboardInterrupt('simulated crash while writing b')
        return real_png(path, scores, table)

    monkeypatch.setattr(outputs_module, 'write_timeline_png', crash_on_b)
    with pytest.raises(KeyboardInterrupt):
        tool.main(args)
    err = capsys.readouterr().err
    assert 'missing.mp4' in err and 'videos.txt:3' in err and 'no such file' in err
    assert outputs_module.outputs_complete(str(out / 'a'))
    # b crashed after frames.csv and segments.csv: whole files, no summary, no temp files
    assert not outputs_module.outputs_complete(str(out / 'b'))
    assert sorted(os.listdir(out / 'b')) == ['frames.csv', 'segments.csv']
    assert len(_rows(out / 'b' / 'frames.csv')) == 12
    a_summary = (out / 'a' / 'summary.json').stat().st_mtime_ns

    monkeypatch.setattr(outputs_module, 'write_timeline_png', real_png)
    assert tool.main(args) == 1                    # the missing file still fails the run
    captured = capsys.readouterr()
    assert f'skip {a}' in captured.out and '1 done, 1 skipped' in captured.out
    assert (out / 'a' / 'summary.json').stat().st_mtime_ns == a_summary
    assert outputs_module.outputs_complete(str(out / 'b'))
    # asking for features later redoes a video whose outputs lack them
    assert not outputs_module.outputs_complete(str(out / 'a'), features=True)


def test_unreadable_video_is_reported_and_the_rest_go_on(tmp_path, dual_ckpt, capsys):
    bad = tmp_path / 'bad.mp4'
    bad.write_bytes(b'not a video at all' * 10)
    good = _video(tmp_path / 'good.mp4', 10)
    assert _tool().main([DUAL_CFG, dual_ckpt, str(bad), good, '--out-dir',
                         str(tmp_path / 'out'), '--no-progress']) == 1
    err = capsys.readouterr().err
    assert 'FAILED' in err and 'bad.mp4' in err and 'cannot open' in err
    assert outputs_module.outputs_complete(str(tmp_path / 'out' / 'good'))
    assert not (tmp_path / 'out' / 'bad').exists()


def test_amp_scores_close_to_float32(tmp_path, dual_ckpt):
    video = _video(tmp_path / 'clip.mp4', 16)
    full = VideoInferencer(DUAL_CFG, dual_ckpt)(video)
    half = VideoInferencer(DUAL_CFG, dual_ckpt, amp=True)(video)   # bfloat16 autocast on CPU
    for hand in ('lh', 'rh'):
        assert half.window_scores[hand].dtype == np.float32
        np.testing.assert_allclose(half.window_scores[hand], full.window_scores[hand],
                                   atol=0.03)
        np.testing.assert_allclose(half.window_scores[hand].sum(1), 1, atol=8e-3)  # bf16
