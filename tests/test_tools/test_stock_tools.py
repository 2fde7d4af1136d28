"""MMAction2's packaged analysis tools run on every project config.

``get_flops.py`` and ``browse_dataset.py`` take a clip shape and show videos: they run on
every video config; the temporal-segmentation configs (``configs/segmentation/``) read
per-frame feature arrays, which have neither.

``print_config.py``, ``get_flops.py`` and ``browse_dataset.py`` from the installed
``mmaction`` package (``mmaction/.mim/tools``), run as a user runs them, in a folder
holding small synthetic copies of each config's data at its default relative path.
"""
from __future__ import annotations

import glob
import os
import re
import runpy
import sys

import mmaction
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TOOLS = os.path.join(os.path.dirname(mmaction.__file__), '.mim', 'tools')
CONFIGS = sorted(os.path.relpath(p, REPO) for p in glob.glob(
    os.path.join(REPO, 'configs', '**', '*.py'), recursive=True) if '_base_' not in p)
TWO_D = {'configs/kth_tsn-r50_stock-mmaction.py'}
VIDEO_CONFIGS = [c for c in CONFIGS if not c.startswith('configs/segmentation/')]


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory) -> str:
    """Every config's default data folder, tiny and synthetic."""
    from mmaction_ext.synthetic import make_classification_dataset
    from mmaction_ext.synthetic.havid import make_havid_dataset
    from mmaction_ext.synthetic.kth import make_kth_tree
    root = str(tmp_path_factory.mktemp('tools'))
    data = os.path.join(root, 'data')
    make_classification_dataset(os.path.join(data, 'synthetic_demo'), num_classes=4,
                                videos_per_class={'train': 1, 'val': 1, 'test': 1},
                                num_frames=16, size=(64, 64))
    make_havid_dataset(os.path.join(data, 'synthetic_havid'), 'dual_hand', dict(lh=3, rh=4),
                       {'train': {'lh': 4, 'rh': 3}, 'val': {'lh': 1, 'rh': 1}})  # 12 per
    # hand: the model-selection config's 10% held-out part is then not empty
    os.symlink('synthetic_havid', os.path.join(data, 'havid'))
    make_kth_tree(os.path.join(data, 'kth'), num_frames=36, size=(48, 64), truncated=())
    os.symlink('kth', os.path.join(data, 'kth_synthetic'))
    return root


def _run_tool(tool: str, argv: list, monkeypatch, capsys) -> str:
    path = os.path.join(TOOLS, tool)
    monkeypatch.setattr(sys, 'argv', [path, *argv])
    runpy.run_path(path, run_name='__main__')
    return capsys.readouterr().out


@pytest.mark.parametrize('config', CONFIGS)
def test_print_config(config, monkeypatch, capsys):
    out = _run_tool('analysis_tools/print_config.py', [os.path.join(REPO, config)],
                    monkeypatch, capsys)
    assert 'model = dict(' in out and 'custom_imports' in out


@pytest.mark.slow
@pytest.mark.parametrize('config', VIDEO_CONFIGS)
def test_get_flops(config, monkeypatch, capsys):
    from mmengine.config import Config
    frames = Config.fromfile(os.path.join(REPO, config)).model.backbone.get('num_frames', 4)
    shape = ['1', '3', '32', '32'] if config in TWO_D else ['1', '3', str(frames), '32', '32']
    out = _run_tool('analysis_tools/get_flops.py', [os.path.join(REPO, config), '--shape',
                                                    *shape], monkeypatch, capsys)
    flops = re.search(r'Flops: ([\d.]+)([KMGT]?)', out)
    assert flops and float(flops.group(1)) > 0, out[-500:]


def _one_copy_options(config: str) -> list:
    """browse_dataset.py shows one sample per item: with repeated augmentation (a list of
    copies per item) docs/installation.md's remedy is
    ``--cfg-options ...pipeline.N.num_repeats=1``."""
    from mmengine.config import Config
    pipeline = Config.fromfile(os.path.join(REPO, config)).train_dataloader.dataset.pipeline
    index = [i for i, t in enumerate(pipeline) if t['type'] == 'RepeatAugment']
    return (['--cfg-options', f'train_dataloader.dataset.pipeline.{index[0]}.num_repeats=1']
            if index else [])


@pytest.mark.slow
@pytest.mark.parametrize('config', VIDEO_CONFIGS)
def test_browse_dataset(config, data_dir, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(data_dir)  # the configs' relative data paths resolve here
    out_dir = str(tmp_path / 'browse')
    _run_tool('visualizations/browse_dataset.py',
              [os.path.join(REPO, config), out_dir, '-n', '1', '-m', 'transformed',
               *_one_copy_options(config)], monkeypatch, capsys)
    written = glob.glob(os.path.join(out_dir, '**', '*.*'), recursive=True)
    assert any(p.endswith(('.mp4', '.gif', '.avi')) for p in written), written
