# VideoMAE ViT-L (1024 wide, 24 blocks, ~0.3 B parameters) fine-tuned on KTH, sharded over
# all GPUs (ShardedDataParallel: torch FSDP2, one unit per block) with per-block
# activation checkpointing. Protocol as configs/kth_videomaev2_vit-b.py.
#
#   torchrun --nproc_per_node=4 tools/train.py configs/kth_videomae_vit-l_fsdp.py \
#       --launcher pytorch --cfg-options load_from=/path/vit_l_k400_ft.pth
#
# bf16 compute (fp32 master weights, fp32 gradient reduction) is on by default on GPU:
# do not add --amp. Checkpoints are full single-file state dicts (tools/test.py loads them
# unsharded).
_base_ = './_base_/kth_vit_finetune.py'

load_from = 'checkpoints/vit_l_k400_ft.pth'  # original VideoMAE/VideoMAEv2 format

runner_type = 'ShardedRunner'
model_wrapper_cfg = dict(_delete_=True, type='ShardedDataParallel',
                         unit_lists=('backbone.blocks',), mixed_precision='auto',
                         cpu_offload=False)

model = dict(
    backbone=dict(arch='l', drop_path_rate=0.2, with_cp=True),
    cls_head=dict(in_channels=1024))
optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.8, num_layers=24))
