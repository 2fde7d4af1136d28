"""bench/run_all.py reads each bench's output; tools/gpu_check.py counts ViT FLOPs."""
from __future__ import annotations

import importlib.util
import json
import os.path as osp

import pytest

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def _load(relpath: str):
    spec = importlib.util.spec_from_file_location(osp.basename(relpath)[:-3],
                                                  osp.join(REPO, relpath))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def run_all():
    return _load('bench/run_all.py')


def test_parse_vit_step(run_all):
    out = ('ratios (CPU time, per-round medians, 1 threads):\n'
           '  16x112: ours/stock time 0.97x, step memory 0.75x | with_cp vs ours: time +16%, '
           'step memory -41%\n')
    rows = run_all.parse_vit_step(out)
    assert [r[2] for r in rows] == pytest.approx([0.97, 0.75, 0.59, 1.16])


def test_parse_alternating_loop(run_all):
    out = ('| measure | stock IterBasedTrainLoop | AlternatingTrainLoop |\n|---|---|---|\n'
           '| median s/iteration (30 iters, batch 4) | 0.0648 | 0.0616 (-4.9%) |\n'
           '| s to first iteration, resume at 60 | 2.00 | 0.50 |\n')
    rows = run_all.parse_alternating_loop(out)
    assert [r[0] for r in rows] == ['alternating loop', 'resume cost']
    assert [r[2] for r in rows] == pytest.approx([0.0616 / 0.0648, 0.25])


def test_parse_decode(run_all):
    res = {'v': {'decord': dict(ratio=1.0, cpu_ratio=1.0), 'ours': dict(ratio=1.3, cpu_ratio=1.4),
                 'diff': {'ours': 1.6}}}
    rows = run_all.parse_decode('table\n' + json.dumps(res))
    assert len(rows) == 1 and rows[0][2] == pytest.approx(1.4)


def test_vit_b_forward_macs_match_the_quoted_180_gflops():
    gpu_check = _load('tools/gpu_check.py')
    assert gpu_check.forward_macs(768, 12, 16, 224) / 1e9 == pytest.approx(180, rel=0.01)
    assert gpu_check.peak_tflops('NVIDIA H100 80GB HBM3', None) == pytest.approx(989.4)
    assert gpu_check.peak_tflops('some GPU', 100.0) == 100.0
