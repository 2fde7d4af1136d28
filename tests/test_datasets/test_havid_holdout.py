"""HAViDHoldoutDataset: a held-out part of the training lists for model selection."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from mmengine.registry import init_default_scope

from mmaction_ext.datasets import HAViDDataset, HAViDHoldoutDataset

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
NUM_CLASSES = dict(lh=3, rh=4)


@pytest.fixture(autouse=True)
def scope():
    init_default_scope('mmaction')


def _files(dataset):
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert infos
    return {(d['hand'], d['filename']) for d in infos}


def _part(root, part, **kwargs):
    return HAViDHoldoutDataset(data_root=root, split='train', pipeline=[],
                               num_classes=NUM_CLASSES, part=part, **kwargs)


def test_parts_are_disjoint_cover_the_list_and_hold_out_per_hand(tiny_havid):
    full = HAViDDataset(data_root=tiny_havid, split='train', pipeline=[],
                        num_classes=NUM_CLASSES)
    train, held = (_part(tiny_havid, p, holdout_fraction=0.5) for p in ('train', 'heldout'))
    assert not _files(train) & _files(held)
    assert _files(train) | _files(held) == _files(full)
    counts = full.metainfo['hand_counts']                       # lh 6, rh 4
    assert held.metainfo['hand_counts'] == {h: round(0.5 * n) for h, n in counts.items()}
    assert train.metainfo['hand_counts'] == {h: n - round(0.5 * n) for h, n in counts.items()}
    assert {h: len(i) for h, i in held.hand_indices().items()} == held.metainfo['hand_counts']
    # the same seed gives the same choice; another seed another one
    assert _files(_part(tiny_havid, 'heldout', holdout_fraction=0.5)) == _files(held)
    others = [_files(_part(tiny_havid, 'heldout', holdout_fraction=0.5, holdout_seed=s))
              for s in range(1, 6)]
    assert any(o != _files(held) for o in others)


@pytest.mark.parametrize('kwargs, message', [
    (dict(part='test'), 'part must be one of'),
    (dict(holdout_fraction=1.5), r'holdout_fraction must be in \(0, 1\)'),
    (dict(holdout_fraction=0.01), "hand 'lh' has 6 clips"),
])
def test_bad_holdout_options_say_what_to_change(tiny_havid, kwargs, message):
    kwargs.setdefault('part', 'train')
    with pytest.raises(ValueError, match=message):
        _part(tiny_havid, **kwargs)


@pytest.mark.slow  # a subprocess or a whole run: over 5 s
def test_bad_fraction_through_the_cli(tiny_havid, tmp_path):
    """tools/train.py on the model-selection config: the error names the option."""
    config = os.path.join(REPO, 'configs/havid_alternating_model-selection.py')
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools/train.py'), config,
         '--work-dir', str(tmp_path / 'w'), '--cfg-options', f'data_root={tiny_havid}',
         'train_dataloader.dataset.holdout_fraction=2', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False', 'model.backbone.pretrained=None'],
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert 'holdout_fraction must be in (0, 1)' in proc.stdout + proc.stderr
