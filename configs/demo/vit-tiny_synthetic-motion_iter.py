# The synthetic demo with an iteration-based schedule: short runs for tests, resume
# checks and distributed soaks (checkpoint and validation every 10 iterations).
_base_ = './vit-tiny_synthetic-motion.py'

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=20, val_interval=10)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5),
    dict(type='CosineAnnealingLR', T_max=15, eta_min=1e-5, by_epoch=False, begin=5, end=20),
]
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(by_epoch=False, interval=10, max_keep_ckpts=3, save_best=None))
log_processor = dict(by_epoch=False)
train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=True))
