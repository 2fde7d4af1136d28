# ADH-ViT's alternating dual-hand recipe (configs/havid_alternating.py) with VideoMAEv2's
# ViT-g (patch 14, 1408 wide, 40 blocks, ~1.0 B parameters), sharded over all GPUs.
#
# ViT-g does not fit DDP on common cards: fp32 weights + gradients + AdamW states alone
# are ~16 GB per GPU before activations. Here every GPU holds 1/N of them
# (ShardedDataParallel: torch FSDP2, one unit per block; docs/sharded_training.md has the
# memory table) and activations are checkpointed per block (with_cp).
#
#   torchrun --nproc_per_node=8 tools/train.py configs/havid_alternating_vit-g_fsdp.py \
#       --launcher pytorch --cfg-options \
#       model.backbone.pretrained=/path/vit_g_hybrid_pt_1200e_k710_ft.pth \
#       train_dataloader.dataset.data_root=/path/havid \
#       val_dataloader.dataset.data_root=/path/havid test_dataloader.dataset.data_root=/path/havid
#
# bf16 compute with fp32 master weights and fp32 gradient reduction is on by default on
# GPU (model_wrapper_cfg.mixed_precision='auto'): do not add --amp. Checkpoints are full
# single-file state dicts: tools/test.py loads them on one GPU, unsharded.
# More memory: model_wrapper_cfg.cpu_offload=True (parameters, gradients and AdamW states
# in CPU memory; slower).
_base_ = './havid_alternating.py'

pretrained = 'checkpoints/vit_g_hybrid_pt_1200e_k710_ft.pth'  # backbone; heads start fresh
batch_size = 2  # clips per GPU (memory); the lr and min lr follow the total batch / 256

runner_type = 'ShardedRunner'
model_wrapper_cfg = dict(_delete_=True, type='ShardedDataParallel',
                         unit_lists=('backbone.blocks',), mixed_precision='auto',
                         cpu_offload=False)

model = dict(
    backbone=dict(arch='g', with_cp=True, drop_path_rate=0.3, pretrained=pretrained),
    lh_head=dict(in_channels=1408),
    rh_head=dict(in_channels=1408))

train_dataloader = dict(batch_size=batch_size)
val_dataloader = dict(batch_size=batch_size)
optim_wrapper = dict(paramwise_cfg=dict(num_layers=40))
