"""The one way in, attacked through the tools as a user would (subprocesses).

tools/test.py, tools/infer_video.py and tools/convert_checkpoint.py on the tiny demo
model: NaN weights, partial files, legacy files, a too-wide trust pattern and URL-name
hashes. Each refusal exits non-zero, names the file and the remedy, and prints no scores.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from checkpoint_helpers import Payload, serve
from test_trust_cli import REPO, run_test, setup  # noqa: F401  (setup is a fixture)

from mmaction_ext.synthetic import write_video

pytestmark = pytest.mark.slow


def run_tool(tool: str, *args: str, env: dict | None = None):
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'tools', tool), *args],
                          capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, 'OMP_NUM_THREADS': '1',
                               'PYTHONWARNINGS': 'ignore', **(env or {})})
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def files(setup):  # noqa: F811
    """Altered copies of the demo model's complete checkpoint, and a short video."""
    cfg, ckpt, tmp = setup
    full = torch.load(ckpt['full'], weights_only=True)
    sd = dict(full['state_dict'])
    nan = dict(sd)
    key = 'backbone.layers.1.attentions.0.attn.in_proj_weight'
    key = key if key in sd else sorted(k for k in sd if k.startswith('backbone.'))[5]
    nan[key] = sd[key].clone()
    nan[key].view(-1)[7] = float('nan')
    out = {'nan_key': key}
    torch.save({'state_dict': nan, 'meta': {}}, tmp / 'nan.pth')
    out['nan'] = str(tmp / 'nan.pth')
    torch.save(full, tmp / 'legacy.pth', _use_new_zipfile_serialization=False)
    out['legacy'] = str(tmp / 'legacy.pth')
    rng = np.random.default_rng(0)
    out['video'] = write_video(str(tmp / 'clip.mp4'),
                               rng.integers(0, 256, (24, 64, 64, 3), dtype=np.uint8))
    return out


def test_tools_test_refuses_nan_weights(setup, files):  # noqa: F811
    cfg, _, tmp = setup
    code, out = run_test(cfg, files['nan'], '--work-dir', str(tmp / 'c1'),
                         '--allow-partial-checkpoint')   # never overrides NaN
    assert code != 0
    assert 'NonFiniteWeightsError' in out and files['nan_key'] in out
    assert 'nan.pth' in out and 'use an earlier checkpoint' in out
    assert 'acc/top1' not in out


@pytest.mark.parametrize('case,message', [
    ('backbone', 'a backbone-only checkpoint?'),
    ('head5', 'cls_head: 5 classes in the file, 4 in the config'),
    ('nan', 'NonFiniteWeightsError'),
])
def test_infer_video_refuses_what_tools_test_refuses(setup, files, tmp_path, case,  # noqa: F811
                                                    message):
    cfg, ckpt, _ = setup
    path = files['nan'] if case == 'nan' else ckpt[case]
    code, out = run_tool('infer_video.py', cfg, path, files['video'], '--out-dir',
                         str(tmp_path / 'out'), '--no-progress')
    assert code != 0, out[-2000:]
    assert message in out and os.path.basename(path) in out
    assert 'Traceback' not in out   # one clear line, not a stack
    assert not (tmp_path / 'out' / 'clip' / 'frames.csv').exists()


def test_infer_video_partial_opt_in_runs_and_says_so(setup, files, tmp_path):  # noqa: F811
    cfg, ckpt, _ = setup
    code, out = run_tool('infer_video.py', cfg, ckpt['backbone'], files['video'],
                         '--out-dir', str(tmp_path / 'out'), '--no-progress',
                         '--allow-partial-checkpoint')
    assert code == 0, out[-2000:]
    assert 'USING A PARTIAL CHECKPOINT' in out
    assert (tmp_path / 'out' / 'clip' / 'frames.csv').is_file()


def test_legacy_file_refused_then_rewritten_by_the_converter(setup, files, tmp_path):  # noqa: F811
    """The remedy the refusal names works: convert_checkpoint writes zip; it evaluates."""
    cfg, _, _ = setup
    code, out = run_test(cfg, files['legacy'], '--work-dir', str(tmp_path / 'w1'))
    assert code != 0
    assert 'CheckpointIntegrityError' in out and 'legacy (non-zip) format' in out
    assert 'tools/convert_checkpoint.py' in out and 'acc/top1' not in out
    dst = str(tmp_path / 'rewritten.pth')
    code, out = run_tool('convert_checkpoint.py', files['legacy'], dst, '--config', cfg)
    assert code == 0, out[-2000:]
    assert 'legacy format' in out and f'wrote {dst}' in out
    code, out = run_test(cfg, dst, '--work-dir', str(tmp_path / 'w2'))
    assert code == 0, out[-3000:]
    assert 'acc/top1' in out


def test_legacy_file_with_sidecar_flipped_bit_is_refused(setup, files, tmp_path):  # noqa: F811
    cfg, _, _ = setup
    data = bytearray(open(files['legacy'], 'rb').read())
    path = tmp_path / 'legacy.pth'
    (tmp_path / 'legacy.pth.sha256').write_text(hashlib.sha256(data).hexdigest() + '\n')
    data[-3] ^= 0x04   # the last weight's bytes: torch.load alone would not notice
    path.write_bytes(bytes(data))
    code, out = run_test(cfg, str(path), '--work-dir', str(tmp_path / 'w'))
    assert code != 0
    assert 'does not match its checksum file' in out and 'acc/top1' not in out


def test_trust_pattern_does_not_reach_a_subfolder(setup, tmp_path):  # noqa: F811
    cfg, _, _ = setup
    marker = tmp_path / 'PAYLOAD_RAN'
    (tmp_path / 'downloads').mkdir()
    evil = tmp_path / 'downloads' / 'evil.pth'
    torch.save({'state_dict': {}, 'x': Payload(str(marker))}, evil)
    code, out = run_test(cfg, str(evil), '--work-dir', str(tmp_path / 'w'),
                         env={'MMACTION_EXT_TRUSTED_CHECKPOINTS': f'{tmp_path}/*.pth'})
    assert code != 0
    assert not marker.exists()
    assert 'UnsafeCheckpointError' in out and str(evil) in out


def test_url_name_hash_checked_on_download_and_on_cached_reuse(setup, tmp_path):  # noqa: F811
    cfg, ckpt, _ = setup
    data = open(ckpt['full'], 'rb').read()
    good = f'demo_20230510-{hashlib.sha256(data).hexdigest()[:8]}.pth'
    home = tmp_path / 'torch_home'
    with serve(tmp_path) as (url, folder, _):
        (folder / 'demo_20230510-00000000.pth').write_bytes(data)
        code, out = run_test(cfg, f'{url}/demo_20230510-00000000.pth',
                             '--work-dir', str(tmp_path / 'w1'), env={'TORCH_HOME': str(home)})
        assert code != 0
        assert 'CheckpointIntegrityError' in out and 'does not match the sha256 prefix' in out
        cache = home / 'hub' / 'checkpoints'
        assert not (cache / 'demo_20230510-00000000.pth').exists()
        # a cached copy under the good name that is not the published file
        cache.mkdir(parents=True, exist_ok=True)
        torch.save(torch.load(ckpt['head5'], weights_only=True), cache / good)
        (folder / good).write_bytes(data)
        code, out = run_test(cfg, f'{url}/{good}', '--work-dir', str(tmp_path / 'w2'),
                             env={'TORCH_HOME': str(home)})
    assert code != 0
    assert 'cached checkpoint' in out and f"rm '{cache / good}'" in out
    assert 'acc/top1' not in out
