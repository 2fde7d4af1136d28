"""The fine-tuning recipe: RandAugment per clip, repeated augmentation, the real configs.

- ``VideoRandAugment``: every frame of a clip gets the same timm ops and magnitudes, the
  magnitudes follow ``rand-m7-n4-mstd0.5-inc1`` (drawn values, not just attributes);
- ``RepeatAugment`` with ``HAViDDataset`` and ``AlternatingHandBatchSampler``: each clip
  ``num_repeats`` times per epoch, differently augmented, the per-hand alternation the
  same as without repeats, on one rank and on two;
- the real-data configs carry the recipe, build, and train briefly on synthetic data.
"""
from __future__ import annotations

import copy
import os
import random
from collections import Counter
from unittest import mock

import numpy as np
import pytest
import torch
from mmaction.registry import TRANSFORMS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmaction_ext.datasets.samplers import hand_batch_sampler as hbs

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
RECIPE = 'rand-m7-n4-mstd0.5-inc1'
NUM_CLASSES = dict(lh=3, rh=4)


@pytest.fixture(autouse=True)
def scope():
    init_default_scope('mmaction')


def _clip(frames=4, size=24, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(frames)]


def _record_ops(transform):
    """Wrap each timm op's function: log (op name, its arguments) per call."""
    calls = []
    for op in transform.rand_augment.ops:
        def logged(img, *args, _fn=op.aug_fn, _name=op.name, **kwargs):
            calls.append((_name, args, tuple(sorted(kwargs.items()))))
            return _fn(img, *args, **kwargs)
        op.aug_fn = logged
    return calls


def test_every_frame_gets_the_same_ops_and_magnitudes():
    aug = TRANSFORMS.build(dict(type='VideoRandAugment', config_str=RECIPE, crop_size=24))
    calls = _record_ops(aug)
    draws = set()
    for seed in range(20):
        random.seed(seed), np.random.seed(seed)
        calls.clear()
        frames = _clip(frames=5, seed=seed)
        frames[3] = frames[1].copy()
        out = aug(dict(imgs=frames))['imgs']
        per_frame = len(calls) // 5
        assert len(calls) == 5 * per_frame
        ops = [calls[i * per_frame:(i + 1) * per_frame] for i in range(5)]
        assert all(o == ops[0] for o in ops)             # same ops, same arguments
        assert np.array_equal(out[3], out[1])            # equal frames stay equal
        draws.add(repr(ops[0]))
    assert len(draws) > 10                               # but clips differ


def test_the_rng_advances_as_after_one_draw():
    aug = TRANSFORMS.build(dict(type='VideoRandAugment', config_str=RECIPE, crop_size=24))
    random.seed(5), np.random.seed(5)
    aug(dict(imgs=_clip(frames=6)))
    after_clip = (random.random(), np.random.rand())
    random.seed(5), np.random.seed(5)
    aug.rand_augment(__import__('PIL.Image', fromlist=['Image']).fromarray(_clip(1)[0]))
    assert (random.random(), np.random.rand()) == after_clip


def test_magnitudes_follow_the_recipe_string():
    from timm.data.auto_augment import _RAND_INCREASING_TRANSFORMS
    from timm.data.transforms import str_to_pil_interp
    aug = TRANSFORMS.build(dict(type='VideoRandAugment', config_str=RECIPE, crop_size=224))
    ra = aug.rand_augment
    assert ra.num_layers == 4                                               # n4
    assert [op.name for op in ra.ops] == list(_RAND_INCREASING_TRANSFORMS)  # inc1
    assert all(op.magnitude == 7 and op.prob == 0.5 for op in ra.ops)       # m7
    assert all(op.magnitude_std == 0.5 for op in ra.ops)                    # mstd0.5
    assert aug.hparams['translate_const'] == 100                  # int(0.45 * 224)
    assert aug.hparams['interpolation'] == str_to_pil_interp('bicubic')
    # the drawn magnitudes: normal(7, 0.5), as the level functions receive them
    drawn, ops_per_clip = [], []
    for op in ra.ops:
        def level(magnitude, hparams, _fn=op.level_fn):
            drawn.append(magnitude)
            return _fn(magnitude, hparams) if _fn else ()
        op.level_fn = level
    random.seed(0), np.random.seed(0)
    for _ in range(400):
        before = len(drawn)
        aug(dict(imgs=_clip(frames=1, size=8)))
        ops_per_clip.append(len(drawn) - before)
    assert abs(np.mean(drawn) - 7) < 0.06 and abs(np.std(drawn) - 0.5) < 0.06
    assert abs(np.mean(ops_per_clip) - 4 * 0.5) < 0.15       # 4 ops, each applied p=0.5


