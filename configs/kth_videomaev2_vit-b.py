# VideoMAEv2 ViT-B (distilled from ViT-g, Kinetics-710 fine-tuned) fine-tuned on KTH.
#
# CHECKPOINT: `load_from` below points at VideoMAEv2's `vit_b_k710_dl_from_giant.pth`
# (original format, weights under `module`; its 710-class head is replaced by a fresh
# 6-class one). Elsewhere: --cfg-options load_from=/path/to/it.pth
# DATA and PROTOCOL: as configs/kth_amd_vit-s_k400.py (official person split,
# sub-sequences; see configs/_base_/kth_vit_finetune.py).
_base_ = './_base_/kth_vit_finetune.py'

load_from = 'checkpoints/vit_b_k710_dl_from_giant.pth'

model = dict(
    backbone=dict(arch='b', drop_path_rate=0.2),
    cls_head=dict(in_channels=768))
optim_wrapper = dict(paramwise_cfg=dict(num_layers=12))
