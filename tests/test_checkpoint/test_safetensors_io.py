"""Safetensors out: round trip with metadata, training checkpoints via the converter, bad files."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from infer_helpers import DUAL_CFG, REPO
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint

from mmaction_ext.checkpoint import CheckpointLoadError
from mmaction_ext.checkpoint.local_formats import load_any_checkpoint
from mmaction_ext.checkpoint.safetensors_io import load_safetensors, save_safetensors


def test_round_trip_with_meta(tmp_path):
    base = torch.randn(4, 6)
    sd = {'a.weight': base, 'a.view': base[:, :3], 'b': torch.arange(5)}  # a shared view too
    meta = dict(model=dict(type='X', depth=2), dataset_meta=dict(classes=['p', 'q']))
    path = str(tmp_path / 'w.safetensors')
    save_safetensors(sd, path, meta)
    assert os.listdir(tmp_path) == ['w.safetensors']          # no temporary file left
    back = load_safetensors(path)
    assert back['meta'] == meta
    assert sorted(back['state_dict']) == sorted(sd)
    for k, v in sd.items():
        assert torch.equal(back['state_dict'][k], v) and back['state_dict'][k].dtype == v.dtype
    with pytest.raises(ValueError, match='tensors only'):
        save_safetensors({'x': 1}, str(tmp_path / 'bad.safetensors'))


def test_foreign_and_damaged_files(tmp_path):
    from safetensors.torch import save_file
    plain = str(tmp_path / 'plain.safetensors')
    save_file({'w': torch.ones(2)}, plain)
    loaded = load_any_checkpoint(plain)
    assert loaded['meta'] == {} and torch.equal(loaded['state_dict']['w'], torch.ones(2))
    damaged = tmp_path / 'damaged.safetensors'
    damaged.write_bytes(open(plain, 'rb').read()[:-3])
    with pytest.raises(CheckpointLoadError, match='damaged.safetensors'):
        load_any_checkpoint(str(damaged))
    junk = tmp_path / 'junk.safetensors'
    junk.write_bytes(b'not a safetensors file at all')
    with pytest.raises(CheckpointLoadError, match='junk.safetensors'):
        load_any_checkpoint(str(junk))


@pytest.mark.slow
def test_training_checkpoint_to_safetensors(tmp_path):
    """An MMEngine training checkpoint (dual-hand) -> safetensors -> the same model."""
    from mmaction.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmaction'):
        torch.manual_seed(0)
        model = MODELS.build(Config.fromfile(DUAL_CFG).model)
        model.init_weights()
        classes = dict(lh=['a', 'b', 'c'], rh=['w', 'x', 'y', 'z'])
        src = str(tmp_path / 'epoch_1.pth')
        torch.save(dict(state_dict=model.state_dict(), meta=dict(
            dataset_meta=dict(classes=classes), epoch=1)), src)
        dst = str(tmp_path / 'epoch_1.safetensors')
        run = subprocess.run([sys.executable, 'tools/convert_checkpoint.py', src, dst,
                              '--config', DUAL_CFG], cwd=REPO, capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=REPO))
        assert run.returncode == 0, run.stderr[-2000:]
        back = load_any_checkpoint(dst)
        assert back['meta']['dataset_meta']['classes'] == classes
        assert back['meta']['model']['type'] == 'DualHandRecognizer'
        fresh = MODELS.build(Config.fromfile(DUAL_CFG).model)
    load_checkpoint(fresh, dst, map_location='cpu', strict=True)
    for k, v in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v), k