# ---- repeated augmentation with the alternating hand sampler ----

# (the tiny_havid fixture, lh 6 clips and rh 4, is in conftest.py)


def _loader_cfg(root, num_repeats, batch_size=2):
    per_copy = [dict(type='VideoRandAugment', config_str=RECIPE, crop_size=32),
                dict(type='RandomResizedCrop', area_range=(0.5, 1.0)),
                dict(type='Resize', scale=(32, 32), keep_ratio=False),
                dict(type='RandomErasing', erase_prob=0.25, mode='rand'),
                dict(type='FormatShape', input_format='NCTHW'),
                dict(type='PackActionInputs')]
    pipeline = [dict(type='DecordInit'),
                dict(type='SampleFrames', clip_len=4, num_clips=1, test_mode=True),
                dict(type='DecordDecode')]
    if num_repeats:
        pipeline.append(dict(type='RepeatAugment', num_repeats=num_repeats,
                             transforms=per_copy))
    else:
        pipeline += per_copy
    return dict(
        batch_size=batch_size, num_workers=0,
        collate_fn=dict(type='repeat_pseudo_collate' if num_repeats else 'pseudo_collate'),
        sampler=dict(type='DefaultSampler', shuffle=True, seed=7),
        batch_sampler=dict(type='AlternatingHandBatchSampler', switch_every=2),
        dataset=dict(type='HAViDDataset', data_root=root, num_classes=NUM_CLASSES,
                     split='train', pipeline=pipeline))


def _epoch(root, num_repeats, epoch=0, rank=0, world_size=1):
    with mock.patch.object(hbs, 'get_dist_info', return_value=(rank, world_size)):
        loader = Runner.build_dataloader(_loader_cfg(root, num_repeats), seed=7)
    loader.batch_sampler.set_epoch(epoch)
    batches = []
    for batch in loader:
        batches.append([(s.metainfo['hand'], s.metainfo['sample_idx'], x)
                        for s, x in zip(batch['data_samples'], batch['inputs'])])
    return batches


def test_each_clip_twice_per_epoch_augmented_apart_same_alternation(tiny_havid):
    plain = _epoch(tiny_havid, 0)
    repeated = _epoch(tiny_havid, 2)
    # the sampler's hand schedule and clip order are those without repeats
    assert len(repeated) == len(plain)
    for p, r in zip(plain, repeated):
        assert {h for h, _, _ in r} == {p[0][0]}                       # one hand per batch
        assert [i for _, i, _ in r] == [i for _, i, _ in p for _ in range(2)]
    counts = Counter((h, i) for b in repeated for h, i, _ in b)
    assert set(counts.values()) == {2} and len(counts) == 10           # every clip, twice
    for batch in repeated:
        for (h1, i1, x1), (h2, i2, x2) in zip(batch[::2], batch[1::2]):
            assert (h1, i1) == (h2, i2) and not torch.equal(x1, x2)    # independent copies
    # the next epoch reshuffles, still two copies each
    nxt = _epoch(tiny_havid, 2, epoch=1)
    assert Counter((h, i) for b in nxt for h, i, _ in b) == counts
    assert [[i for _, i, _ in b] for b in nxt] != [[i for _, i, _ in b] for b in repeated]


