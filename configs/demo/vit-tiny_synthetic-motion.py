# A tiny ViT recognizer on synthetic motion clips (4 classes, 64x64): the CPU demo.
# Frames are sampled at stride 2 so that one tubelet (2 frames) sees a visible shift.
# Data: `python tools/make_synthetic_data.py classification data/synthetic_demo`
# (train / val for checkpoint selection / held-out test, each with its own appearances).
_base_ = ['../_base_/ext_runtime.py', '../_base_/schedules/demo_adamw_cosine.py']

num_classes = 4
num_frames = 8
data_root = 'data/synthetic_demo'
# --cfg-options data_root=DIR moves the dataset paths (DataRootRunner)
parsed_data_paths = dict(data_root=data_root)

model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='VisionTransformer', img_size=64, patch_size=16, embed_dims=96, depth=3,
        num_heads=4, mlp_ratio=4, qkv_bias=True, num_frames=num_frames, tubelet_size=2,
        norm_cfg=dict(type='LN', eps=1e-6), drop_path_rate=0.0),
    cls_head=dict(type='TimeSformerHead', num_classes=num_classes, in_channels=96,
                  average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[114.75, 114.75, 114.75],
        std=[57.375, 57.375, 57.375], format_shape='NCTHW'))

file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='SafeDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=num_frames, frame_interval=2, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 72)),
    dict(type='RandomCrop', size=64),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='SafeDecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=num_frames, frame_interval=2, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 72)),
    dict(type='CenterCrop', crop_size=64),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]

train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='VideoDataset', ann_file=f'{data_root}/train_list.txt',
                 data_prefix=dict(video=f'{data_root}/videos'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoDataset', ann_file=f'{data_root}/val_list.txt',
                 data_prefix=dict(video=f'{data_root}/videos'), pipeline=test_pipeline,
                 test_mode=True))
test_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoDataset', ann_file=f'{data_root}/test_list.txt',
                 data_prefix=dict(video=f'{data_root}/videos'), pipeline=test_pipeline,
                 test_mode=True))

val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator


default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=5, max_keep_ckpts=2, save_best='auto'))
