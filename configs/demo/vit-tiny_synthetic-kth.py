# A tiny ViT on a synthetic KTH-named tree (6 actions = 6 motion directions), CPU demo:
# trains on the official training persons (191 videos), keeps the best checkpoint on the
# validation persons and is tested on the held-out test persons (about 1.5 min on 2 CPUs).
#   python -m mmaction_ext.synthetic.kth data/kth_synthetic
#   python tools/train.py configs/demo/vit-tiny_synthetic-kth.py
#   python tools/test.py configs/demo/vit-tiny_synthetic-kth.py \
#       work_dirs/vit-tiny_synthetic-kth/best_acc_top1_epoch_12.pth --dump results.pkl
#   python tools/analyze_results.py results.pkl --config configs/demo/vit-tiny_synthetic-kth.py \
#       --out-dir work_dirs/vit-tiny_synthetic-kth/analysis
_base_ = ['../_base_/ext_runtime.py', '../_base_/schedules/demo_adamw_cosine.py']

data_root = 'data/kth_synthetic'
# --cfg-options data_root=DIR moves the dataset paths (DataRootRunner)
parsed_data_paths = dict(data_root=data_root)
scenarios = ('d1', 'd2', 'd3', 'd4')
num_frames = 8
size = 64

model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='VisionTransformer', img_size=size, patch_size=16, embed_dims=96, depth=3,
        num_heads=4, mlp_ratio=4, qkv_bias=True, num_frames=num_frames, tubelet_size=2,
        norm_cfg=dict(type='LN', eps=1e-6), drop_path_rate=0.0),
    cls_head=dict(type='TimeSformerHead', num_classes=6, in_channels=96,
                  average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[114.75, 114.75, 114.75],
        std=[57.375, 57.375, 57.375], format_shape='NCTHW'))

# The metadata the error analysis groups by travels with every prediction.
meta_keys = ('img_shape', 'filename', 'video_id', 'person', 'scenario', 'frame_range')
# No horizontal flip: it would turn one motion direction (= class) into another.
train_pipeline = [
    dict(type='SafeDecordInit'),  # DecordInit segfaults on truncated files
    dict(type='ConfineFrameRange'),
    dict(type='SampleFrames', clip_len=num_frames, frame_interval=2, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(size, size), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='SafeDecordInit'),  # DecordInit segfaults on truncated files
    dict(type='ConfineFrameRange'),
    dict(type='SampleFrames', clip_len=num_frames, frame_interval=2, num_clips=2,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(size, size), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]


def _kth(split, pipeline, test_mode=False):
    return dict(type='KTHDataset', data_prefix=dict(video=data_root), split=split,
                scenarios=scenarios, pipeline=pipeline, test_mode=test_mode)


train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=_kth('train', train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=_kth('val', test_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=_kth('test', test_pipeline, test_mode=True))

val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=6)

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=11, eta_min=1e-5, by_epoch=True, begin=1, end=12,
         convert_to_iter_based=True),
]

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=6, max_keep_ckpts=1, save_best='auto'))
