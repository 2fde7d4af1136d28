"""tools/extract_features.py: the segmentation layout, values, resuming, bad inputs."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from infer_helpers import DUAL_CFG, load_tool, random_checkpoint

from mmaction_ext.apis import VideoInferencer, frame_scores_from_windows
from mmaction_ext.apis import segmentation_features as seg_features
from mmaction_ext.datasets.segmentation_layout import read_bundle, read_mapping
from mmaction_ext.synthetic import make_long_havid_video

pytestmark = pytest.mark.slow  # decodes videos and runs a (tiny) ViT: seconds


def _tool():
    return load_tool('extract_features')


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp('long')
    truth = {}
    for i, name in enumerate(['a', 'b', 'c']):
        truth[name] = make_long_havid_video(str(root / f'{name}.mp4'), duration_s=2.0, fps=25,
                                            segment_s=(0.4, 0.8), seed=i, pause_s=(0.1, 0.2))
    (root / 'train.txt').write_text('a.mp4\nb.mp4\n')
    (root / 'test.txt').write_text('# held out\nc.mp4\n')
    ckpt = random_checkpoint(DUAL_CFG, str(root / 'dual.pth'))
    return root, truth, ckpt


def _run(root, ckpt, out, *extra):
    return _tool().main([DUAL_CFG, ckpt, '--out-root', str(out), '--no-progress',
                         '--split', f'train.split1={root / "train.txt"}',
                         '--split', f'test.split1={root / "test.txt"}', *extra])


def test_layout_shapes_and_values(videos, tmp_path):
    root, truth, ckpt = videos
    out = tmp_path / 'feats'
    assert _run(root, ckpt, out) == 0
    assert read_bundle(str(out / 'splits/train.split1.bundle')) == ['a', 'b']
    assert (out / 'splits/test.split1.bundle').read_text() == 'c.txt\n'
    lh_names = read_mapping(str(out / 'mapping_left_hand.txt'))
    rh_names = read_mapping(str(out / 'mapping_right_hand.txt'))
    assert lh_names == ['lh_00', 'lh_01', 'lh_02'] and len(rh_names) == 4
    assert read_mapping(str(out / 'mapping.txt')) == lh_names + rh_names
    scores = VideoInferencer(DUAL_CFG, ckpt, features=True)(str(root / 'b.mp4'))
    shared = frame_scores_from_windows(scores.spans, scores.features, 50)
    for hand, folder, names in (('lh', 'left_hand', lh_names), ('rh', 'right_hand', rh_names)):
        feats = np.load(out / 'features' / folder / 'b.npy')
        assert feats.dtype == np.float32 and feats.shape == (96 + len(names), 50)  # (D, T)
        np.testing.assert_allclose(feats[:96].T, shared, atol=1e-5)
        np.testing.assert_allclose(feats[96:].T, scores.frame_scores()[hand], atol=1e-5)
        lines = (out / 'groundTruth' / folder / 'b.txt').read_text().split('\n')
        assert lines[-1] == '' and lines[:-1] == [names[v] for v in truth['b'][hand]]
    meta = json.loads((out / 'extract_features.json').read_text())
    assert meta['tracks'] == ['lh', 'rh'] and meta['stride'] == 4


def test_rerun_skips_complete_videos_and_redoes_a_crashed_one(videos, tmp_path, monkeypatch,
                                                              capsys):
    root, _, ckpt = videos
    out = tmp_path / 'feats'
    real = seg_features.write_npy

    def crash_on_c(path, array):
        if path.endswith('right_hand/c.npy'):
            raise OSError('disk went away')
        return real(path, array)

    monkeypatch.setattr(seg_features, 'write_npy', crash_on_c)
    assert _run(root, ckpt, out) == 1
    err = capsys.readouterr().err
    assert 'FAILED' in err and 'c.mp4' in err and 'disk went away' in err
    assert (out / 'features/left_hand/c.npy').exists()          # half a video done
    assert not (out / 'features/right_hand/c.npy').exists()
    monkeypatch.setattr(seg_features, 'write_npy', real)
    before = os.stat(out / 'features/left_hand/a.npy').st_mtime_ns
    assert _run(root, ckpt, out) == 0
    assert '1 done, 2 skipped' in capsys.readouterr().out
    assert os.stat(out / 'features/left_hand/a.npy').st_mtime_ns == before
    assert not [p for p in out.rglob('.*.tmp')]                  # no temporary files left


def test_other_stride_into_same_root_and_truth_length_mismatch(videos, tmp_path, capsys):
    root, _, ckpt = videos
    out = tmp_path / 'feats'
    assert _run(root, ckpt, out) == 0
    with pytest.raises(SystemExit, match=r"other \['stride'\].*use another --out-root"):
        _run(root, ckpt, out, '--stride', '2')
    short = tmp_path / 'short'
    short.mkdir()
    os.symlink(root / 'a.mp4', short / 'a.mp4')
    lines = (root / 'a.gt.csv').read_text().splitlines()
    (short / 'a.gt.csv').write_text('\n'.join(lines[:-3]) + '\n')   # 3 frames unlabelled
    assert _tool().main([DUAL_CFG, ckpt, str(short / 'a.mp4'), '--out-root',
                         str(tmp_path / 'o2'), '--no-progress']) == 1
    assert '50 decoded frames but 47 labelled frames' in capsys.readouterr().err
