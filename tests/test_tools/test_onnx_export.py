"""tools/export_onnx.py: onnxruntime against torch, dynamic batch, refusals, infer_video backend.

References are the torch models themselves (the recognizer's own ``test_step`` for the
inference path); tolerance 1e-4 on logits and features.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from infer_helpers import DUAL_CFG, ONE_CFG, REPO, random_checkpoint
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint

pytest.importorskip('onnxruntime')
pytestmark = pytest.mark.slow  # every test exports with torch's dynamo exporter (~10-30 s)
TOL = 1e-4
ENV = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')


def export(config: str, checkpoint: str, out: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, 'tools/export_onnx.py', config, checkpoint, out,
                           *extra], cwd=REPO, env=ENV, capture_output=True, text=True)


def torch_model(config: str, checkpoint: str):
    from mmaction.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(Config.fromfile(config).model)
    load_checkpoint(model, checkpoint, map_location='cpu')
    return model.eval()


@pytest.fixture(scope='module')
def one_onnx(tmp_path_factory):
    root = tmp_path_factory.mktemp('one')
    ckpt = random_checkpoint(ONE_CFG, str(root / 'one.pth'))
    run = export(ONE_CFG, ckpt, str(root / 'one.onnx'), '--check', '0')
    assert run.returncode == 0, run.stderr[-3000:]
    return ckpt, str(root / 'one.onnx')


@pytest.fixture(scope='module')
def dual_onnx(tmp_path_factory):
    root = tmp_path_factory.mktemp('dual')
    ckpt = random_checkpoint(DUAL_CFG, str(root / 'dual.pth'), seed=2)
    run = export(DUAL_CFG, ckpt, str(root / 'dual.onnx'), '--size', '64', '128',
                 '--features', '--check', '3')
    assert run.returncode == 0, run.stderr[-3000:]
    assert 'max abs diff' in run.stdout
    return ckpt, str(root / 'dual.onnx')


@pytest.mark.parametrize('batch', [1, 3])
def test_single_head_matches_torch(one_onnx, batch):
    from mmaction_ext.apis.onnx_backend import OnnxRecognizer
    ckpt, path = one_onnx
    runner = OnnxRecognizer(path)
    assert runner.tracks == ['label'] and runner.clip_shape == (3, 8, 64, 64)
    model = torch_model(ONE_CFG, ckpt)
    x = torch.randn(batch, *runner.clip_shape, generator=torch.Generator().manual_seed(batch))
    with torch.no_grad():
        ref = model.cls_head(model.backbone(x))
    assert np.abs(runner(x.numpy())['label'] - ref.numpy()).max() <= TOL


def test_dual_hand_matches_torch(dual_onnx):
    from mmaction_ext.apis.onnx_backend import OnnxRecognizer
    ckpt, path = dual_onnx
    runner = OnnxRecognizer(path)
    assert runner.tracks == ['lh', 'rh'] and runner.clip_shape == (3, 8, 64, 128)
    model = torch_model(DUAL_CFG, ckpt)
    x = torch.randn(5, *runner.clip_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        feats = model.backbone(x)
        ref = dict(lh=model.lh_head(feats), rh=model.rh_head(feats), features=feats)
    got = runner(x.numpy())
    for key, value in ref.items():
        assert np.abs(got[key] - value.numpy()).max() <= TOL, key
    with pytest.raises(ValueError, match='exported for'):
        runner(x[:, :, :4].numpy())


def test_refusals_through_the_cli(tmp_path, dual_onnx):
    ckpt, _ = dual_onnx
    no_size = export(DUAL_CFG, ckpt, str(tmp_path / 'x.onnx'))
    assert no_size.returncode == 2 and '--size H W' in no_size.stderr
    assert 'Traceback' not in no_size.stderr and not (tmp_path / 'x.onnx').exists()
    tsn = os.path.join(REPO, 'configs/kth_tsn-r50_stock-mmaction.py')
    two_d = export(tsn, ckpt, str(tmp_path / 'y.onnx'))
    assert two_d.returncode != 0 and 'Traceback' not in two_d.stderr
    wrong = export(ONE_CFG, ckpt, str(tmp_path / 'z.onnx'))   # dual-hand weights, one head
    assert wrong.returncode == 2 and 'Traceback' not in wrong.stderr
    bad_name = export(ONE_CFG, ckpt, str(tmp_path / 'z.bin'))
    assert bad_name.returncode == 2 and 'must end in .onnx' in bad_name.stderr


def test_backend_refuses_a_graph_of_another_model(dual_onnx):
    from mmaction_ext.apis import VideoInferencer
    _, path = dual_onnx
    with pytest.raises(ValueError, match=r"heads \{'lh': 3, 'rh': 4\}.*builds \{'label': 4\}"):
        VideoInferencer(ONE_CFG, path, backend='onnxruntime')
    with pytest.raises(ValueError, match='not a loadable ONNX model'):
        VideoInferencer(DUAL_CFG, ONE_CFG, backend='onnxruntime')


def test_infer_video_backends_agree(tmp_path, dual_onnx):
    """frames.csv labels of --backend onnxruntime are the torch backend's."""
    from mmaction_ext.synthetic import write_video
    ckpt, path = dual_onnx
    rng = np.random.default_rng(0)
    video = write_video(str(tmp_path / 'clip.mp4'),
                        rng.integers(0, 256, (30, 64, 128, 3), dtype=np.uint8))
    rows = {}
    for backend, weights in (('pytorch', ckpt), ('onnxruntime', path)):
        out = tmp_path / backend
        run = subprocess.run([sys.executable, 'tools/infer_video.py', DUAL_CFG, weights, video,
                              '--out-dir', str(out), '--backend', backend, '--no-progress',
                              '--features'], cwd=REPO, env=ENV, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr[-3000:]
        with open(out / 'clip' / 'frames.csv', newline='') as f:
            rows[backend] = list(csv.DictReader(f))
    torch_rows, ort_rows = rows['pytorch'], rows['onnxruntime']
    assert len(torch_rows) == len(ort_rows) == 30
    for a, b in zip(torch_rows, ort_rows):
        assert (a['lh_label'], a['rh_label']) == (b['lh_label'], b['rh_label'])
        assert abs(float(a['lh_score']) - float(b['lh_score'])) <= TOL
    feats = [np.load(tmp_path / b / 'clip' / 'features.npy') for b in ('pytorch', 'onnxruntime')]
    assert np.abs(feats[0] - feats[1]).max() <= TOL
