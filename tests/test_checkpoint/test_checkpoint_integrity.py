"""Every format is checked before it is unpickled: zip CRCs, and for legacy (non-zip)
torch files a sidecar or name sha256, else a refusal that names the remedies."""
from __future__ import annotations

import hashlib
import io

import pytest
import torch

from mmaction_ext.checkpoint import CheckpointIntegrityError, CheckpointLoadError, safe_torch_load
from mmaction_ext.checkpoint.integrity import name_hash, verify_integrity


def legacy(path, value: float = 1.5) -> bytes:
    """A torch file in the pre-1.6 (non-zip) format; returns its bytes."""
    torch.save({'state_dict': {'w': torch.full((64,), value)}}, path,
               _use_new_zipfile_serialization=False)
    return path.read_bytes()


def flip_last_tensor_byte(path) -> None:
    """Legacy files end with the raw storage bytes: flip one bit of the last float."""
    data = bytearray(path.read_bytes())
    data[-2] ^= 0x01
    path.write_bytes(bytes(data))


def test_flipped_bit_in_a_legacy_file_loads_silently_under_plain_torch(tmp_path):
    """The defect: no checksum, so the wrong weight is read without a word."""
    path = tmp_path / 'old.pth'
    legacy(path)
    flip_last_tensor_byte(path)
    w = torch.load(path, weights_only=True)['state_dict']['w']
    assert w[-1] != 1.5 and torch.equal(w[:-1], torch.full((63,), 1.5))


def test_legacy_file_without_checksum_is_refused_with_the_remedies(tmp_path):
    path = tmp_path / 'old.pth'
    legacy(path)
    with pytest.raises(CheckpointIntegrityError) as err:
        safe_torch_load(str(path))
    text = str(err.value)
    assert str(path) in text and 'legacy (non-zip) format' in text
    assert 'tools/convert_checkpoint.py' in text and f'{path}.sha256' in text


def test_legacy_file_with_a_sidecar_loads_and_a_flipped_bit_is_caught(tmp_path):
    path = tmp_path / 'old.pth'
    data = legacy(path)
    (tmp_path / 'old.pth.sha256').write_text(
        f'{hashlib.sha256(data).hexdigest()}  old.pth\n')  # sha256sum's format
    assert torch.equal(safe_torch_load(str(path))['state_dict']['w'], torch.full((64,), 1.5))
    flip_last_tensor_byte(path)
    with pytest.raises(CheckpointIntegrityError, match=r'does not match its checksum file'):
        safe_torch_load(str(path))


def test_legacy_file_named_with_its_sha256_prefix(tmp_path):
    tmp = tmp_path / 'tmp.pth'
    data = legacy(tmp)
    good = tmp_path / f'resnet-{hashlib.sha256(data).hexdigest()[:8]}.pth'
    good.write_bytes(data)
    assert safe_torch_load(str(good))['state_dict']['w'][0] == 1.5
    bad = tmp_path / 'resnet-0123abcd.pth'
    bad.write_bytes(data)
    with pytest.raises(CheckpointIntegrityError, match='sha256 prefix in its name'):
        safe_torch_load(str(bad))


def test_zip_file_damage_is_an_integrity_error(tmp_path):
    path = tmp_path / 'new.pth'
    torch.save({'w': torch.full((4096,), 2.0)}, path)
    data = bytearray(path.read_bytes())
    index = data.index(torch.full((4096,), 2.0).numpy().tobytes()[:64]) + 100
    data[index] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointIntegrityError, match='is damaged'):
        safe_torch_load(str(path))


def test_an_in_memory_legacy_file_is_named_by_its_uri():
    buffer = io.BytesIO()
    torch.save({'w': torch.ones(2)}, buffer, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointIntegrityError, match='s3://bucket/old.pth'):
        safe_torch_load(buffer, source='s3://bucket/old.pth')


def test_not_a_torch_file_is_not_called_legacy(tmp_path):
    path = tmp_path / 'notes.pth'
    path.write_text('text')
    assert 'not a torch file' in verify_integrity(str(path), str(path))
    with pytest.raises(CheckpointLoadError, match='not a readable torch checkpoint'):
        safe_torch_load(str(path))


@pytest.mark.parametrize('name,expected', [
    ('tsn_r50_20230510-3e7f93b2.pth', '3e7f93b2'),
    ('https://x.org/a/resnet50-0676ba61.pth?dl=1', '0676ba61'),
    ('vit-b.pth', None),                # too short to be a hash
    ('epoch_12.pth', None),
    ('model-deadbeefcafe.pth', 'deadbeefcafe'),
])
def test_name_hash(name, expected):
    assert name_hash(name) == expected
