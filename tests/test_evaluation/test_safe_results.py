"""Result dumps are read with an allow-list unpickler: a payload is refused, real dumps load."""
from __future__ import annotations

import importlib.util
import os
import pickle

import mmengine
import numpy as np
import pytest
import torch

from mmaction_ext.checkpoint.safe_load import TRUST_ENV
from mmaction_ext.evaluation.safe_results import UnsafeResultsError, load_results

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


class Payload:
    """Unpickles as ``open(marker, 'w')``: code that runs when the dump is read."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, 'w')


def analyze_tool():
    spec = importlib.util.spec_from_file_location(
        'analyze_results', os.path.join(REPO, 'tools', 'analyze_results.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def sample(i: int) -> dict:
    """One entry as MMEngine's DumpResults stores it (ActionDataSample.to_dict())."""
    return dict(pred_score=torch.softmax(torch.randn(3), 0), pred_label=torch.tensor([i % 3]),
                gt_label=torch.tensor([i % 3]), img_shape=(64, 64), filename=f'v{i}.avi',
                sample_idx=i, num_classes=3, arr=np.arange(2), score=np.float32(0.5))


def test_stock_loader_runs_the_payload(tmp_path):
    """The upstream symptom: mmengine.load unpickles anything."""
    marker = tmp_path / 'RAN'
    mmengine.dump([Payload(str(marker))], str(tmp_path / 'r.pkl'))
    mmengine.load(str(tmp_path / 'r.pkl'))
    assert marker.exists()


def test_payload_refused_by_the_tool_naming_the_global_and_remedy(tmp_path):
    marker = tmp_path / 'RAN'
    dump = tmp_path / 'results.pkl'
    mmengine.dump([sample(0), {'x': Payload(str(marker))}], str(dump))
    with pytest.raises(SystemExit) as err:
        analyze_tool().main([str(dump), '--out-dir', str(tmp_path / 'a')])
    assert not marker.exists()
    assert '`io.open`' in str(err.value) and '--dump FILE' in str(err.value)
    assert f'{TRUST_ENV}=' in str(err.value)


def test_trusted_dump_loads_unrestricted(tmp_path, monkeypatch):
    marker = tmp_path / 'RAN'
    dump = tmp_path / 'mine.pkl'
    mmengine.dump([Payload(str(marker))], str(dump))
    monkeypatch.setenv(TRUST_ENV, str(dump))
    load_results(str(dump))
    assert marker.exists()


@pytest.mark.parametrize('protocol', [2, 4, 5])
def test_real_dumps_load_in_every_protocol(tmp_path, protocol):
    results = [sample(i) for i in range(4)]
    dump = tmp_path / 'r.pkl'
    with open(dump, 'wb') as f:
        pickle.dump(results, f, protocol=protocol)
    loaded = load_results(str(dump))
    for a, b in zip(results, loaded):
        assert torch.equal(a['pred_score'], b['pred_score']) and a['filename'] == b['filename']
        np.testing.assert_array_equal(a['arr'], b['arr'])


def test_truncated_dump_is_a_clear_error(tmp_path):
    dump = tmp_path / 'r.pkl'
    mmengine.dump([sample(i) for i in range(4)], str(dump))
    dump.write_bytes(dump.read_bytes()[:200])
    with pytest.raises(UnsafeResultsError, match='not a readable result dump.*truncated'):
        load_results(str(dump))


class Smuggle:
    """Pickles as torch's ``_load_from_bytes(bytes)``, whose bytes hold a payload."""

    def __init__(self, inner: bytes):
        self.inner = inner

    def __reduce__(self):
        return torch.storage._load_from_bytes, (self.inner,)


def test_payload_inside_tensor_storage_bytes_is_not_run(tmp_path):
    """torch's own _load_from_bytes uses full pickle; the allow-list maps it to weights_only."""
    marker = tmp_path / 'RAN'
    inner = tmp_path / 'inner.pt'
    torch.save({'x': Payload(str(marker))}, inner)
    dump = tmp_path / 'r.pkl'
    mmengine.dump([{'pred_score': Smuggle(inner.read_bytes())}], str(dump))
    with pytest.raises(UnsafeResultsError):
        load_results(str(dump))
    assert not marker.exists()
