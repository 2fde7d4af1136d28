"""Checkpoints load under weights_only with an exact allow-list, and nothing else does."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from checkpoint_helpers import mmengine_like_checkpoint
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from mmaction_ext.checkpoint import CheckpointLoadError, UnsafeCheckpointError, safe_torch_load
from mmaction_ext.checkpoint.safe_load import TRUST_ENV


class Marker:
    """A class outside the allow-list (as any code-carrying pickle would be)."""

    def __init__(self, value=1):
        self.value = value


def test_plain_torch_load_rejects_mmengine_checkpoints(tmp_path):
    """The upstream symptom: torch>=2.6's default cannot read MMEngine's own files."""
    path = tmp_path / 'iter_10.pth'
    mmengine_like_checkpoint(path)
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(path)


def test_safe_load_reads_mmengine_checkpoints(tmp_path):
    path = tmp_path / 'iter_10.pth'
    mmengine_like_checkpoint(path)
    for loaded in (safe_torch_load(str(path)), _load_checkpoint(str(path))):
        assert torch.equal(loaded['state_dict']['w'], torch.arange(4.0))
        assert loaded['meta']['seed'] == 3
        assert loaded['message_hub']['log_scalars']['train/loss'].mean() == 0.5
        np.testing.assert_array_equal(loaded['message_hub']['runtime_info']['arr'],
                                      np.arange(3))


def test_unlisted_global_refused_with_its_name_and_the_opt_in(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'x': Marker()}, path)
    with pytest.raises(UnsafeCheckpointError) as err:
        safe_torch_load(str(path))
    assert 'test_safe_load.Marker' in str(err.value)
    assert TRUST_ENV in str(err.value)


def test_trusted_opt_in_is_explicit_per_file(tmp_path, monkeypatch):
    path, other = tmp_path / 'trusted.pth', tmp_path / 'other.pth'
    torch.save({'x': Marker(7)}, path)
    torch.save({'x': Marker(8)}, other)
    monkeypatch.setenv(TRUST_ENV, str(path))
    assert safe_torch_load(str(path))['x'].value == 7
    with pytest.raises(UnsafeCheckpointError):
        safe_torch_load(str(other))


class _GetattrEscape:
    """Pickles as getattr(HistoryBuffer, 'mro'): the allow-listed name, a forbidden use."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, 'mro')


def test_getattr_only_reaches_history_buffer_statistics(tmp_path):
    path = tmp_path / 'escape.pth'
    torch.save({'x': _GetattrEscape()}, path)
    with pytest.raises(CheckpointLoadError, match='mro'):
        safe_torch_load(str(path))


def test_missing_and_corrupt_files_get_clear_errors(tmp_path):
    with pytest.raises(CheckpointLoadError, match='checkpoint not found'):
        safe_torch_load(str(tmp_path / 'absent.pth'))
    junk = tmp_path / 'notes.pth'
    junk.write_text('not a checkpoint')
    with pytest.raises(CheckpointLoadError, match='notes.pth'):
        safe_torch_load(str(junk))
    whole = tmp_path / 'whole.pth'
    mmengine_like_checkpoint(whole)
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(whole.read_bytes()[: os.path.getsize(whole) // 2])
    with pytest.raises(CheckpointLoadError, match='truncated.pth'):
        safe_torch_load(str(truncated))
