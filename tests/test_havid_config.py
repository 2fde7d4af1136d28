"""configs/havid_alternating.py: the ADH-ViT recipe, buildable, paths overridable."""
from __future__ import annotations

import os

from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_recipe_values_and_overrides():
    cfg = Config.fromfile(os.path.join(REPO, 'configs/havid_alternating.py'))
    cfg.merge_from_dict({'model.backbone.pretrained': '/ckpt/vit_b.pth',
                         'train_dataloader.dataset.data_root': '/data/havid'})
    assert cfg.model.backbone.pretrained == '/ckpt/vit_b.pth'
    assert cfg.train_dataloader.dataset.data_root == '/data/havid'
    assert cfg.model.backbone.arch == 'b' and cfg.model.backbone.drop_path_rate == 0.3
    assert cfg.model.lh_head.num_classes == cfg.model.rh_head.num_classes == 75
    assert cfg.train_cfg.type == 'AlternatingTrainLoop' and cfg.train_cfg.max_epochs == 50
    assert cfg.train_dataloader.batch_sampler.switch_every == 50
    assert cfg.optim_wrapper.paramwise_cfg.decay_rate == 0.9
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.1
    assert cfg.optim_wrapper.clip_grad.max_norm == 5.0
    assert cfg.param_scheduler[0].end == 5 and cfg.auto_scale_lr.base_batch_size == 256
    sample = cfg.train_dataloader.dataset.pipeline[1]
    assert (sample.clip_len, sample.frame_interval) == (16, 4)
    test_sample = cfg.test_dataloader.dataset.pipeline[1]
    test_types = [step.type for step in cfg.test_dataloader.dataset.pipeline]
    assert test_sample.num_clips == 5 and 'ThreeCrop' in test_types
    assert not any(t.type == 'Flip' for t in cfg.train_dataloader.dataset.pipeline)


def test_model_builds_with_per_hand_blending():
    cfg = Config.fromfile(os.path.join(REPO, 'configs/havid_alternating.py'))
    init_default_scope('mmaction')
    cfg.model.backbone.update(arch=dict(embed_dims=32, depth=1, num_heads=2), img_size=32,
                              num_frames=4, pretrained=None)
    cfg.model.lh_head.in_channels = cfg.model.rh_head.in_channels = 32
    model = MODELS.build(cfg.model)
    blending = model.data_preprocessor.blending
    assert {h: b.num_classes for h, b in blending.blendings.items()} == {'lh': 75, 'rh': 75}
    assert model.lh_head.fc_cls.out_features == model.rh_head.fc_cls.out_features == 75
