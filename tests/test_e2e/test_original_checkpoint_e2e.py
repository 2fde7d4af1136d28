"""``tools/test.py CONFIG ORIGINAL.pth`` evaluates an original-format checkpoint as is."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pytest
import torch
from reference_vit import RefViT


@pytest.mark.slow
def test_tools_test_runs_an_original_checkpoint(tmp_path, repo_root, tiny_motion_data):
    torch.manual_seed(0)
    ref = RefViT(frames=8, size=64, num_classes=4)
    ckpt = tmp_path / 'vit_tiny_ft.pth'
    torch.save({'model': ref.state_dict(), 'epoch': 29}, ckpt)
    base = os.path.join(repo_root, 'configs', 'demo', 'vit-tiny_synthetic-motion.py')
    root = tiny_motion_data
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f'''
_base_ = {base!r}
model = dict(
    _delete_=True, type='ViTRecognizer3D',
    backbone=dict(type='MAEVisionTransformer', arch=dict(embed_dims=48, depth=2, num_heads=4),
                  img_size=64, num_frames=8),
    cls_head=dict(type='TimeSformerHead', num_classes=4, in_channels=48, average_clips='prob'),
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], format_shape='NCTHW'))
test_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file={os.path.join(root, 'val_list.txt')!r},
                 data_prefix=dict(video={os.path.join(root, 'videos')!r})))
''')
    dump = tmp_path / 'preds.pkl'
    proc = subprocess.run(
        [sys.executable, os.path.join(repo_root, 'tools', 'test.py'), str(cfg), str(ckpt),
         '--work-dir', str(tmp_path / 'work'), '--dump', str(dump)],
        capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'),
        cwd=repo_root)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'VideoMAEv2/AMD fine-tuned format' in log
    assert 'kept from checkpoint (4 classes)' in log
    assert 'missing keys' not in log and 'unexpected key' not in log
    with open(dump, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 8 and preds[0]['pred_score'].shape == (4,)
