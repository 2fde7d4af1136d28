# Mixing: MMAction2's own TSN R50 config (ImageNet-pretrained, from the installed package)
# with KTHDataset swapped in; everything else (model, schedule, runtime) is stock.
# Data as in configs/kth_amd_vit-s_k400.py (data/kth + 00sequences.txt).
_base_ = [
    'mmaction::recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb.py'
]

custom_imports = dict(imports=['mmaction_ext'], allow_failed_imports=False)

data_root = 'data/kth'
sequences_file = 'data/kth/00sequences.txt'
# --cfg-options data_root=DIR / sequences_file=FILE move the dataset paths (DataRootRunner)
parsed_data_paths = dict(data_root=data_root, sequences_file=sequences_file)
runner_type = 'DataRootRunner'

model = dict(cls_head=dict(num_classes=6))

# The stock pipelines with SafeDecordInit (stock DecordInit segfaults on KTH's truncated
# file) and ConfineFrameRange (sampling inside each sub-sequence).
train_pipeline = [
    dict(type='SafeDecordInit'),
    dict(type='ConfineFrameRange'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=3),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='MultiScaleCrop', input_size=224, scales=(1, 0.875, 0.75, 0.66),
         random_crop=False, max_wh_scale_gap=1),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='SafeDecordInit'),
    dict(type='ConfineFrameRange'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=3, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='SafeDecordInit'),
    dict(type='ConfineFrameRange'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=25, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='TenCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs'),
]

train_dataloader = dict(dataset=dict(
    _delete_=True, type='KTHDataset', data_prefix=dict(video=data_root), split='train',
    sequences_file=sequences_file, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    _delete_=True, type='KTHDataset', data_prefix=dict(video=data_root), split='val',
    sequences_file=sequences_file, pipeline=val_pipeline, test_mode=True))
test_dataloader = dict(dataset=dict(
    _delete_=True, type='KTHDataset', data_prefix=dict(video=data_root), split='test',
    sequences_file=sequences_file, pipeline=test_pipeline, test_mode=True))

default_hooks = dict(checkpoint=dict(save_best='acc/top1', max_keep_ckpts=1),
                     # refuse partial checkpoints and evaluations that skip/repeat samples
                     checkpoint_coverage=dict(type='CheckpointCoverageHook'),
                     sample_coverage=dict(type='SampleCoverageHook'))
