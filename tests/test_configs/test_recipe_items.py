"""configs/havid_alternating.py against ADH-ViT's recipe, one test (or more) per item of
issue #20. Each expected value is re-derived here from the originals' rule as stated in
docs/training.md (their formula written out, not their code), never read back from the
project's own implementation.
"""
from __future__ import annotations

import math
import os
import random
import sys

import numpy as np
import pytest
import torch
from mmaction.registry import MODELS, TRANSFORMS
from mmengine.config import Config
from mmengine.registry import PARAM_SCHEDULERS, init_default_scope

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
HAVID = os.path.join(REPO, 'configs/havid_alternating.py')
KTH = os.path.join(REPO, 'configs/kth_amd_vit-s_k400.py')


@pytest.fixture(autouse=True)
def scope():
    init_default_scope('mmaction')


def _cfg(path=HAVID):
    return Config.fromfile(path)


def _per_copy(cfg):
    repeat = cfg.train_dataloader.dataset.pipeline[-1]
    assert repeat.type == 'RepeatAugment'
    return list(repeat.transforms)


def _tiny_model_cfg(cfg, depth=2, dims=32):
    model = cfg.model
    model.backbone.update(arch=dict(embed_dims=dims, depth=depth, num_heads=2), img_size=32,
                          num_frames=4, pretrained=None)
    for head in ('lh_head', 'rh_head', 'cls_head'):
        if head in model:
            model[head].in_channels = dims
    cfg.optim_wrapper.paramwise_cfg.num_layers = depth
    return model


# ---- 1. batch and learning rate -------------------------------------------------------

def test_1_four_clips_per_gpu_and_lr_per_256_clips():
    cfg = _cfg()
    assert cfg.train_dataloader.batch_size == 4                  # --batch_size 4
    assert cfg.optim_wrapper.optimizer.lr == 1e-3                # --lr 1e-3 ...
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=256)  # ... x batch/256
    # the repeats are not counted: 4 clips x 2 copies, the batch stays 4 for the lr
    assert _per_copy(cfg) and cfg.train_dataloader.dataset.pipeline[-1].num_repeats == 2


# ---- 6. (and 1.) the lr of every group along the whole schedule ------------------------

def _originals_lr(it, *, peak, floor, warmup, total):
    """VideoMAEv2's utils.cosine_scheduler value at iteration ``it`` (their rule: linear
    warmup over ``np.linspace(0, peak, warmup)``, then ``floor + (peak - floor) / 2 *
    (1 + cos(pi * i / (total - warmup)))``)."""
    if it < warmup:
        return peak * it / (warmup - 1)
    i = it - warmup
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * i / (total - warmup)))


def _originals_layer_scale(name, num_layers, decay=0.9):
    """ADH-ViT's LayerDecayValueAssigner: decay ** (num_layers + 1 - layer_id), layer 0 =
    patch embedding / position table, layer i + 1 = block i, num_layers + 1 = the rest."""
    parts = name.split('.')
    if parts[1] in ('patch_embed', 'pos_embed', 'cls_token'):
        layer = 0
    elif parts[1] == 'blocks':
        layer = int(parts[2]) + 1
    else:
        layer = num_layers + 1
    return decay ** (num_layers + 1 - layer)


