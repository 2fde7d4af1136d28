# ADH-ViT's alternating dual-hand fine-tuning on HA-ViD, inside MMAction2, reproducing the
# authors' recipe (ADH-ViT main.py + scripts/finetune/train_havid_alternating.sh):
# VideoMAEv2 ViT-B (distilled from ViT-g, Kinetics-710) with a left-hand and a right-hand
# head (75 primitive-task classes each); training switches hand every 50 iterations.
# docs/training.md compares every element with the originals, row by row.
#
# ALTERNATION (ADH-ViT's): an epoch is the left-hand list's batches; every epoch starts
# on the left hand, switches every 50 batches; the right list restarts when it runs out.
# All ranks are on the same hand; --resume continues at the saved batch.
# (One pass over both lists per epoch: configs/havid_alternating_both-lists.py.)
#
# PATHS (override on the command line):
#   --cfg-options model.backbone.pretrained=/path/vit_b_k710_dl_from_giant.pth \
#       train_dataloader.dataset.data_root=/path/havid \
#       val_dataloader.dataset.data_root=/path/havid test_dataloader.dataset.data_root=/path/havid
# DATA: dual-hand layout <data_root>/{lh,rh}_v0/{train,val}_list_video.txt + videos/
#   (the authors' layout view{0,1,2}_{lh,rh}_{aa,pt}/: set dataset.layout='authors').
# PROTOCOL: HA-ViD has no test list; the val list doubles as the test list, as in ADH-ViT,
#   and the LAST epoch is tested (5 clips x 3 crops, softmax averaged per clip and hand).
#   No best-checkpoint selection on that list (it would inflate the reported number);
#   to select a model, hold out part of the training list:
#   configs/havid_alternating_model-selection.py.
# Recipe: AdamW (0.9, 0.999), 4 clips per GPU, lr 1e-3 x total batch / 256 (auto_scale_lr;
#   the batch counts clips, not their repeats), layer decay 0.9, weight decay 0.1, drop
#   path 0.3, clip grad 5, 5 warmup epochs then cosine to min lr 1e-6 x batch / 256 x each
#   group's layer-decay scale, 50 epochs; RandAugment rand-m7-n4-mstd0.5-inc1 (one draw per
#   clip) on full-resolution frames, random resized crop (area 0.08-1, aspect 3/4-4/3) to
#   224, horizontal flip 0.5 (it mirrors the left hand to the right side of the frame:
#   configs/havid_alternating_no-flip.py leaves it out), random erasing 0.25 (one box
#   through the clip), repeated augmentation x2, mixup 0.8 / cutmix 1.0 with the reversed
#   batch as partner (timm) and each hand's own class count, label smoothing 0.1;
#   16 frames spread over 64 (a short clip repeats its last frame); fresh heads
#   trunc_normal std 0.02 (no init_scale); LayerNorm eps 1e-5 (ADH-ViT's nn.LayerNorm
#   default; its checkpoints need it). On GPUs add --amp: bf16 autocast (amp_dtype).
_base_ = './_base_/ext_runtime.py'

pretrained = 'checkpoints/vit_b_k710_dl_from_giant.pth'  # backbone only; heads start fresh
data_root = 'data/havid'
# --cfg-options data_root=DIR moves the dataset paths (DataRootRunner)
parsed_data_paths = dict(data_root=data_root)
layout = 'dual_hand'
view = 0
num_classes = dict(lh=75, rh=75)
num_frames = 16
frame_interval = 4
img_size = 224
batch_size = 4  # clips per GPU (the authors' --batch_size 4)
switch_every = 50
max_epochs = 50
warmup_epochs = 5
lr = 1e-3  # for a total batch of 256 (scaled by auto_scale_lr, min_lr with it)
min_lr = 1e-6
amp_dtype = 'bfloat16'  # tools/train.py --amp: ADH-ViT's bf16 autocast

head = dict(type='TimeSformerHead', in_channels=768, label_smooth_eps=0.1,
            average_clips='prob')
