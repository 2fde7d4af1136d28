# The demos' schedule: AdamW, gradient clipping, linear warm-up then cosine, by epoch.
# A demo with another length overrides `train_cfg` and `param_scheduler` (same shape:
# warm-up epochs W, cosine over the rest, T_max = max_epochs - W).
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=18, eta_min=1e-5, by_epoch=True, begin=2, end=20,
         convert_to_iter_based=True),
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
randomness = dict(seed=0, deterministic=False)
