"""Remote checkpoints (every MMEngine scheme) load like local files: weights_only + allow-list.

A local ``http.server`` serves a pickle payload that would create a marker file when
unpickled, and a benign MMEngine-style checkpoint.
"""
from __future__ import annotations

import logging
import os
import sys
import types

import pytest
import torch
from checkpoint_helpers import mmengine_like_checkpoint, serve
from mmengine.logging import MMLogger
from mmengine.runner import checkpoint as mm_ckpt
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from mmaction_ext.checkpoint import (
    CheckpointLoadError,
    CheckpointNotFoundError,
    UnsafeCheckpointError,
    local_formats,
    remote_load,
    safe_torch_load,
)
from mmaction_ext.checkpoint.safe_load import TRUST_ENV


@pytest.fixture
def server(tmp_path, monkeypatch):
    """:func:`serve`, with torch's hub cache under tmp_path."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setattr(torch.hub, '_hub_dir', None)
    with serve(tmp_path) as served:
        yield served


def test_stock_http_download_runs_the_payload(server, tmp_path):
    """The upstream symptom: what MMEngine's http loader calls (torch.hub,
    weights_only=False) runs a served payload."""
    url, _, marker = server
    torch.hub.load_state_dict_from_url(f'{url}/evil.pth', model_dir=str(tmp_path / 'stock'),
                                       weights_only=False)
    assert marker.exists()


def test_mmengine_own_http_loader_is_safe_even_called_directly(server, tmp_path):
    """Intended change: the seam is what MMEngine's loaders call, so its own function,
    not only the registered scheme, refuses the payload."""
    url, _, marker = server
    with pytest.raises(UnsafeCheckpointError, match='io.open'):
        mm_ckpt.load_from_http(f'{url}/evil.pth', model_dir=str(tmp_path / 'direct'))
    assert not marker.exists()


def test_http_payload_refused_naming_the_global(server):
    url, _, marker = server
    with pytest.raises(UnsafeCheckpointError) as err:
        _load_checkpoint(f'{url}/evil.pth', map_location='cpu')
    assert not marker.exists()
    assert '`io.open`' in str(err.value)
    assert f'{url}/evil.pth' in str(err.value) and TRUST_ENV in str(err.value)


def test_http_benign_checkpoint_loads_and_trust_opt_in_takes_the_url(server, monkeypatch):
    url, _, marker = server
    loaded = _load_checkpoint(f'{url}/good.pth', map_location='cpu')
    assert torch.equal(loaded['state_dict']['w'], torch.arange(4.0))
    assert loaded['message_hub']['log_scalars']['train/loss'].mean() == 0.5
    # the one explicit opt-in: the URL (its ':' do not split the list) or the cached file
    monkeypatch.setenv(TRUST_ENV, f'/nowhere/a.pth:{url}/evil.pth')
    assert torch.equal(_load_checkpoint(f'{url}/evil.pth')['state_dict']['w'], torch.ones(2))
    assert marker.exists()


def test_remote_schemes_stay_mmengines_own_and_read_through_the_seam():
    """No copied loaders: every remote prefix keeps MMEngine's function; what they call
    (their module's ``torch.load`` and ``load_url``) is the safe loader."""
    for prefix, loader in CheckpointLoader._schemes.items():
        if prefix == '':
            # the local scheme dispatches torch files (through safe_load.safe_torch_load),
            # safetensors and Hugging Face folders
            assert loader is local_formats.load_from_local
        else:
            assert loader is getattr(mm_ckpt, loader.__name__), (prefix, loader)
            assert loader.__module__ == 'mmengine.runner.checkpoint'
    assert mm_ckpt.torch.load is remote_load._load_via_mmengine
    assert mm_ckpt.torch.save is torch.save  # everything else is torch's
    assert mm_ckpt.load_url is remote_load.safe_load_url
    assert (CheckpointLoader._get_checkpoint_loader('open-mmlab:s3://b/x.pth')
            is mm_ckpt.load_from_ceph)


@pytest.mark.parametrize('scheme,table', [
    ('torchvision://', 'get_torchvision_models'),
    ('modelzoo://', 'get_torchvision_models'),
    ('open-mmlab://', 'get_external_models'),
    ('openmmlab://', 'get_external_models'),
    ('mmcls://', 'get_mmcls_models'),
])
def test_model_zoo_names_resolve_to_the_safe_http_loader(server, monkeypatch, scheme, table):
    url, _, marker = server
    monkeypatch.setattr(mm_ckpt, table, lambda: {'evil_net': f'{url}/evil.pth'})
    with pytest.raises(UnsafeCheckpointError, match='io.open'):
        _load_checkpoint(f'{scheme}evil_net')
    assert not marker.exists()


def test_s3_and_pavi_bytes_go_through_the_allow_list(server, monkeypatch):
    _, served, marker = server
    payload = (served / 'evil.pth').read_bytes()

    class Backend:
        def get(self, name):
            return payload
    monkeypatch.setattr(mm_ckpt, 'get_file_backend', lambda *a, **k: Backend())
    with pytest.raises(UnsafeCheckpointError, match='s3://bucket/evil.pth'):
        _load_checkpoint('s3://bucket/evil.pth')

    class Model:
        name = 'evil.pth'

        def download(self, path):
            with open(path, 'wb') as f:
                f.write(payload)
    pavi = types.ModuleType('pavi')
    pavi.modelcloud = types.SimpleNamespace(get=lambda name: Model())
    monkeypatch.setitem(sys.modules, 'pavi', pavi)
    with pytest.raises(UnsafeCheckpointError, match='pavi://team/evil'):
        _load_checkpoint('pavi://team/evil')
    assert not marker.exists()


def test_log_line_names_the_backend_as_mmengine_does(tmp_path):
    path = tmp_path / 'good.pth'
    mmengine_like_checkpoint(path)
    logger = MMLogger.get_instance('remote_ckpt_log_test', log_level='INFO')
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        _load_checkpoint(str(path), logger='remote_ckpt_log_test')
    finally:
        logger.removeHandler(handler)
    assert any(r.getMessage() == f'Loads checkpoint by local backend from path: {path}'
               for r in records), [r.getMessage() for r in records]


def test_missing_file_is_a_file_not_found_error_with_the_projects_message(tmp_path):
    with pytest.raises(FileNotFoundError, match='checkpoint not found') as err:
        _load_checkpoint(str(tmp_path / 'absent.pth'))
    assert isinstance(err.value, CheckpointNotFoundError)
    assert isinstance(err.value, CheckpointLoadError)
    with pytest.raises(FileNotFoundError, match='is a directory'):
        safe_torch_load(str(tmp_path))
    assert os.path.isdir(tmp_path)
