# configs/havid_alternating.py without the horizontal flip: a deliberate departure from
# the authors' recipe. Their flip (p=0.5) mirrors the frame, so the left hand appears on
# the right side while keeping its left-hand label; this variant keeps every hand on its
# own side. Numbers from it are not the authors' recipe: say so when reporting.
# (The training pipeline below is the base one without Flip;
# tests/test_configs/test_recipe.py checks.)
_base_ = './havid_alternating.py'

img_size = 224
mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
train_pipeline = [
    dict(type='FastVideoInit'),
    dict(type='SpreadSampleFrames', clip_len=16, frame_interval=4, num_clips=1),
    dict(type='FastVideoDecode', scale=1.0),
    dict(type='RepeatAugment', num_repeats=2, transforms=[
        dict(type='VideoRandAugment', config_str='rand-m7-n4-mstd0.5-inc1',
             crop_size=img_size),
        dict(type='RandomResizedCrop', area_range=(0.08, 1.0),
             aspect_ratio_range=(3 / 4, 4 / 3)),
        dict(type='Resize', scale=(img_size, img_size), keep_ratio=False),
        dict(type='RandomErasing', erase_prob=0.25, mode='rand', fill_color=mean,
             fill_std=std),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs'),
    ]),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