model = dict(
    type='DualHandRecognizer',
    init_scale=1.0,  # ADH-ViT's heads keep trunc_normal std 0.02 (no init_scale)
    backbone=dict(type='MAEVisionTransformer', arch='b', img_size=img_size,
                  num_frames=num_frames, tubelet_size=2, drop_path_rate=0.3,
                  norm_cfg=dict(type='LN', eps=1e-5),  # ADH-ViT: nn.LayerNorm default
                  pretrained=pretrained),
    lh_head=dict(head, num_classes=num_classes['lh']),
    rh_head=dict(head, num_classes=num_classes['rh']),
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], format_shape='NCTHW',
        blending=dict(type='HandAwareBlending', num_classes=num_classes,
                      # timm's Mixup: the partner is the reversed batch
                      blending=dict(type='RandomBatchAugment', augments=[
                          dict(type='ReversedMixupBlending', alpha=0.8),
                          dict(type='ReversedCutmixBlending', alpha=1.0)]))))

mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
rand_augment = 'rand-m7-n4-mstd0.5-inc1'
num_repeats = 2  # repeated augmentation (the originals' --num_sample)
# VideoMAEv2's frame rule: 16 frames spread over 64, a short clip repeats its last frame
sample_frames = dict(type='SpreadSampleFrames', clip_len=num_frames,
                     frame_interval=frame_interval)
train_pipeline = [
    dict(type='FastVideoInit'),
    dict(sample_frames, num_clips=1),
    dict(type='FastVideoDecode', scale=1.0),  # full resolution, as the originals decode
    dict(type='RepeatAugment', num_repeats=num_repeats, transforms=[
        # timm's RandAugment, the same ops and magnitudes on every frame of the clip
        dict(type='VideoRandAugment', config_str=rand_augment, crop_size=img_size),
        dict(type='RandomResizedCrop', area_range=(0.08, 1.0),
             aspect_ratio_range=(3 / 4, 4 / 3)),
        dict(type='Resize', scale=(img_size, img_size), keep_ratio=False),
        # the originals flip HA-ViD (a mirrored left hand; no-flip variant exists)
        dict(type='Flip', flip_ratio=0.5),
        # the originals' mode='pixel' on normalised clips: normal(mean, std) per pixel
        dict(type='RandomErasing', erase_prob=0.25, mode='rand', fill_color=mean,
             fill_std=std),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs'),
    ]),
]
val_pipeline = [
    dict(type='FastVideoInit'),
    dict(sample_frames, num_clips=1, test_mode=True),  # the window centred
    dict(type='FastVideoDecode', scale=(-1, img_size)),  # = DecordDecode + Resize, faster
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='FastVideoInit'),
    dict(sample_frames, num_clips=5, test_mode=True),
    dict(type='FastVideoDecode', scale=(-1, img_size)),  # = DecordDecode + Resize, faster
    dict(type='ThreeCrop', crop_size=img_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]

havid = dict(type='HAViDDataset', data_root=data_root, layout=layout, view=view,
             num_classes=num_classes)
train_dataloader = dict(
    batch_size=batch_size, num_workers=8, persistent_workers=True,
    collate_fn=dict(type='repeat_pseudo_collate'),  # flattens RepeatAugment's copies
    sampler=dict(type='DefaultSampler', shuffle=True),  # only its seed is used
    batch_sampler=dict(type='AlternatingHandBatchSampler', switch_every=switch_every,
                       schedule='original', drop_last=True),  # ADH-ViT's epoch
    dataset=dict(havid, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=batch_size, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(havid, split='val', pipeline=val_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=1, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(havid, split='val', pipeline=test_pipeline, test_mode=True))

val_evaluator = dict(type='HandAccMetric', topk=(1, 5))
test_evaluator = dict(type='HandAccMetric', topk=(1, 5), out_dir='work_dirs/havid_confusion')

train_cfg = dict(type='AlternatingTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), weight_decay=0.1),
    constructor='LearningRateDecayOptimizerConstructor',
    paramwise_cfg=dict(decay_rate=0.9, decay_type='layer_wise', num_layers=12),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    # ends at min_lr/lr of each group's peak: min_lr x batch/256 x its layer-decay scale
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min_ratio=min_lr / lr, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
# lr (and with it min_lr) is for a total batch of 256: scaled to batch_size x GPUs.
auto_scale_lr = dict(enable=True, base_batch_size=256)

default_hooks = dict(
    logger=dict(interval=20),
    # epoch checkpoints, the last one tested (no best-on-the-test-list selection); for
    # mid-epoch ones (exact resume at the saved batch) checkpoint=dict(by_epoch=False,
    # interval=500)
    checkpoint=dict(interval=1, max_keep_ckpts=2, save_best=None))