def test_two_ranks_stay_on_one_hand_and_cover_every_clip_twice(tiny_havid):
    ranks = [_epoch(tiny_havid, 2, rank=r, world_size=2) for r in (0, 1)]
    plain = [_epoch(tiny_havid, 0, rank=r, world_size=2) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == len(plain[0])
    for b0, b1 in zip(*ranks):
        assert len({h for h, _, _ in b0 + b1}) == 1                    # lockstep hands
    for rep, pl in zip(ranks, plain):                                  # per rank: x2
        assert [[i for _, i, _ in b] for b in rep] == \
            [[i for _, i, _ in b for _ in range(2)] for b in pl]
    counts = Counter((h, i) for rank in ranks for b in rank for h, i, _ in b)
    once = Counter((h, i) for rank in plain for b in rank for h, i, _ in b)
    assert len(counts) == 10 and counts == Counter({k: 2 * v for k, v in once.items()})


# ---- the real-data configs carry the recipe, build, and train on synthetic data ----

REAL_CONFIGS = ['configs/havid_alternating.py', 'configs/kth_amd_vit-s_k400.py',
                'configs/kth_videomaev2_vit-b.py']


def _train_steps(cfg):
    pipeline = cfg.train_dataloader.dataset.pipeline
    repeat = next(t for t in pipeline if t.type == 'RepeatAugment')
    return repeat, {t.type: t for t in repeat.transforms}


@pytest.mark.parametrize('config', REAL_CONFIGS)
def test_real_config_carries_the_recipe(config):
    cfg = Config.fromfile(os.path.join(REPO, config))
    repeat, steps = _train_steps(cfg)
    assert repeat.num_repeats == 2
    assert cfg.train_dataloader.collate_fn.type == 'repeat_pseudo_collate'
    assert steps['VideoRandAugment'].config_str == RECIPE
    assert steps['VideoRandAugment'].crop_size == 224
    erase = steps['RandomErasing']
    assert erase.erase_prob == 0.25 and erase.mode == 'rand'
    assert list(erase.fill_std) == list(cfg.model.data_preprocessor.std)
    heads = [cfg.model.get(h) for h in ('cls_head', 'lh_head', 'rh_head') if h in cfg.model]
    assert heads and all(h.label_smooth_eps == 0.1 for h in heads)
    blending = cfg.model.data_preprocessor.blending
    blending = blending.get('blending', blending)
    alphas = {a.type: a.alpha for a in blending.augments}
    # timm's partner (the reversed batch), tests/test_configs/test_recipe_items.py
    assert alphas == {'ReversedMixupBlending': 0.8, 'ReversedCutmixBlending': 1.0}
    eps = 1e-5 if 'havid' in config else 1e-6                   # ADH-ViT vs VideoMAEv2/AMD
    assert cfg.model.backbone.norm_cfg.eps == eps


def _shrink(cfg, work_dir):
    """A tiny ViT on 4-frame 32x32 clips, 1 epoch, no workers (seconds on CPU)."""
    cfg.merge_from_dict({
        'model.backbone.arch': dict(embed_dims=32, depth=1, num_heads=2, _delete_=True),
        'model.backbone.img_size': 32, 'model.backbone.num_frames': 4,
        'model.backbone.drop_path_rate': 0.0, 'load_from': None,
        'optim_wrapper.paramwise_cfg.num_layers': 1, 'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 10, 'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 10, 'work_dir': work_dir,
        'param_scheduler': [dict(type='ConstantLR', factor=1.0)],
        'randomness': dict(seed=0)})
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None   # training only
    cfg.default_hooks.checkpoint.save_best = None
    if 'pretrained' in cfg.model.backbone:
        cfg.model.backbone.pretrained = None
    for head in ('cls_head', 'lh_head', 'rh_head'):
        if head in cfg.model:
            cfg.model[head].in_channels = 32
    loader = cfg.train_dataloader
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    for step in loader.dataset.pipeline:
        if step.type in ('SampleFrames', 'SpreadSampleFrames'):
            step.update(clip_len=4, frame_interval=1)
        if step.type == 'FastVideoDecode':
            step.scale = (-1, 40)
    repeat, steps = _train_steps(cfg)
    steps['VideoRandAugment'].crop_size = 32
    steps['Resize'].scale = (32, 32)
    return cfg


class _Seen:
    """Records what the model was trained on (batch sizes, hands, distinct inputs)."""

    def __init__(self):
        self.batches = []


@pytest.mark.slow
@pytest.mark.parametrize('config', REAL_CONFIGS)
def test_real_config_trains_with_the_recipe_on_synthetic_data(config, tmp_path, tiny_havid):
    cfg = _shrink(Config.fromfile(os.path.join(REPO, config)), str(tmp_path / 'work'))
    if 'havid' in config:
        cfg.train_dataloader.dataset.data_root = tiny_havid
        cfg.train_dataloader.batch_sampler.switch_every = 2
        # ADH-ViT's epoch (schedule='original'): the left hand's 3 batches of 2 clips,
        # lh, lh, rh -- 6 of the 10 clips (one pass over both lists: the -both-lists
        # variant)
        clips = 6
    else:
        from mmaction_ext.synthetic.kth import make_kth_tree
        root = str(tmp_path / 'kth')
        make_kth_tree(root, persons=[11], scenarios=['d1'], num_frames=12)
        cfg.train_dataloader.dataset.update(
            data_prefix=dict(video=root), sequences_file=None, persons='11',
            scenarios=['d1'])
        clips = 6
    seen = []
    runner = Runner.from_cfg(cfg)
    model = runner.model
    original = model.train_step

    def train_step(data, optim_wrapper):
        seen.append(copy.copy(data))
        return original(data, optim_wrapper)

    model.train_step = train_step
    runner.train()
    samples = [(s.metainfo.get('hand'), s.metainfo['sample_idx'] if 'sample_idx' in
                s.metainfo else s.metainfo.get('filename'))
               for batch in seen for s in batch['data_samples']]
    assert len(samples) == 2 * clips                        # each clip twice in the epoch
    assert set(Counter(samples).values()) == {2}
    for batch in seen:
        assert len(batch['inputs']) == 4                    # 2 clips x 2 repeats
        x = batch['inputs']
        assert not torch.equal(x[0], x[1])                  # the copies differ
    assert np.isfinite(runner.message_hub.get_scalar('train/loss').current())


@pytest.mark.slow
def test_repeated_augmentation_in_two_process_ddp(tiny_havid, tmp_path):
    """torchrun, 2 CPU processes: both copies of each clip in one rank's batch, ranks on
    the same hand at every iteration, the alternation of the run without repeats."""
    import subprocess
    import sys

    from test_alternating_loop import _ddp_env, _from_dict, _trace, tiny_config
    work_dir = str(tmp_path / 'ddp')
    cfg = tiny_config(tiny_havid, work_dir, max_epochs=1)
    pipeline = cfg['train_dataloader']['dataset']['pipeline']
    cfg['train_dataloader']['dataset']['pipeline'] = pipeline[:3] + [dict(
        type='RepeatAugment', num_repeats=2, transforms=[
            dict(type='VideoRandAugment', config_str=RECIPE, crop_size=32)] + pipeline[3:])]
    cfg['train_dataloader'].update(batch_size=1, collate_fn=dict(type='repeat_pseudo_collate'))
    cfg['train_cfg'] = dict(type='AlternatingTrainLoop', max_iters=5, val_interval=100)
    cfg['default_hooks']['checkpoint'] = dict(by_epoch=False, interval=100)
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
           '--master_port', str(29700 + os.getpid() % 1000),
           os.path.join(REPO, 'tools/train.py'), _from_dict(cfg).filename,
           '--launcher', 'pytorch']
    proc = subprocess.run(cmd, env=_ddp_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ranks = [_trace(work_dir, r) for r in (0, 1)]
    assert [t[1] for t in ranks[0]] == [t[1] for t in ranks[1]] == \
        ['lh', 'lh', 'rh', 'rh', 'lh']                 # as without repeats (6 lh, 4 rh)
    seen = Counter()
    for rank in ranks:
        for _, hand, ids in rank:
            a, b = ids.split(',')
            assert a == b                              # the two copies of one clip
            seen[(hand, a)] += 2
    assert len(seen) == 10 and set(seen.values()) == {2}


def test_repeat_augment_with_one_repeat_is_the_plain_pipeline():
    """num_repeats=1 returns one sample, not a list (stock tools such as browse_dataset.py
    index it as a dict); num_repeats=2 returns two independently augmented copies."""
    import numpy as np
    from mmaction.registry import TRANSFORMS
    results = dict(imgs=[np.full((8, 8, 3), i, np.uint8) for i in range(4)],
                   label=1, num_clips=1, clip_len=4, modality='RGB')
    steps = [dict(type='FormatShape', input_format='NCTHW'), dict(type='PackActionInputs')]
    one = TRANSFORMS.build(dict(type='RepeatAugment', num_repeats=1, transforms=steps))
    two = TRANSFORMS.build(dict(type='RepeatAugment', num_repeats=2, transforms=steps))
    plain = TRANSFORMS.build(steps[0])(dict(results))
    single = one(dict(results))
    assert isinstance(single, dict) and (single['inputs'].numpy() == plain['imgs']).all()
    assert isinstance(two(dict(results)), list) and len(two(dict(results))) == 2
