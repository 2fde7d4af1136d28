"""Crash safety: atomic writes, a previous checkpoint kept while saving, repairs on resume."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.hooks import CheckpointHook

from mmaction_ext.checkpoint import CheckpointLoadError, safe_torch_load
from mmaction_ext.engine.hooks.safe_checkpoint_hook import (
    SafeCheckpointHook,
    repair_last_checkpoint,
)
from mmaction_ext.fileio.atomic_local_backend import AtomicLocalBackend


def test_plain_paths_use_the_atomic_backend(tmp_path):
    assert isinstance(get_file_backend(str(tmp_path / 'x.pth')), AtomicLocalBackend)


@pytest.mark.slow  # a subprocess or a whole run: over 5 s
def test_sigkill_during_write_leaves_old_or_new_file_never_half(tmp_path):
    """Kill a writer of a large file at several moments; the target always loads whole."""
    target = tmp_path / 'iter_1.pth'
    torch.save({'v': torch.zeros(4)}, target)
    writer = textwrap.dedent(f'''
        import io, torch
        from mmaction_ext.fileio.atomic_local_backend import AtomicLocalBackend
        buf = io.BytesIO()
        torch.save({{'v': torch.ones(40_000_000)}}, buf)   # 160 MB
        print('writing', flush=True)
        AtomicLocalBackend().put(buf.getvalue(), {str(target)!r})
        print('done', flush=True)
    ''')
    outcomes = set()
    for delay in (0.0, 0.05, 0.2):
        proc = subprocess.Popen([sys.executable, '-c', writer], stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout.readline().strip() == 'writing'
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        loaded = safe_torch_load(str(target))['v']  # never raises: file is whole
        outcomes.add(int(loaded.numel()))
    assert outcomes <= {4, 40_000_000}
    # A killed writer may leave its temporary file: hidden, never named like a checkpoint.
    leftovers = [p for p in os.listdir(tmp_path) if p != 'iter_1.pth']
    assert all(p.startswith('.iter_1.pth.') and p.endswith('.tmp') for p in leftovers)


class _Hub:
    def __init__(self):
        self.runtime_info = {}

    def update_info(self, key, value):
        self.runtime_info[key] = value

    def get_info(self, key):
        return self.runtime_info[key]


class _Runner:
    """The few runner attributes CheckpointHook touches when saving."""

    def __init__(self, work_dir, fail_on_step=None):
        self.work_dir = str(work_dir)
        self.rank = 0
        self.message_hub = _Hub()
        self.fail_on_step = fail_on_step
        self._resume, self._load_from = False, None

    def save_checkpoint(self, out_dir, filename, *args, **kwargs):
        step = int(filename.split('_')[1].split('.')[0])
        if step == self.fail_on_step:
            raise RuntimeError('simulated crash while writing')
        torch.save({'meta': {'iter': step}}, os.path.join(out_dir, filename))


def _save_steps(hook_cls, tmp_path, steps, fail_on_step=None):
    runner = _Runner(tmp_path, fail_on_step)
    hook = hook_cls(interval=1, by_epoch=False, max_keep_ckpts=1)
    hook.out_dir = runner.work_dir
    hook.file_backend = get_file_backend(runner.work_dir)
    from collections import deque
    hook.keep_ckpt_ids = deque([], hook.max_keep_ckpts)  # as CheckpointHook.before_train
    for step in steps:
        try:
            hook._save_checkpoint_with_step(runner, step, meta={})
        except RuntimeError:
            break
    return sorted(p for p in os.listdir(tmp_path) if p.endswith('.pth'))


def test_stock_hook_loses_the_only_checkpoint_when_a_save_crashes(tmp_path):
    """The upstream behaviour that SafeCheckpointHook fixes (max_keep_ckpts=1)."""
    assert _save_steps(CheckpointHook, tmp_path, [1, 2], fail_on_step=2) == []


def test_safe_hook_keeps_the_previous_checkpoint_until_the_new_one_is_written(tmp_path):
    assert _save_steps(SafeCheckpointHook, tmp_path, [1, 2], fail_on_step=2) == ['iter_1.pth']
    assert (tmp_path / 'last_checkpoint').read_text().endswith('iter_1.pth')


def test_safe_hook_still_honours_max_keep_ckpts(tmp_path):
    assert _save_steps(SafeCheckpointHook, tmp_path, [1, 2, 3, 4]) == ['iter_4.pth']


@pytest.mark.parametrize('marker', ['', 'missing', 'truncated'])
def test_repair_last_checkpoint(tmp_path, marker):
    for step in (10, 20):
        torch.save({'meta': {'iter': step}}, tmp_path / f'iter_{step}.pth')
    expected = str(tmp_path / 'iter_20.pth')
    if marker == 'missing':
        (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_30.pth'))
    elif marker == 'truncated':  # a newer file cut short by a crash of a stock writer
        whole = (tmp_path / 'iter_20.pth').read_bytes()
        (tmp_path / 'iter_30.pth').write_bytes(whole[: len(whole) // 2])
        (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_30.pth'))
    else:
        (tmp_path / 'last_checkpoint').write_text('')
    assert repair_last_checkpoint(str(tmp_path)) == expected
    assert (tmp_path / 'last_checkpoint').read_text() == expected
    if marker == 'truncated':
        with pytest.raises(CheckpointLoadError):
            safe_torch_load(str(tmp_path / 'iter_30.pth'))


def test_repair_leaves_a_good_marker_alone(tmp_path):
    torch.save({'meta': {'iter': 10}}, tmp_path / 'iter_10.pth')
    torch.save({'meta': {'iter': 20}}, tmp_path / 'iter_20.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_10.pth'))
    assert repair_last_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_10.pth')
