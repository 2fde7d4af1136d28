# configs/havid_alternating.py with the project's epoch instead of ADH-ViT's: a deliberate
# departure. ADH-ViT's epoch is the left-hand list's batches (the right list restarts
# when it runs out, or is cut short when it is longer); here an epoch is one pass over
# BOTH lists: blocks of 50 batches alternate strictly from the left hand, then the
# longer list's rest ('fixed'; 'proportional' ends both lists together). Epoch-based
# schedules, checkpoints and validation then mean "every clip of both hands once".
# The 50-epoch schedule covers a different number of iterations than the authors' run.
_base_ = './havid_alternating.py'

train_dataloader = dict(batch_sampler=dict(schedule='fixed'))
