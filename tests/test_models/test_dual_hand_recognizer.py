"""DualHandRecognizer and HandAwareBlending, checked against direct computations."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.registry import init_default_scope

import mmaction_ext  # noqa: F401

DIMS = 32
NUM_CLASSES = {'lh': 3, 'rh': 4}


def _backbone(kind: str = 'VisionTransformer') -> dict:
    if kind == 'MAEVisionTransformer':
        return dict(type=kind, arch=dict(embed_dims=DIMS, depth=1, num_heads=2), img_size=32,
                    num_frames=4)
    return dict(type=kind, img_size=32, patch_size=16, embed_dims=DIMS, depth=1, num_heads=2,
                num_frames=4, tubelet_size=2, norm_cfg=dict(type='LN', eps=1e-6))


def build(blending: dict | None = None, backbone: str = 'VisionTransformer', **kw):
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='DualHandRecognizer', backbone=_backbone(backbone),
        lh_head=dict(num_classes=NUM_CLASSES['lh'], in_channels=DIMS),
        rh_head=dict(num_classes=NUM_CLASSES['rh'], in_channels=DIMS),
        data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW',
                               blending=blending), **kw))
    model.init_weights()
    # distinct, non-trivial head biases so that a swapped head cannot match by accident
    with torch.no_grad():
        model.lh_head.fc_cls.bias.copy_(torch.arange(3.) * 0.3)
        model.rh_head.fc_cls.bias.copy_(-torch.arange(4.) * 0.2)
    return model


def samples(hands: list, labels: list) -> list:
    out = []
    for hand, label in zip(hands, labels):
        s = ActionDataSample().set_gt_label(label)
        if hand is not None:
            s.set_metainfo(dict(hand=hand))
        out.append(s)
    return out


def clips(n: int, views: int = 1) -> torch.Tensor:
    return torch.randn(n, views, 3, 4, 32, 32, generator=torch.Generator().manual_seed(n))


def test_training_batch_goes_through_its_head_only():
    model = build()
    x, labels = clips(4), [3, 0, 2, 1]
    losses = model.loss(x, samples(['rh'] * 4, labels))
    feats = model.backbone(x.flatten(0, 1))
    ref = F.cross_entropy(F.linear(feats, model.rh_head.fc_cls.weight,
                                   model.rh_head.fc_cls.bias), torch.tensor(labels))
    torch.testing.assert_close(losses['rh_loss_cls'], ref)
    assert 'lh_loss_cls' not in losses and float(losses['loss_idle_head']) == 0.0
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    # the idle head is in the graph (DDP needs no find_unused_parameters) with zero grads
    assert all(p.grad is not None and not p.grad.any() for p in model.lh_head.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.rh_head.parameters())
    assert model.release_idle_head_grads() == ['lh']
    assert all(p.grad is None for p in model.lh_head.parameters())
    assert model.rh_head.fc_cls.weight.grad is not None


def test_mixed_batch_loss_is_the_mean_over_all_samples():
    model = build()
    x, hands, labels = clips(5), ['lh', 'rh', 'rh', 'lh', 'rh'], [2, 3, 0, 1, 1]
    losses = model.loss(x, samples(hands, labels))
    feats = model.backbone(x.flatten(0, 1))
    per_sample = [F.cross_entropy(model.head(h).fc_cls(f[None]), torch.tensor([y]))
                  for f, h, y in zip(feats, hands, labels)]
    total = losses['lh_loss_cls'] + losses['rh_loss_cls']
    torch.testing.assert_close(total, torch.stack(per_sample).mean())
    assert 'loss_idle_head' not in losses


def test_sample_without_hand_is_refused_in_training():
    with pytest.raises(KeyError, match="hand=None"):
        build().loss(clips(2), samples([None, 'lh'], [0, 1]))


def test_predict_routes_each_sample_and_averages_views():
    model = build().eval()
    x, hands = clips(3, views=2), ['rh', 'lh', None]
    with torch.no_grad():
        out = model.predict(x, samples(hands, [0, 1, 2]))
        feats = model.backbone(x.flatten(0, 1)).view(3, 2, DIMS)
    for i, hand in enumerate(hands):
        for h in ([hand] if hand else ['lh', 'rh']):
            ref = F.softmax(model.head(h).fc_cls(feats[i]), dim=-1).mean(0)
            got = out[i].pred_score if hand else out[i].get(f'{h}_pred_score')
            torch.testing.assert_close(got, ref)
            assert got.shape == (NUM_CLASSES[h],)
    # A hand-less sample also answers MMAction2's stock readers (inferencers, visualizer):
    # pred_label = [lh label, rh label], pred_score = lh scores then rh scores.
    torch.testing.assert_close(out[2].pred_score,
                               torch.cat([out[2].lh_pred_score, out[2].rh_pred_score]))
    assert out[2].pred_label.tolist() == [int(out[2].lh_pred_score.argmax()),
                                          int(out[2].rh_pred_score.argmax())]


MIXUP = dict(type='MixupBlending', alpha=0.4)


def test_hand_aware_blending_uses_each_hands_class_count():
    model = build(dict(type='HandAwareBlending', num_classes=NUM_CLASSES,
                       blending=dict(type='RandomBatchAugment',
                                     augments=[MIXUP, dict(type='CutmixBlending', alpha=1.0)])))
    for hand in ('lh', 'rh'):
        data = dict(inputs=list(clips(4)), data_samples=samples([hand] * 4, [0, 1, 2, 1]))
        out = model.data_preprocessor(data, training=True)
        labels = torch.stack([s.gt_label for s in out['data_samples']])
        assert labels.shape == (4, NUM_CLASSES[hand]), f'{hand}: wrong soft-label length'
        torch.testing.assert_close(labels.sum(1), torch.ones(4))
        losses = model.loss(out['inputs'], out['data_samples'])
        assert torch.isfinite(losses[f'{hand}_loss_cls'])


@pytest.mark.parametrize('blending,message', [
    (dict(type='HandAwareBlending', num_classes=dict(lh=3, rh=5), blending=MIXUP),
     r"num_classes\['rh'\]=5 but rh_head has 4"),
    (dict(MIXUP, num_classes=4), 'uses one class count for both hands'),
    (dict(type='HandAwareBlending', num_classes=NUM_CLASSES, blending=dict(MIXUP, num_classes=4)),
     "blending for hand 'lh' says num_classes=4"),
])
def test_mixup_with_wrong_class_count_is_refused(blending, message):
    with pytest.raises(ValueError, match=message):
        build(blending)


def test_hand_aware_blending_refuses_mixed_batches():
    model = build(dict(type='HandAwareBlending', num_classes=NUM_CLASSES, blending=MIXUP))
    data = dict(inputs=list(clips(2)), data_samples=samples(['lh', 'rh'], [0, 1]))
    with pytest.raises(ValueError, match='one-hand batch'):
        model.data_preprocessor(data, training=True)


def _to_adh_vit(state_dict: dict) -> dict:
    """Rename this model's keys into ADH-ViT's (written independently of the converter)."""
    out = {}
    for key, value in state_dict.items():
        if key == 'backbone.pos_embed':
            continue  # fixed sinusoid: the originals do not save it
        key = key.replace('backbone.', '', 1).replace('patch_embed.projection', 'patch_embed.proj')
        key = key.replace('mlp.layers.0.0', 'mlp.fc1').replace('mlp.layers.1', 'mlp.fc2')
        key = key.replace('_head.fc_cls.', '_head.')
        out[key] = value.clone()
    return out


def test_loads_adh_vit_checkpoint_into_both_heads(tmp_path):
    from mmengine.runner import load_checkpoint
    source = build(backbone='MAEVisionTransformer')
    assert source._original_checkpoint_hook
    with torch.no_grad():
        for p in source.parameters():
            p.add_(torch.randn_like(p))
    path = tmp_path / 'adh_vit.pth'
    adh = _to_adh_vit(source.state_dict())
    assert 'lh_head.weight' in adh and 'blocks.0.mlp.fc1.weight' in adh
    torch.save({'model': adh}, path)
    target = build(backbone='MAEVisionTransformer')
    load_checkpoint(target, str(path), strict=True)
    for key, value in source.state_dict().items():
        torch.testing.assert_close(target.state_dict()[key], value, msg=key)


def test_single_head_checkpoint_loads_backbone_only(tmp_path):
    from mmengine.runner import load_checkpoint
    source = build(backbone='MAEVisionTransformer')
    with torch.no_grad():
        for p in source.backbone.parameters():
            p.add_(1.0)
    single = {k: v for k, v in _to_adh_vit(source.state_dict()).items() if '_head.' not in k}
    single['head.weight'], single['head.bias'] = torch.randn(710, DIMS), torch.randn(710)
    torch.save({'module': single}, tmp_path / 'k710.pth')
    target = build(backbone='MAEVisionTransformer')
    heads_before = {k: v.clone() for k, v in target.state_dict().items() if '_head.' in k}
    load_checkpoint(target, str(tmp_path / 'k710.pth'), strict=False)
    for key, value in source.backbone.state_dict().items():
        torch.testing.assert_close(target.backbone.state_dict()[key], value, msg=key)
    for key, value in heads_before.items():
        assert target.state_dict()[key].shape == value.shape


def test_fresh_heads_are_scaled_by_init_scale():
    """init_scale multiplies both fresh heads (0.001: VideoMAEv2's single-head rule)."""
    from mmaction.registry import MODELS
    heads = {}
    for scale in (1.0, 0.001):
        torch.manual_seed(0)
        model = MODELS.build(dict(
            type='DualHandRecognizer', init_scale=scale,
            backbone=dict(type='MAEVisionTransformer', img_size=32, num_frames=4,
                          arch=dict(embed_dims=32, depth=1, num_heads=2)),
            lh_head=dict(num_classes=3, in_channels=32),
            rh_head=dict(num_classes=4, in_channels=32)))
        model.init_weights()
        heads[scale] = {n: p.detach().clone() for n, p in model.named_parameters()}
    for name, value in heads[1.0].items():
        expected = value * 0.001 if '_head.fc_cls' in name else value
        assert torch.allclose(heads[0.001][name], expected, atol=1e-12), name
    assert heads[1.0]['lh_head.fc_cls.weight'].std() > 0.01  # a real init was scaled