@pytest.mark.parametrize('world_size', [1, 8])
def test_6_every_group_follows_the_originals_schedule_down_to_its_scaled_min_lr(world_size):
    from mmengine.optim import build_optim_wrapper
    cfg = _cfg()
    model = MODELS.build(_tiny_model_cfg(cfg))
    total_batch = cfg.train_dataloader.batch_size * world_size
    # MMEngine's auto_scale_lr (Runner.scale_lr): lr x real batch / base batch
    cfg.optim_wrapper.optimizer.lr *= total_batch / cfg.auto_scale_lr.base_batch_size
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    per_epoch, epochs, warmup_epochs = 3, cfg.train_cfg.max_epochs, cfg.warmup_epochs
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=wrapper, epoch_length=per_epoch))
                  for s in cfg.param_scheduler]
    total, warmup = epochs * per_epoch, warmup_epochs * per_epoch
    names = {id(p): n for n, p in model.named_parameters()}
    groups = wrapper.optimizer.param_groups
    scales = []
    for group in groups:
        found = {_originals_layer_scale(names[id(p)], 2) for p in group['params']}
        assert len(found) == 1
        scales.append(found.pop())
    assert len(set(scales)) == 4                                  # 2 blocks + 2 ends
    for it in range(total):
        for group, scale in zip(groups, scales):
            peak = 1e-3 * total_batch / 256 * scale
            floor = 1e-6 * total_batch / 256 * scale              # min_lr scaled alike
            want = _originals_lr(it, peak=peak, floor=floor, warmup=warmup, total=total)
            if it < warmup:  # MMEngine's LinearLR starts at 1e-3 x peak, not 0
                assert abs(group['lr'] - want) <= peak / (warmup - 1) + 1e-12, it
            else:
                assert group['lr'] == pytest.approx(want, rel=1e-6, abs=1e-15), it
        for scheduler in schedulers:
            scheduler.step()
    # the last iterations are within 1e-6 of the scaled floor's curve; an absolute floor
    # (the old eta_min=1e-6) would be 100x above it at the end of a one-GPU run
    last = groups[0]['lr']
    assert last < 2e-6 * total_batch / 256 * scales[0]


def test_6_kth_configs_end_at_the_scaled_min_lr_too():
    cfg = _cfg(KTH)
    cosine = cfg.param_scheduler[-1]
    assert 'eta_min' not in cosine and cosine.eta_min_ratio == pytest.approx(1e-6 / 1e-3)


# ---- 2. horizontal flip -----------------------------------------------------------------

def _gradient_clip(height=48, width=64, frames=2):
    row = np.linspace(0, 255, width).astype(np.uint8)
    frame = np.repeat(np.repeat(row[None, :, None], height, 0), 3, 2)
    return [frame.copy() for _ in range(frames)]


def test_2_the_clip_is_mirrored_whole_with_probability_one_half():
    steps = {s.type: s for s in _per_copy(_cfg())}
    order = [s.type for s in _per_copy(_cfg())]
    # after the crop and resize, before random erasing (the originals' spatial_sampling)
    assert order.index('Resize') < order.index('Flip') < order.index('RandomErasing')
    flip = TRANSFORMS.build(steps['Flip'])
    assert steps['Flip'].get('direction', 'horizontal') == 'horizontal'
    np.random.seed(0), random.seed(0)
    flipped = 0
    for _ in range(400):
        out = flip(dict(imgs=_gradient_clip(), modality='RGB', img_shape=(48, 64)))
        imgs = out['imgs']
        rising = [int(f[0, -1, 0]) > int(f[0, 0, 0]) for f in imgs]
        assert len(set(rising)) == 1                               # every frame alike
        assert out['flip'] == (not rising[0])
        flipped += out['flip']
    assert abs(flipped / 400 - 0.5) < 0.08                         # p = 0.5 (5 sigma)


def test_2_no_flip_variant_is_the_recipe_without_flip():
    base, variant = _cfg(), _cfg(os.path.join(REPO, 'configs/havid_alternating_no-flip.py'))
    assert [s for s in _per_copy(base) if s.type != 'Flip'] == _per_copy(variant)
    assert base.train_dataloader.dataset.pipeline[:-1] == \
        variant.train_dataloader.dataset.pipeline[:-1]
    assert base.train_dataloader.dataset.pipeline[-1].num_repeats == \
        variant.train_dataloader.dataset.pipeline[-1].num_repeats


# ---- 3. crop ----------------------------------------------------------------------------

