# configs/havid_alternating.py with model selection on a held-out part of the TRAINING
# lists: a deliberate departure (the authors train on the whole list and test the last
# epoch). 10% of each hand's training clips (fixed by holdout_seed) are left out of
# training and scored after every epoch; best_hand_acc_mean_top1_epoch_N.pth is the
# checkpoint to test on the val list. Never select on the val list itself: it is the
# list HA-ViD results are reported on.
_base_ = './havid_alternating.py'

holdout = dict(type='HAViDHoldoutDataset', split='train', holdout_fraction=0.1,
               holdout_seed=0)
train_dataloader = dict(dataset=dict(holdout, part='train'))
val_dataloader = dict(dataset=dict(holdout, part='heldout'))
default_hooks = dict(checkpoint=dict(save_best='hand_acc/mean_top1', rule='greater'))
