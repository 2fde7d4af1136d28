# ADH-ViT's alternating dual-hand fine-tuning on HA-ViD, inside MMAction2:
# VideoMAEv2 ViT-B (distilled from ViT-g, Kinetics-710) with a left-hand and a right-hand
# head (75 primitive-task classes each); training switches hand every 50 iterations.
#
# An EPOCH here is one pass over BOTH hands' training lists (ADH-ViT counted only the
# left-hand loader). Each hand's order is reshuffled every epoch, on every rank alike;
# all ranks are always on the same hand; --resume continues at the saved batch.
#
# PATHS (override on the command line):
#   --cfg-options model.backbone.pretrained=/path/vit_b_k710_dl_from_giant.pth \
#       train_dataloader.dataset.data_root=/path/havid \
#       val_dataloader.dataset.data_root=/path/havid test_dataloader.dataset.data_root=/path/havid
# DATA: dual-hand layout <data_root>/{lh,rh}_v0/{train,val}_list_video.txt + videos/
#   (the authors' layout view{0,1,2}_{lh,rh}_{aa,pt}/: set dataset.layout='authors').
#   HA-ViD's val list doubles as the test list, as in ADH-ViT.
# Recipe (ADH-ViT, = VideoMAEv2/AMD run_class_finetuning.py defaults): AdamW (0.9, 0.999),
#   lr 1e-3 x total batch / 256 (auto_scale_lr below; the batch counts clips, not their
#   repeats, as in the originals), layer decay 0.9, weight decay 0.1, drop path 0.3, clip
#   grad 5, 5 warmup epochs then cosine to 1e-6, 50 epochs, RandAugment
#   rand-m7-n4-mstd0.5-inc1 (one draw per clip), repeated augmentation x2 (each clip
#   decoded once, augmented twice: a batch of 8 clips is 16 samples), random erasing 0.25
#   (per-pixel normal fill), label smoothing 0.1, mixup 0.8 / cutmix 1.0 with each hand's
#   own class count, 16 frames at stride 4, test 5 clips x 3 crops; LayerNorm eps 1e-5
#   (ADH-ViT's models use nn.LayerNorm's default; its checkpoints need it). No horizontal
#   flip (it would swap the hands). On GPUs add --amp.
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
batch_size = 8  # per GPU
switch_every = 50
max_epochs = 50
warmup_epochs = 5

head = dict(type='TimeSformerHead', in_channels=768, label_smooth_eps=0.1,
            average_clips='prob')
model = dict(
    type='DualHandRecognizer',
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
                      blending=dict(type='RandomBatchAugment', augments=[
                          dict(type='MixupBlending', alpha=0.8),
                          dict(type='CutmixBlending', alpha=1.0)]))))

mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
rand_augment = 'rand-m7-n4-mstd0.5-inc1'
num_repeats = 2  # repeated augmentation (the originals' --num_sample)
train_pipeline = [
    dict(type='FastVideoInit'),
    dict(type='SampleFrames', clip_len=num_frames, frame_interval=frame_interval,
         num_clips=1),
    dict(type='FastVideoDecode', scale=(-1, 256)),  # = DecordDecode + Resize, faster
    dict(type='RepeatAugment', num_repeats=num_repeats, transforms=[
        # timm's RandAugment, the same ops and magnitudes on every frame of the clip
        dict(type='VideoRandAugment', config_str=rand_augment, crop_size=img_size),
        dict(type='RandomResizedCrop', area_range=(0.5, 1.0)),
        dict(type='Resize', scale=(img_size, img_size), keep_ratio=False),
        # the originals' mode='pixel' on normalised clips: normal(mean, std) per pixel
        dict(type='RandomErasing', erase_prob=0.25, mode='rand', fill_color=mean,
             fill_std=std),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs'),
    ]),
]
val_pipeline = [
    dict(type='FastVideoInit'),
    dict(type='SampleFrames', clip_len=num_frames, frame_interval=frame_interval,
         num_clips=1, test_mode=True),
    dict(type='FastVideoDecode', scale=(-1, img_size)),  # = DecordDecode + Resize, faster
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='FastVideoInit'),
    dict(type='SampleFrames', clip_len=num_frames, frame_interval=frame_interval,
         num_clips=5, test_mode=True),
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
                       schedule='fixed', drop_last=True),
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
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.1),
    constructor='LearningRateDecayOptimizerConstructor',
    paramwise_cfg=dict(decay_rate=0.9, decay_type='layer_wise', num_layers=12),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
# lr 1e-3 is for a total batch of 256: scaled to batch_size x GPUs at start.
auto_scale_lr = dict(enable=True, base_batch_size=256)

default_hooks = dict(
    logger=dict(interval=20),
    # epoch checkpoints; for mid-epoch ones (exact resume at the saved batch) use
    # checkpoint=dict(by_epoch=False, interval=500)
    checkpoint=dict(interval=1, max_keep_ckpts=2, save_best='hand_acc/mean_top1',
                    rule='greater'))
