"""MSTCN and DualHandMSTCN: shapes, masking, the published defaults, and the loss against
MS-TCN's training-loop formula restated independently (yabufarha/ms-tcn model.py)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from torch import nn

import mmaction_ext  # noqa: F401


def _sample(video: str, **fields) -> ActionDataSample:
    s = ActionDataSample()
    s.set_metainfo(dict(video=video, sample_rate=fields.pop('sample_rate', 1),
                        num_frames=fields.pop('num_frames')))
    for k, v in fields.items():
        s.set_field(v, k)
    return s


def reference_ms_tcn_loss(predictions, batch_target, mask_nct, num_classes):
    """The loss lines of ms-tcn's Trainer.train, unchanged in meaning."""
    ce = nn.CrossEntropyLoss(ignore_index=-100)
    mse = nn.MSELoss(reduction='none')
    loss = 0
    for p in predictions:
        loss += ce(p.transpose(2, 1).contiguous().view(-1, num_classes), batch_target.view(-1))
        loss += 0.15 * torch.mean(torch.clamp(
            mse(F.log_softmax(p[:, :, 1:], dim=1), F.log_softmax(p.detach()[:, :, :-1], dim=1)),
            min=0, max=16) * mask_nct[:, :, 1:])
    return loss


def test_ms_tcn_defaults_are_the_published_ones():
    model = MODELS.build(dict(type='MSTCN', in_channels=2048, num_classes=48))
    assert len(model.refine.stages) + 1 == 4
    assert [layer.conv_dilated.dilation[0] for layer in model.stage1.layers] == \
        [2 ** i for i in range(10)]
    assert model.stage1.conv_1x1.out_channels == 64
    assert model.stage1.layers[0].dropout.p == 0.5
    assert (model.loss_fn.smooth_weight, model.loss_fn.clamp) == (0.15, 16.0)
    # parameter count of ms-tcn's MultiStageModel(4, 10, 64, 2048, 48), counted by hand:
    stage = lambda d, c: d * 64 + 64 + 10 * (64 * 64 * 3 + 64 + 64 * 64 + 64) + 64 * c + c  # noqa
    assert sum(p.numel() for p in model.parameters()) == stage(2048, 48) + 3 * stage(48, 48)


def test_ms_tcn_shapes_masking_and_loss_match_reference():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='MSTCN', in_channels=5, num_classes=3, num_stages=3,
                              num_layers=4, num_f_maps=8)).eval()  # eval: dropout off
    lengths = (9, 14)
    inputs = [{'label': torch.randn(5, n)} for n in lengths]
    gts = [torch.randint(0, 3, (n,)) for n in lengths]
    samples = [_sample(f'v{i}', gt_labels=g, num_frames=len(g)) for i, g in enumerate(gts)]
    logits = model(inputs, samples, mode='tensor')['label']
    assert [tuple(x.shape) for x in logits] == [(2, 3, 14)] * 3
    assert all(x[0, :, 9:].abs().max() == 0 for x in logits)   # zero past the shorter video
    losses = model(inputs, samples, mode='loss')
    target = torch.full((2, 14), -100, dtype=torch.long)
    for i, g in enumerate(gts):
        target[i, :len(g)] = g
    mask = torch.zeros(2, 3, 14)                                  # ms-tcn's (N, C, T) mask
    mask[0, :, :9] = mask[1, :, :] = 1
    expected = reference_ms_tcn_loss(logits, target, mask, 3)
    assert (losses['loss_ce'] + losses['loss_tmse']).item() == pytest.approx(expected.item(),
                                                                            rel=1e-6)
    out = model(inputs, samples, mode='predict')
    assert [len(s.pred_labels) for s in out] == list(lengths)
    torch.testing.assert_close(out[1].pred_labels, logits[-1][1].argmax(0))


def test_truncation_of_the_smoothing_term_bites():
    loss = MODELS.build(dict(type='MSTCNLoss'))
    logits = torch.zeros(1, 2, 2)
    logits[0, 0, 1] = 100.0   # log-softmax: [-ln 2, -ln 2] then [~0, ~-100]
    out = loss([logits], torch.tensor([[0, 0]]), torch.ones(1, 1, 2))
    # class 0 moves by ln 2 (squared 0.48), class 1 by ~99.3 (squared ~9860, clamped to 16)
    assert out['tmse'].item() == pytest.approx(0.15 * (math.log(2) ** 2 + 16) / 2, rel=1e-5)


