# Stage 3: a dual-hand MS-TCN on the demo ViT's per-frame features of long synthetic
# dual-hand videos; data and commands in docs/segmentation.md (section 5): 14 training
# videos of 1.5 min (train.split1), 4 or 12 held-out ones (test.split1 / test.split2).
# Each hand's feature: the ViT's 96-d pooled feature + its 3 (lh) / 4 (rh) class scores.
_base_ = '../_base_/ext_runtime.py'

data_root = 'data/havid_long_seg_feats'
parsed_data_paths = dict(data_root=data_root)
num_classes = dict(lh=3, rh=4)
in_channels = dict(lh=96 + 3, rh=96 + 4)
# each hand its own classes (mapping.txt holds both hands' names, as the authors' code reads)
mapping = dict(lh='mapping_left_hand.txt', rh='mapping_right_hand.txt')
sample_rate = 4  # features are means of windows every 4 frames: little is lost (the authors use 4)

# MS-TCN's published defaults: 4 stages, 10 layers, 64 feature maps, dropout 0.5,
# CE + 0.15 * T-MSE clamped at 16, Adam lr 5e-4, batch 1 (yabufarha/ms-tcn main.py).
model = dict(
    type='DualHandMSTCN', in_channels=in_channels, num_classes=num_classes,
    num_stages=4, num_layers=10, num_f_maps=64, dropout=0.5,
    loss=dict(type='MSTCNLoss', smooth_weight=0.15, clamp=16.0))

dataset_type = 'SegmentationFeatureDataset'
train_dataloader = dict(
    batch_size=1, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='splits/train.split1.bundle', tracks=('lh', 'rh'),
                 mapping=mapping, sample_rate=sample_rate))
test_dataloader = dict(
    batch_size=1, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='splits/test.split1.bundle', tracks=('lh', 'rh'),
                 mapping=mapping, sample_rate=sample_rate, test_mode=True))
test_evaluator = dict(type='TemporalSegmentationMetric', tracks=('lh', 'rh'))
test_cfg = dict(type='TestLoop')
val_dataloader = None
val_evaluator = None
val_cfg = None

# MS-TCN trains 50 epochs over its (20-1400) training videos; on 14 synthetic videos the
# loss still fell at 60 epochs: 100 epochs = 1400 steps, about 6 CPU minutes here.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=1000)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))
param_scheduler = []

default_hooks = dict(
    logger=dict(interval=14),
    checkpoint=dict(interval=100, max_keep_ckpts=1))
randomness = dict(seed=0, deterministic=False)
