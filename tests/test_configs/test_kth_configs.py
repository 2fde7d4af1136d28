"""The real-data KTH configs: overridable checkpoint, datasets and pipelines on a KTH-named
tree, the layer-decay recipe; and the stock TSN config with KTHDataset swapped in."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmaction_ext.synthetic.kth import make_kth_tree

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
REAL_CONFIGS = {'configs/kth_amd_vit-s_k400.py': ('s', 384, 'vit_s_k400_ft.pth'),
                'configs/kth_videomaev2_vit-b.py': ('b', 768, 'vit_b_k710_dl_from_giant.pth')}
DECODABLE = {'person11_boxing_d1', 'person19_handwaving_d2', 'person22_walking_d4'}
OFFICIAL = {'train': {11, 12, 13, 14, 15, 16, 17, 18}, 'val': {19, 20, 21, 23, 24, 25, 1, 4},
            'test': {22, 2, 3, 5, 6, 7, 8, 9, 10}}


@pytest.fixture(scope='module')
def tree(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('kth'))
    make_kth_tree(root, decodable=DECODABLE, num_frames=40)
    return root


def _subsequences(root: str, persons: set) -> int:
    """Sub-sequences of these persons, counted from the sequences file's raw text."""
    total = 0
    with open(os.path.join(root, '00sequences.txt')) as f:
        for line in f:
            match = re.match(r'person(\d\d)\S*\s+frames\s+(.*)', line.strip())
            if match and int(match.group(1)) in persons:
                total += len(re.findall(r'\d+-\d+', match.group(2)))
    return total


def _pointed_at(config: str, root: str) -> Config:
    cfg = Config.fromfile(os.path.join(REPO, config))
    options = {}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options[f'{loader}.dataset.data_prefix.video'] = root
        options[f'{loader}.dataset.sequences_file'] = os.path.join(root, '00sequences.txt')
    cfg.merge_from_dict(options)
    return cfg


@pytest.mark.parametrize('config', sorted(REAL_CONFIGS))
def test_checkpoint_path_is_stated_and_overridable(config):
    arch, dims, checkpoint = REAL_CONFIGS[config]
    with open(os.path.join(REPO, config)) as f:
        head = ''.join(f.readlines()[:8])
    assert checkpoint in head and '--cfg-options load_from=' in head
    cfg = Config.fromfile(os.path.join(REPO, config))
    assert cfg.load_from.endswith(checkpoint)
    cfg.merge_from_dict({'load_from': '/elsewhere/ckpt.pth'})
    assert cfg.load_from == '/elsewhere/ckpt.pth'
    assert cfg.model.backbone.type == 'MAEVisionTransformer'
    assert (cfg.model.backbone.arch, cfg.model.cls_head.in_channels) == (arch, dims)
    assert cfg.model.type == 'ViTRecognizer3D'
    assert cfg.train_cfg.val_interval == 1
    assert cfg.default_hooks.checkpoint.save_best == 'acc/top1'


@pytest.mark.parametrize('config', sorted(REAL_CONFIGS))
def test_datasets_and_pipelines(config, tree):
    from mmaction.registry import DATASETS
    init_default_scope('mmaction')
    cfg = _pointed_at(config, tree)
    datasets = {split: DATASETS.build(cfg[f'{split}_dataloader'].dataset)
                for split in ('train', 'val', 'test')}
    for split, dataset in datasets.items():
        assert len(dataset) == _subsequences(tree, OFFICIAL[split])
        assert {dataset.get_data_info(i)['person'] for i in range(len(dataset))} == \
            OFFICIAL[split]
    checks = (('train', 'person11_boxing_d1', (1, 3, 16, 224, 224)),
              ('test', 'person22_walking_d4', (15, 3, 16, 224, 224)))  # 5 clips x 3 crops
    for split, video_id, shape in checks:
        dataset = datasets[split]
        index = next(i for i in range(len(dataset))
                     if dataset.get_data_info(i)['video_id'] == video_id)
        packed = dataset[index]
        if split == 'train':  # repeated augmentation: two copies of the clip
            assert isinstance(packed, list) and len(packed) == 2
            packed = packed[0]
        assert tuple(packed['inputs'].shape) == shape
        assert packed['data_samples'].metainfo['person'] == int(video_id[6:8])


def test_layer_decay_groups_follow_recipe():
    from mmaction.registry import MODELS
    from mmengine.optim import build_optim_wrapper
    if 'MAEVisionTransformer' not in MODELS.module_dict:
        pytest.skip('MAEVisionTransformer (ViT-loader issue) is not registered')
    init_default_scope('mmaction')
    cfg = Config.fromfile(os.path.join(REPO, 'configs/kth_amd_vit-s_k400.py'))
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base = 1e-3 * 16 / 256
    lrs = {}
    for group in wrapper.optimizer.param_groups:
        for name in group['param_names']:
            lrs[name] = (group['lr'], group['weight_decay'])
    assert lrs['backbone.patch_embed.projection.weight'][0] == pytest.approx(base * 0.75 ** 13)
    assert lrs['backbone.blocks.0.mlp.layers.0.0.weight'][0] == pytest.approx(base * 0.75 ** 12)
    assert lrs['backbone.blocks.11.attn.qkv.weight'] == pytest.approx((base * 0.75, 0.05))
    assert lrs['backbone.blocks.11.attn.q_bias'] == pytest.approx((base * 0.75, 0.0))
    assert lrs['cls_head.fc_cls.weight'] == pytest.approx((base, 0.05))


@pytest.mark.slow
def test_stock_tsn_config_with_kth_trains(tmp_path):
    """A stock MMAction2 recognizer config (mmaction::...) trains on KTHDataset."""
    root = str(tmp_path / 'kth')
    make_kth_tree(root, persons=[11, 19], scenarios=['d1'], num_frames=24)
    # Stock model and schedule; ResNet-18 instead of 50 and whole videos keep it quick.
    options = ['model.backbone.pretrained=None', 'model.backbone.depth=18',
               'model.cls_head.in_channels=512', 'train_cfg.max_epochs=1',
               'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1']
    for loader, person in (('train_dataloader', 11), ('val_dataloader', 19)):
        options += [f'{loader}.dataset.data_prefix.video={root}',
                    f'{loader}.dataset.sequences_file=None',
                    f'{loader}.dataset.persons={person}', f'{loader}.dataset.scenarios=[d1]',
                    f'{loader}.batch_size=2', f'{loader}.num_workers=0',
                    f'{loader}.persistent_workers=False']
    work = str(tmp_path / 'work')
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', 'configs/kth_tsn-r50_stock-mmaction.py',
         '--work-dir', work, '--cfg-options', *options],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'})
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    losses = [float(x) for x in re.findall(r'Epoch\(train\).*?\sloss: ([0-9.]+)', log)]
    assert len(losses) == 3  # 6 videos, batch 2, logged every iteration
    assert re.search(r'Epoch\(val\).*acc/top1: [0-9.]+', log)
    assert os.path.isfile(os.path.join(work, 'epoch_1.pth'))
    assert "'type': 'KTHDataset'" in log or "type='KTHDataset'" in log