def test_predict_repeats_subsampled_steps_to_every_frame():
    model = MODELS.build(dict(type='MSTCN', in_channels=2, num_classes=2, num_stages=1,
                              num_layers=1, num_f_maps=4)).eval()
    s = _sample('v', gt_labels=torch.zeros(7, dtype=torch.long), num_frames=7, sample_rate=2)
    (out,) = model([{'label': torch.randn(2, 4)}], [s], mode='predict')
    steps = model([{'label': torch.randn(2, 4)}], [s], mode='tensor')  # shape only
    assert steps['label'][-1].shape[-1] == 4 and len(out.pred_labels) == 7
    assert out.pred_labels[0] == out.pred_labels[1] and out.pred_labels[4] == out.pred_labels[5]


def _dual():
    return MODELS.build(dict(type='DualHandMSTCN', in_channels=dict(lh=5, rh=6),
                             num_classes=dict(lh=3, rh=4), num_stages=3, num_layers=3,
                             num_f_maps=8)).eval()


def test_dual_hand_shapes_own_classes_and_shared_first_stage():
    torch.manual_seed(0)
    model = _dual()
    inputs = [{'lh': torch.randn(5, 11), 'rh': torch.randn(6, 11)}]
    out = model(inputs, mode='tensor')
    assert [tuple(x.shape) for x in out['lh']] == [(1, 3, 11)] * 3
    assert [tuple(x.shape) for x in out['rh']] == [(1, 4, 11)] * 3
    # the shared stage sees both hands: changing the right hand's features moves the left's
    changed = [{'lh': inputs[0]['lh'], 'rh': inputs[0]['rh'] + 1.0}]
    assert not torch.allclose(model(changed, mode='tensor')['lh'][0], out['lh'][0])
    assert set(model.refiners) == {'lh', 'rh'} and len(model.refiners['lh'].stages) == 2


def test_dual_hand_loss_is_each_hands_reference_loss_and_refiners_stay_apart():
    torch.manual_seed(1)
    model = _dual()
    inputs = [{'lh': torch.randn(5, 10), 'rh': torch.randn(6, 10)}]
    gt = {'lh': torch.randint(0, 3, (10,)), 'rh': torch.randint(0, 4, (10,))}
    samples = [_sample('v', lh_gt_labels=gt['lh'], rh_gt_labels=gt['rh'], num_frames=10)]
    logits = model(inputs, samples, mode='tensor')
    losses = model(inputs, samples, mode='loss')
    assert sorted(losses) == ['lh_loss_ce', 'lh_loss_tmse', 'rh_loss_ce', 'rh_loss_tmse']
    for hand, c in (('lh', 3), ('rh', 4)):
        expected = reference_ms_tcn_loss(logits[hand], gt[hand][None], torch.ones(1, c, 10), c)
        got = losses[f'{hand}_loss_ce'] + losses[f'{hand}_loss_tmse']
        assert got.item() == pytest.approx(expected.item(), rel=1e-6)
    (losses['rh_loss_ce'] + losses['rh_loss_tmse']).backward()
    assert all(p.grad is None for p in model.refiners['lh'].parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.shared_stage.parameters())


def test_wrong_feature_rows_name_the_video_and_the_fix():
    model = _dual()
    s = _sample('kitchen_03', lh_gt_labels=torch.zeros(4), rh_gt_labels=torch.zeros(4),
                num_frames=4)
    with pytest.raises(ValueError, match=r"kitchen_03 \(rh\): features of shape \(9, 4\).*"
                                         r"\(6, T\); set in_channels"):
        model([{'lh': torch.randn(5, 4), 'rh': torch.randn(9, 4)}], [s], mode='tensor')


def test_demo_config_builds_the_published_ms_tcn_per_hand():
    from mmengine.config import Config
    from segmentation_helpers import REPO
    cfg = Config.fromfile(f'{REPO}/configs/segmentation/'
                          'ms-tcn_dual-hand_vit-tiny-feats_synthetic-havid-long.py')
    model = MODELS.build(cfg.model)
    assert model.num_classes == {'lh': 3, 'rh': 4} and model.in_channels == {'lh': 99, 'rh': 100}
    assert len(model.shared_stage.layers) == 10 and model.shared_stage.conv_1x1.out_channels == 64
    assert [len(model.refiners[h].stages) for h in ('lh', 'rh')] == [3, 3]
    assert cfg.train_dataloader.batch_size == 1 and cfg.optim_wrapper.optimizer.lr == 5e-4
