"""``--cfg-options data_root=DIR`` moves every dataset path of the project's configs."""
from __future__ import annotations

import os

import pytest
from mmengine.config import Config

from mmaction_ext.engine.runner.data_root_runner import DataRootRunner, apply_data_path_overrides

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def _load(name, **options):
    cfg = Config.fromfile(os.path.join(REPO, 'configs', name))
    cfg.merge_from_dict(options)  # what tools/train.py does with --cfg-options
    return cfg


def _strings(node):
    if isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)
    elif isinstance(node, str):
        yield node


def _data_paths(cfg):
    out = []
    for split in ('train', 'val', 'test'):
        ds = cfg[f'{split}_dataloader']['dataset']
        out += [s for s in _strings(ds) if '/' in s or s.startswith('data')]
    return out


def test_without_override_nothing_changes():
    cfg = _load('kth_amd_vit-s_k400.py')
    before = cfg.to_dict()
    assert apply_data_path_overrides(cfg) == []
    assert cfg.to_dict() == before


def test_stock_mmengine_ignores_the_override():
    """The upstream symptom: the variable changes, the datasets do not."""
    cfg = _load('kth_amd_vit-s_k400.py', data_root='/new/kth')
    assert cfg.data_root == '/new/kth'
    assert cfg.train_dataloader.dataset.data_prefix.video == 'data/kth'


@pytest.mark.parametrize('name', ['kth_amd_vit-s_k400.py', 'kth_videomaev2_vit-b.py',
                                  'kth_tsn-r50_stock-mmaction.py',
                                  'demo/vit-tiny_synthetic-motion.py'])
def test_one_override_moves_every_data_path(name):
    cfg = _load(name, data_root='/new/root')
    old_root = Config.fromfile(os.path.join(REPO, 'configs', name)).data_root
    changed = apply_data_path_overrides(cfg)
    paths = _data_paths(cfg)
    assert changed and all(not p.startswith(old_root) for p in paths), paths
    assert any(p.startswith('/new/root') for p in paths)
    if 'kth_' in name and 'demo' not in name:
        for split in ('train', 'val', 'test'):
            ds = cfg[f'{split}_dataloader'].dataset
            assert ds.data_prefix.video == '/new/root'
            assert ds.sequences_file == '/new/root/00sequences.txt'


def test_havid_data_root_and_explicit_sequences_file():
    cfg = _load('havid_alternating.py', data_root='/d/havid')
    apply_data_path_overrides(cfg)
    assert {cfg[f'{s}_dataloader'].dataset.data_root for s in ('train', 'val', 'test')} == {
        '/d/havid'}
    cfg = _load('kth_amd_vit-s_k400.py', data_root='/new/kth', sequences_file='/meta/seq.txt')
    apply_data_path_overrides(cfg)
    assert cfg.train_dataloader.dataset.sequences_file == '/meta/seq.txt'
    assert cfg.train_dataloader.dataset.data_prefix.video == '/new/kth'


def test_an_explicit_dataset_override_is_kept():
    cfg = _load('kth_amd_vit-s_k400.py', data_root='/new/kth',
                **{'test_dataloader.dataset.data_prefix.video': '/elsewhere'})
    apply_data_path_overrides(cfg)
    assert cfg.test_dataloader.dataset.data_prefix.video == '/elsewhere'
    assert cfg.val_dataloader.dataset.data_prefix.video == '/new/kth'


def test_project_configs_use_the_runner(tmp_path):
    cfg = _load('demo/vit-tiny_synthetic-motion.py', data_root=str(tmp_path / 'moved'),
                work_dir=str(tmp_path / 'work'))
    assert cfg.runner_type == 'DataRootRunner'
    runner = DataRootRunner.from_cfg(cfg)
    assert runner._train_dataloader['dataset']['ann_file'] == str(
        tmp_path / 'moved' / 'train_list.txt')
    assert cfg.train_dataloader.dataset.ann_file == 'data/synthetic_demo/train_list.txt'
