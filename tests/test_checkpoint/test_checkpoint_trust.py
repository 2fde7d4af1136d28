"""Issue #21: trust patterns stay inside one path level; URL-name hashes are checked on
download and on every reuse of the cached file."""
from __future__ import annotations

import hashlib
import os

import pytest
import torch
from checkpoint_helpers import Payload, mmengine_like_checkpoint, serve
from mmengine.runner.checkpoint import _load_checkpoint

from mmaction_ext.checkpoint import CheckpointIntegrityError, UnsafeCheckpointError
from mmaction_ext.checkpoint.trust import TRUST_ENV, glob_match, is_trusted


@pytest.mark.parametrize('name,pattern,expected', [
    ('/ck/a.pth', '/ck/*.pth', True),
    ('/ck/downloads/evil.pth', '/ck/*.pth', False),   # fnmatch's * crosses '/': True
    ('/ck/downloads/evil.pth', '/ck/*/*.pth', True),
    ('/ck/.hidden.pth', '/ck/*.pth', False),           # as a shell: * skips dot names
    ('/ck/.hidden.pth', '/ck/.*.pth', True),
    ('/ck/a.pth', '/ck/a.pth', True),
    ('/ck/A.pth', '/ck/a.pth', False),
    ('https://h/m/x.pth', 'https://h/m/*.pth', True),
    ('https://h/m/evil/x.pth', 'https://h/m/*.pth', False),
])
def test_glob_match_is_per_level(name, pattern, expected):
    assert glob_match(name, pattern) is expected


def test_star_pattern_does_not_trust_a_subfolder_and_its_payload_does_not_run(
        tmp_path, monkeypatch):
    marker = tmp_path / 'PAYLOAD_RAN'
    (tmp_path / 'downloads').mkdir()
    evil = tmp_path / 'downloads' / 'evil.pth'
    torch.save({'x': Payload(str(marker))}, evil)
    monkeypatch.setenv(TRUST_ENV, f'{tmp_path}/*.pth')
    assert not is_trusted(str(evil))
    with pytest.raises(UnsafeCheckpointError, match='io.open'):
        _load_checkpoint(str(evil))
    assert not marker.exists()
    trusted = tmp_path / 'mine.pth'
    torch.save({'x': Payload(str(marker))}, trusted)
    _load_checkpoint(str(trusted))   # the pattern does cover its own level
    assert marker.exists()


@pytest.fixture
def served(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setattr(torch.hub, '_hub_dir', None)
    with serve(tmp_path) as (url, folder, marker):
        yield url, folder


def hashed_copy(folder, stem: str, data: bytes, digest: str | None = None) -> str:
    name = f'{stem}_20230510-{(digest or hashlib.sha256(data).hexdigest())[:8]}.pth'
    (folder / name).write_bytes(data)
    return name


def test_url_name_hash_checked_on_download_and_on_reuse(served, tmp_path):
    url, folder = served
    mmengine_like_checkpoint(tmp_path / 'a.pth')
    name = hashed_copy(folder, 'tsn', (tmp_path / 'a.pth').read_bytes())
    assert _load_checkpoint(f'{url}/{name}')['meta']['epoch'] == 2
    cached = tmp_path / 'torch_home' / 'hub' / 'checkpoints' / name
    assert cached.is_file()
    assert _load_checkpoint(f'{url}/{name}')['meta']['epoch'] == 2   # reused, checked
    # another valid checkpoint under the cached name: CRCs pass, the hash does not
    torch.save({'state_dict': {'w': torch.zeros(2)}}, cached)
    with pytest.raises(CheckpointIntegrityError) as err:
        _load_checkpoint(f'{url}/{name}')
    text = str(err.value)
    assert 'cached checkpoint' in text and str(cached) in text and f'rm {str(cached)!r}' in text


def test_url_name_hash_mismatch_on_download_caches_nothing(served, tmp_path):
    url, folder = served
    mmengine_like_checkpoint(tmp_path / 'a.pth')
    name = hashed_copy(folder, 'tsn', (tmp_path / 'a.pth').read_bytes(), digest='0' * 64)
    with pytest.raises(CheckpointIntegrityError, match='does not match the sha256 prefix'):
        _load_checkpoint(f'{url}/{name}')
    cache = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    assert not (cache / name).exists()
    assert [f for f in os.listdir(cache) if not f.startswith('.')] == []
