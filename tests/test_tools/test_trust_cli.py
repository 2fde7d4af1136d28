"""tools/test.py as a user runs it: no metrics from random weights or a subset of samples.

One tiny ViT (the synthetic-motion demo, 4 classes, 8 test clips); checkpoints are the
freshly built model's weights in MMEngine's format, altered per case.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from checkpoint_helpers import serve
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmaction_ext.evaluation.safe_results import load_results

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
DEMO = os.path.join(REPO, 'configs/demo/vit-tiny_synthetic-motion.py')

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def setup(tmp_path_factory, tiny_motion_data):
    """(config path, {name: checkpoint path}) for the tiny demo model."""
    tmp = tmp_path_factory.mktemp('trust_cli')
    root = tiny_motion_data
    cfg_path = tmp / 'cfg.py'
    cfg_path.write_text(f'''
_base_ = {DEMO!r}
test_dataloader = dict(
    batch_size=3, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file={os.path.join(root, 'val_list.txt')!r},
                 data_prefix=dict(video={os.path.join(root, 'videos')!r})))
''')
    cfg = Config.fromfile(str(cfg_path))
    with DefaultScope.overwrite_default_scope('mmaction'):
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        cfg.model.cls_head.num_classes = 5
        five = MODELS.build(cfg.model)
    sd = model.state_dict()
    files = {
        'full': {'state_dict': sd, 'meta': {}},
        'head5': {'state_dict': five.state_dict(), 'meta': {}},
        'backbone': {'state_dict': {k: v for k, v in sd.items() if k.startswith('backbone.')}},
    }
    paths = {}
    for name, obj in files.items():
        paths[name] = str(tmp / f'{name}.pth')
        torch.save(obj, paths[name])
    return str(cfg_path), paths, tmp


def run_test(cfg: str, ckpt: str, *extra: str, env: dict | None = None):
    """Run tools/test.py --verbose (metrics print if computed); return (status, output)."""
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools/test.py'), cfg, ckpt, '--verbose', *extra],
        capture_output=True, text=True, cwd=REPO,
        env={**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore',
             **(env or {})})
    return proc.returncode, proc.stdout + proc.stderr


def test_fresh_head_is_refused_naming_both_class_counts(setup):
    cfg, ckpt, tmp = setup
    code, out = run_test(cfg, ckpt['head5'], '--work-dir', str(tmp / 'w1'))
    assert code != 0
    assert 'PartialCheckpointError' in out
    assert 'cls_head: 5 classes in the file, 4 in the config' in out
    assert '--allow-partial-checkpoint' in out
    assert 'acc/top1' not in out


def test_backbone_only_checkpoint_is_refused(setup):
    cfg, ckpt, tmp = setup
    code, out = run_test(cfg, ckpt['backbone'], '--work-dir', str(tmp / 'w2'))
    assert code != 0
    assert 'not in the file (a backbone-only checkpoint?)' in out
    assert 'cls_head.fc_cls.weight' in out


def test_explicit_opt_in_evaluates_and_the_results_say_so(setup):
    cfg, ckpt, tmp = setup
    code, out = run_test(cfg, ckpt['head5'], '--work-dir', str(tmp / 'w3'),
                         '--allow-partial-checkpoint')
    assert code == 0, out[-3000:]
    assert 'EVALUATING A PARTIAL CHECKPOINT' in out
    results = out[out.index('Test results'):]
    assert 'acc/top1' in results
    assert 'PARTIAL_CHECKPOINT' in results and 'cls_head: 5 classes in the file' in results


def test_drop_last_is_refused_before_any_metric(setup):
    """8 clips, batch 3: drop_last=True would score 6 and print their accuracy."""
    cfg, ckpt, tmp = setup
    code, out = run_test(cfg, ckpt['full'], '--work-dir', str(tmp / 'w4'),
                         '--cfg-options', 'test_dataloader.drop_last=True')
    assert code != 0
    assert 'MissingSamplesError' in out
    assert '2 of 8 samples never scored' in out and 'drop_last=True' in out
    assert '.avi)' in out  # the clips are named
    assert 'acc/top1' not in out


def test_complete_checkpoint_evaluates_and_its_dump_reads_safely(setup):
    cfg, ckpt, tmp = setup
    dump = tmp / 'preds.pkl'
    code, out = run_test(cfg, ckpt['full'], '--work-dir', str(tmp / 'w5'), '--dump', str(dump))
    assert code == 0, out[-3000:]
    assert 'acc/top1' in out and 'PARTIAL_CHECKPOINT' not in out
    results = load_results(str(dump))  # the restricted unpickler reads what --dump wrote
    assert len(results) == 8 and results[0]['pred_score'].shape == (4,)
    assert sorted(r['sample_idx'] for r in results) == list(range(8))
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'tools/analyze_results.py'),
                           str(dump), '--out-dir', str(tmp / 'analysis')],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '8 samples, top-1' in proc.stdout


def test_http_checkpoint_payload_is_refused_by_tools_test(setup, tmp_path):
    """`tools/test.py CFG http://host/x.pth`: the served pickle must not run."""
    cfg, _, tmp = setup
    with serve(tmp_path) as (url, _, marker):
        code, out = run_test(cfg, f'{url}/evil.pth', '--work-dir', str(tmp / 'w6'),
                             env={'TORCH_HOME': str(tmp_path / 'torch_home')})
    assert code != 0
    assert not marker.exists()
    assert 'UnsafeCheckpointError' in out and '`io.open`' in out
    assert f'MMACTION_EXT_TRUSTED_CHECKPOINTS={url}/evil.pth' in out


def test_cfg_option_typo_is_refused_by_tools_test(setup):
    cfg, ckpt, tmp = setup
    code, out = run_test(cfg, ckpt['full'], '--cfg-options', 'test_dataloder.batch_size=1')
    assert code != 0
    assert "no key 'test_dataloder' (did you mean 'test_dataloader'?)" in out
