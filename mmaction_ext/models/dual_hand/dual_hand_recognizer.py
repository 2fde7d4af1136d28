"""One video backbone, a classification head per hand (HA-ViD / ADH-ViT style)."""
from __future__ import annotations

import torch
from mmaction.models import Recognizer3D
from mmaction.registry import MODELS
from mmaction.utils import ConfigType, OptConfigType, SampleList
from torch import Tensor

from mmaction_ext.checkpoint import install_original_checkpoint_hook

from ..head_init import scale_fresh_heads
from .hand_blending import HANDS, HandAwareBlending, sample_hand

DEFAULT_HEAD = dict(type='TimeSformerHead', average_clips='prob')
# ADH-ViT builds lh_head/rh_head after its parent's __init__ has applied init_scale, so
# its fresh heads keep trunc_normal(std=0.02): no scaling (VideoMAEv2/AMD's single head
# gets 0.001, see ViTRecognizer3D).
ADH_VIT_INIT_SCALE = 1.0


def _head_cfg(cfg: ConfigType) -> dict:
    merged = dict(DEFAULT_HEAD)
    merged.update(cfg)
    return merged


@MODELS.register_module()
class DualHandRecognizer(Recognizer3D):
    """A 3D recognizer with a left-hand head ``lh_head`` and a right-hand head ``rh_head``.

    Every data sample names its hand in ``metainfo['hand']`` (``HAViDDataset`` does it).
    Training: each sample goes through its own hand's head only; loss keys are prefixed
    with the hand (``lh_loss_cls``, ``rh_top1_acc``) so logs show per-hand values. A head
    absent from the batch contributes ``0 * head(feats)`` (``loss_idle_head``), so every
    parameter is in the graph and DDP needs no ``find_unused_parameters``; its zero
    gradients are dropped before the optimizer step (:meth:`release_idle_head_grads`,
    called by :class:`AlternatingTrainLoop`) so Adam momentum and weight decay leave the
    idle head untouched, as in the original.
    Test: each sample is scored by its hand's head (multi-view scores averaged by the
    head's ``average_clips``); a sample without a hand gets ``lh_pred_score`` and
    ``rh_pred_score`` from both heads.

    Args:
        backbone: backbone config (e.g. ``MAEVisionTransformer``).
        lh_head, rh_head: head configs; ``type`` defaults to ``TimeSformerHead``.
        idle_head_zero_loss: add the idle head's output times zero to the loss.
        init_scale: fresh heads (trunc_normal, std 0.02) are multiplied by this; heads
            loaded from a checkpoint are not. 1.0, ADH-ViT's (its heads escape the
            parent's ``init_scale``); 0.001 gives VideoMAEv2's single-head rule. Checkpoint
            conversion reads this attribute for a fresh head too.
    """

    def __init__(self, backbone: ConfigType, lh_head: ConfigType, rh_head: ConfigType,
                 neck: OptConfigType = None, train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None, data_preprocessor: OptConfigType = None,
                 idle_head_zero_loss: bool = True,
                 init_scale: float = ADH_VIT_INIT_SCALE) -> None:
        super().__init__(backbone=backbone, neck=neck, train_cfg=train_cfg,
                         test_cfg=test_cfg, data_preprocessor=data_preprocessor)
        self.lh_head = MODELS.build(_head_cfg(lh_head))
        self.rh_head = MODELS.build(_head_cfg(rh_head))
        self.idle_head_zero_loss = idle_head_zero_loss
        self._hands_since_step: set[str] = set()
        self._check_blending()
        self.init_scale = init_scale
        install_original_checkpoint_hook(self)

    def init_weights(self) -> None:
        """Stock init (backbone ``pretrained`` included), then scale the fresh heads."""
        first = not self.is_init
        super().init_weights()
        if first:
            scale_fresh_heads(self, ('lh_head', 'rh_head'), self.init_scale)

    def head(self, hand: str):
        """The head of ``hand`` (``'lh'`` or ``'rh'``)."""
        if hand not in HANDS:
            raise KeyError(f'unknown hand {hand!r}; expected one of {HANDS}')
        return self.lh_head if hand == 'lh' else self.rh_head

    @property
    def num_classes(self) -> dict[str, int]:
        return {hand: self.head(hand).num_classes for hand in HANDS}

    def _check_blending(self) -> None:
        """Refuse a mixup/cutmix whose class count differs from its hand's head."""
        blending = getattr(self.data_preprocessor, 'blending', None)
        if blending is None:
            return
        if isinstance(blending, HandAwareBlending):
            for hand, n in blending.num_classes.items():
                if n != self.head(hand).num_classes:
                    raise ValueError(f'HandAwareBlending num_classes[{hand!r}]={n} but '
                                     f'{hand}_head has {self.head(hand).num_classes} classes')
            return
        counts = set(self.num_classes.values()) | {getattr(blending, 'num_classes', None)}
        if len(counts) != 1:
            raise ValueError(
                f'{type(blending).__name__} uses one class count for both hands but the '
                f'heads have {self.num_classes}: use blending=dict(type="HandAwareBlending", '
                'num_classes=dict(lh=..., rh=...), blending=...)')

    @staticmethod
    def _hand_rows(hands: list[str], hand: str, views: int) -> list[int]:
        return [i * views + v for i, h in enumerate(hands) if h == hand for v in range(views)]

    def loss(self, inputs: Tensor, data_samples: SampleList, **kwargs) -> dict:
        """Per-hand losses of a batch; ``loss_*`` values are weighted by hand share.

        Args:
            inputs: ``(N, num_views, C, T, H, W)``.
            data_samples: N samples, each with ``metainfo['hand']``.
        """
        feats, extra = self.extract_feat(inputs, data_samples=data_samples)
        hands = [sample_hand(s, 'DualHandRecognizer.loss') for s in data_samples]
        losses = dict(extra.get('loss_aux', {}))
        idle = []
        for hand in HANDS:
            rows = self._hand_rows(hands, hand, 1)
            head = self.head(hand)
            if not rows:
                idle.append(head)
                continue
            self._hands_since_step.add(hand)
            share = len(rows) / len(hands)
            hand_losses = head.loss(feats[rows], [data_samples[i] for i in rows])
            for key, value in hand_losses.items():
                losses[f'{hand}_{key}'] = value * share if 'loss' in key else value
        if idle and self.idle_head_zero_loss:
            losses['loss_idle_head'] = sum(head(feats).sum() * 0.0 for head in idle)
        return losses

    def release_idle_head_grads(self) -> list[str]:
        """Drop gradients of heads that saw no sample since the last optimizer step.

        Returns the released hands. Called from an optimizer step pre-hook, after DDP's
        all-reduce, so the idle head is skipped by the optimizer (no momentum drift, no
        weight decay) while DDP still saw a gradient for every parameter.
        """
        released = [hand for hand in HANDS if hand not in self._hands_since_step]
        for hand in released:
            for param in self.head(hand).parameters():
                param.grad = None
        self._hands_since_step.clear()
        return released

    def predict(self, inputs: Tensor, data_samples: SampleList, **kwargs) -> SampleList:
        """Score each sample with its hand's head; both heads for a sample with no hand.

        A sample with no hand (``inference_recognizer``, ``MMAction2Inferencer``) gets
        ``lh_pred_label``/``lh_pred_score``/``rh_...`` and, for MMAction2's stock
        readers, ``pred_label = [lh label, rh label]`` and ``pred_score`` = the left-hand
        scores followed by the right-hand scores (see ``mmaction_ext.apis``).

        Args:
            inputs: ``(N, num_views, C, T, H, W)``; views are averaged per sample by the
                head's ``average_clips``.
        """
        feats, extra = self.extract_feat(inputs, test_mode=True)
        views = feats.shape[0] // len(data_samples)
        hands = [s.metainfo.get('hand') for s in data_samples]
        for hand in HANDS:
            rows = self._hand_rows(hands, hand, views)
            if rows:
                head = self.head(hand)
                head.predict_by_feat(head(feats[rows], **extra),
                                     [s for s, h in zip(data_samples, hands) if h == hand])
        unknown = [i for i, h in enumerate(hands) if h not in HANDS]
        if unknown:
            rows = [i * views + v for i in unknown for v in range(views)]
            for hand in HANDS:
                head = self.head(hand)
                scores = head.average_clip(head(feats[rows], **extra), num_segs=views)
                for i, score in zip(unknown, scores):
                    data_samples[i].set_field(score, f'{hand}_pred_score')
                    data_samples[i].set_field(score.argmax(dim=-1, keepdim=True),
                                              f'{hand}_pred_label')
            for i in unknown:  # what MMAction2's inferencers and visualizer read
                sample = data_samples[i]
                sample.set_field(torch.cat([sample.get(f'{h}_pred_label') for h in HANDS]),
                                 'pred_label')
                sample.set_field(torch.cat([sample.get(f'{h}_pred_score') for h in HANDS]),
                                 'pred_score')
        return data_samples

    def extra_repr(self) -> str:
        return f'hands={HANDS}, num_classes={self.num_classes}'