def _originals_crop(height, width, rng, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    """pySlowFast's _get_param_spatial_crop as ADH-ViT calls it: 10 draws of a uniform
    area fraction and a log-uniform aspect; the first that fits is cropped."""
    for _ in range(10):
        area = rng.uniform(*scale) * height * width
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        w, h = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
        if 0 < w <= width and 0 < h <= height:
            return h, w
    return None


def test_3_random_resized_crop_draws_the_originals_boxes_on_full_resolution_frames():
    cfg = _cfg()
    decode = cfg.train_dataloader.dataset.pipeline[2]
    assert decode.type == 'FastVideoDecode' and decode.scale == 1.0   # no resize first
    order = [s.type for s in _per_copy(cfg)]
    assert order[:3] == ['VideoRandAugment', 'RandomResizedCrop', 'Resize']
    crop = TRANSFORMS.build(next(s for s in _per_copy(cfg) if s.type == 'RandomResizedCrop'))
    frame_h, frame_w = 360, 640                                     # a 16:9 frame
    np.random.seed(0), random.seed(0)
    ours = []
    for _ in range(3000):
        out = crop(dict(imgs=[np.zeros((frame_h, frame_w, 3), np.uint8)],
                        img_shape=(frame_h, frame_w), modality='RGB'))
        h, w = out['img_shape']
        ours.append((h * w / (frame_h * frame_w), w / h))
    rng = random.Random(1)
    boxes = [_originals_crop(frame_h, frame_w, rng) for _ in range(3000)]
    assert sum(b is None for b in boxes) < 10          # their centre fallback: rare
    theirs = [(h * w / (frame_h * frame_w), w / h) for h, w in filter(None, boxes)]
    ours, theirs = np.array(ours), np.array(theirs)
    # the tallest crop that fits: 360 x 480 (aspect 4/3), 0.75 of the frame
    assert ours[:, 0].min() >= 0.079 and ours[:, 0].max() <= 0.75 + 1e-3
    for column in (0, 1):                                          # area fraction, aspect
        for q in (0.1, 0.5, 0.9):
            assert abs(np.quantile(ours[:, column], q) - np.quantile(theirs[:, column], q)) \
                < 0.03 * (1 + column), (column, q)


def test_3_kth_uses_the_same_crop_range():
    steps = {s.type: s for s in _per_copy(_cfg(KTH))}
    crop = steps['RandomResizedCrop']
    assert tuple(crop.area_range) == (0.08, 1.0)
    assert tuple(crop.aspect_ratio_range) == pytest.approx((3 / 4, 4 / 3))


def test_3_full_resolution_decode_keeps_the_video_size(tiny_havid):
    pipeline = _cfg().train_dataloader.dataset.pipeline[:3]
    steps = [TRANSFORMS.build(s) for s in pipeline]
    folder = os.path.join(tiny_havid, 'lh_v0', 'videos', 'train')
    results = dict(filename=os.path.join(folder, sorted(os.listdir(folder))[0]),
                   start_index=0, modality='RGB')
    for step in steps:
        results = step(results)
    assert results['imgs'][0].shape[:2] == (64, 64)                # tiny_havid is 64x64


# ---- 4. head initialisation -------------------------------------------------------------

def test_4_dual_hand_heads_start_at_std_0_02_single_heads_keep_init_scale():
    cfg = _cfg()
    torch.manual_seed(0)
    model_cfg = _tiny_model_cfg(cfg, dims=256)
    model = MODELS.build(model_cfg)
    model.init_weights()
    assert model.init_scale == 1.0                  # what checkpoint conversion reads
    for head in (model.lh_head, model.rh_head):
        assert 0.018 < head.fc_cls.weight.std().item() < 0.022   # trunc_normal(0.02)
        assert torch.count_nonzero(head.fc_cls.bias) == 0
    del model_cfg['init_scale']                     # the class default is ADH-ViT's too
    assert MODELS.build(model_cfg).init_scale == 1.0
    kth = _cfg(KTH)
    torch.manual_seed(0)
    single = MODELS.build(_tiny_model_cfg(kth, dims=256))
    single.init_weights()
    std = single.cls_head.fc_cls.weight.std().item()
    assert 0.018e-3 < std < 0.022e-3                # VideoMAEv2/AMD: x init_scale 0.001


# ---- 5. clip sampling -------------------------------------------------------------------

def _sampler(cfg_step, **kwargs):
    return TRANSFORMS.build(dict(cfg_step, **kwargs))


def _spread_window(start):
    """16 frames spread over 64 from ``start``: ``np.linspace(start, start + 64, 16)``
    truncated, the last clipped to start + 63. Written out: start + floor(64 k / 15)."""
    return [start + (64 * k) // 15 for k in range(15)] + [start + 63]


def test_5_training_clip_spreads_16_frames_over_64():
    step = _cfg().train_dataloader.dataset.pipeline[1]
    assert (step.type, step.clip_len, step.frame_interval) == ('SpreadSampleFrames', 16, 4)
    sample = _sampler(step)
    np.random.seed(0)
    starts = set()
    for _ in range(300):
        inds = sample(dict(total_frames=70, start_index=0))['frame_inds']
        start = int(inds[0])
        assert inds.tolist() == _spread_window(start)
        starts.add(start)
    # end drawn from randint(64, total): start in 0 .. total - 65, each reachable
    assert starts == set(range(0, 70 - 64))


def test_5_short_clip_repeats_its_last_frame():
    sample = _sampler(_cfg().train_dataloader.dataset.pipeline[1])
    # the worked example: 30 frames -> linspace(0, 30, 30 // 4 = 7) then the
    # last frame (29) until there are 16
    assert sample(dict(total_frames=30))['frame_inds'].tolist() == \
        [0, 5, 10, 15, 20, 25, 29] + [29] * 9
    # exactly 64 frames is still "short" in their rule: linspace(0, 64, 16) clipped to 63
    assert sample(dict(total_frames=64))['frame_inds'].tolist() == _spread_window(0)
    assert sample(dict(total_frames=3))['frame_inds'].tolist() == [2] * 16
    # the deliberate difference from the parent: stock SampleFrames loops back to 0
    from mmaction.datasets.transforms import SampleFrames
    np.random.seed(0)
    stock = SampleFrames(16, 4, 1)(dict(total_frames=30, start_index=0))['frame_inds']
    assert stock.tolist() != sample(dict(total_frames=30))['frame_inds'].tolist()
    assert 0 in stock.tolist()[1:]                          # wrapped around
    with pytest.raises(TypeError, match='out_of_bound_opt'):
        TRANSFORMS.build(dict(type='SpreadSampleFrames', clip_len=16,
                              out_of_bound_opt='repeat_last'))


def test_5_validation_clip_is_centred():
    step = _cfg().val_dataloader.dataset.pipeline[1]
    assert step.type == 'SpreadSampleFrames' and step.test_mode and step.num_clips == 1
    sample = _sampler(step)
    for total in (65, 100, 301):
        end = (64 + total) // 2
        assert sample(dict(total_frames=total))['frame_inds'].tolist() == \
            _spread_window(end - 64)


def test_5_test_views_step_through_the_stride_4_frames():
    step = _cfg().test_dataloader.dataset.pipeline[1]
    assert step.type == 'SpreadSampleFrames' and step.test_mode and step.num_clips == 5
    sample = _sampler(step)
    # 100 frames: every 4th frame -> 25 entries; views start at int(k * (25 - 16) / 4)
    views = sample(dict(total_frames=100))['frame_inds'].reshape(5, 16)
    for k, start in enumerate([0, 2, 4, 6, 9]):
        assert views[k].tolist() == [4 * (start + j) for j in range(16)]
    # 30 frames: 0, 4, ..., 28, then 28 repeated; all five views the same
    short = sample(dict(total_frames=30))['frame_inds'].reshape(5, 16)
    assert all(v.tolist() == list(range(0, 30, 4)) + [28] * 8 for v in short)
    # an offset (ConfineFrameRange) moves every index
    moved = sample(dict(total_frames=100, start_index=7))['frame_inds'].reshape(5, 16)
    assert (moved - views == 7).all()


# ---- 7. mixup / cutmix partner ----------------------------------------------------------

def _blendings(cfg):
    blending = cfg.model.data_preprocessor.blending
    blending = blending.get('blending', blending)
    return {a.type: a for a in blending.augments}


@pytest.mark.parametrize('config', [HAVID, KTH])
def test_7_partner_is_the_reversed_batch(config):
    augments = _blendings(_cfg(config))
    assert set(augments) == {'ReversedMixupBlending', 'ReversedCutmixBlending'}
    batch = 8                                     # 4 clips x 2 copies, copies adjacent
    eye = torch.eye(batch)
    for name, aug in augments.items():
        blend = MODELS.build(dict(aug, num_classes=batch))
        torch.manual_seed(0)
        for _ in range(20):
            imgs = torch.arange(batch, dtype=torch.float32).view(batch, 1, 1, 1, 1, 1)
            imgs = imgs.expand(batch, 1, 3, 2, 8, 8).clone()
            mixed, labels = blend.do_blending(imgs, eye.clone())
            for i in range(batch):
                weights = {j: w for j, w in enumerate(labels[i].tolist()) if w > 1e-6}
                assert set(weights) <= {i, batch - 1 - i}          # partner B-1-i
                values = set(mixed[i].flatten().tolist())
                if name == 'ReversedCutmixBlending':              # pixels and label agree
                    taken = (mixed[i] == batch - 1 - i).float().mean().item()
                    assert values <= {float(i), float(batch - 1 - i)}
                    assert taken == pytest.approx(weights.get(batch - 1 - i, 0), abs=1e-6)
            own = [i // 2 == (batch - 1 - i) // 2 for i in range(batch)]
            assert not any(own)                 # no clip mixed with its own copy


def test_7_stock_random_partner_mixes_a_copy_with_its_twin():
    """The documented difference: MMAction2's randperm pairs a copy with its twin about
    1/(B-1) of the time at B = 8; the reversed batch never does."""
    from mmaction.models.utils.blending_utils import MixupBlending
    blend = MixupBlending(num_classes=8, alpha=0.8)
    torch.manual_seed(0)
    twins = 0
    trials = 500
    for _ in range(trials):
        labels = torch.eye(8)
        _, mixed = blend.do_blending(torch.zeros(8, 1, 1, 1, 1, 1), labels)
        for i in range(8):
            partner = [j for j, w in enumerate(mixed[i].tolist()) if w > 1e-6 and j != i]
            twins += bool(partner) and partner[0] // 2 == i // 2
    assert abs(twins / (8 * trials) - 1 / 7) < 0.03


# ---- 8. mixed precision -----------------------------------------------------------------

def _train_tool():
    sys.path.insert(0, os.path.join(REPO, 'tools'))
    try:
        import train
    finally:
        sys.path.pop(0)
    return train


@pytest.mark.parametrize('config, dtype', [
    (HAVID, 'bfloat16'),                                          # ADH-ViT's autocast
    (os.path.join(REPO, 'configs/havid_alternating_no-flip.py'), 'bfloat16'),
    (KTH, None),                                  # VideoMAEv2/AMD: fp16 (MMEngine default)
])
def test_8_amp_flag_gives_the_configs_autocast_dtype(config, dtype, monkeypatch):
    train = _train_tool()
    monkeypatch.setattr(sys, 'argv', ['train.py', config, '--amp'])
    cfg = train.merge_args(Config.fromfile(config), train.parse_args())
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.get('dtype') == dtype
    monkeypatch.setattr(sys, 'argv', ['train.py', config])
    plain = train.merge_args(Config.fromfile(config), train.parse_args())
    assert plain.optim_wrapper.get('type', 'OptimWrapper') == 'OptimWrapper'


def test_8_a_config_can_ask_for_fp16(monkeypatch):
    train = _train_tool()
    monkeypatch.setattr(sys, 'argv', ['train.py', HAVID, '--amp', '--cfg-options',
                                      'amp_dtype=float16'])
    args = train.parse_args()
    cfg = Config.fromfile(HAVID)
    cfg.merge_from_dict(args.cfg_options)       # as a child config setting amp_dtype
    args.cfg_options = None
    assert train.merge_args(cfg, args).optim_wrapper.dtype == 'float16'


# ---- 10. protocol -----------------------------------------------------------------------

def test_10_last_epoch_tested_no_selection_on_the_reported_list():
    cfg = _cfg()
    assert cfg.default_hooks.checkpoint.get('save_best') is None
    assert cfg.test_dataloader.dataset.split == 'val'              # HA-ViD: no test list
    test = cfg.test_dataloader.dataset.pipeline
    assert test[1].num_clips == 5 and any(s.type == 'ThreeCrop' for s in test)
    assert cfg.model.lh_head.average_clips == 'prob'              # softmax averaged
    selection = _cfg(os.path.join(REPO, 'configs/havid_alternating_model-selection.py'))
    train, val = selection.train_dataloader.dataset, selection.val_dataloader.dataset
    assert (train.type, train.split, train.part) == ('HAViDHoldoutDataset', 'train', 'train')
    assert (val.type, val.split, val.part) == ('HAViDHoldoutDataset', 'train', 'heldout')
    assert (train.holdout_fraction, train.holdout_seed) == \
        (val.holdout_fraction, val.holdout_seed)
    assert selection.default_hooks.checkpoint.save_best == 'hand_acc/mean_top1'
    assert selection.test_dataloader.dataset.split == 'val'
