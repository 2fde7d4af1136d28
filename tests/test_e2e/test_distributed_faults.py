"""Distributed faults on CPU: a failing rank ends the whole job with its error, no hang."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from test_tool_runs import ITER_CONFIG, REPO, data_options

pytestmark = pytest.mark.slow


def test_one_rank_raising_ends_the_job_with_that_error(tmp_path, tiny_motion_data):
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore', 'OMP_NUM_THREADS': '1',
           'PYTHONPATH': os.path.join(REPO, 'tests'), 'MMACTION_EXT_DIST_TIMEOUT': '60'}
    config = tmp_path / 'faulty.py'
    config.write_text(f"_base_ = {ITER_CONFIG!r}\n"
                      "custom_imports = dict(imports=['mmaction_ext', 'fault_injection'])\n"
                      "custom_hooks = [dict(type='RaiseOnRankHook', rank=1, iteration=3)]\n")
    start = time.monotonic()
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'torchrun'), '--nproc_per_node=2',
         '--master_port=29544', 'tools/train.py', str(config), '--launcher', 'pytorch',
         '--work-dir', str(tmp_path / 'work'), '--cfg-options',
         'train_cfg.max_iters=10', *data_options(tiny_motion_data)],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=420)
    elapsed = time.monotonic() - start
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert 'injected failure on rank 1 at iteration 3' in out
    assert 'ChildFailedError' in out  # torchrun's report that a worker failed
    # Rank 0 is stopped by torchrun (or by the collective timeout), not left waiting forever.
    assert elapsed < 400
