"""What every temporal segmenter here shares: batching whole videos, loss and predict."""
from __future__ import annotations

from typing import Any, Sequence

import torch
from mmaction.registry import MODELS
from mmengine.model import BaseModel

from .tcn_blocks import frame_labels, pad_batch, pad_targets


def label_key(track: str, kind: str) -> str:
    """``gt_labels`` / ``pred_labels`` for one stream, ``lh_gt_labels`` ... per hand
    (the keys ``TemporalSegmentationMetric`` reads)."""
    return f'{kind}_labels' if track == 'label' else f'{track}_{kind}_labels'


class BaseSegmenter(BaseModel):
    """A model over whole videos of per-frame features (``SegmentationFeatureDataset``).

    ``inputs`` is a list (one per video) of ``{track: (D, T)}`` tensors, or
    ``{track: [(D, T), ...]}`` as MMEngine's ``pseudo_collate`` batches them; each data
    sample holds the full-rate truth (``label_key(track, 'gt')``), ``sample_rate`` and
    ``num_frames``. Subclasses map ``{track: (N, D, T)}`` plus a mask to each track's
    list of stage logits (:meth:`stage_logits`); the last stage predicts.

    Args:
        in_channels: feature rows per track, ``{track: D}``.
        num_classes: classes per track, ``{track: C}``.
        loss: config of the per-track loss (``MSTCNLoss``).
    """

    def __init__(self, in_channels: dict[str, int], num_classes: dict[str, int],
                 loss: dict | None = None, data_preprocessor: dict | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if set(in_channels) != set(num_classes):
            raise ValueError(f'in_channels tracks {sorted(in_channels)} differ from '
                             f'num_classes tracks {sorted(num_classes)}')
        self.tracks = tuple(num_classes)
        self.in_channels = dict(in_channels)
        self.num_classes = dict(num_classes)
        self.loss_fn = MODELS.build(loss or dict(type='MSTCNLoss'))

    def stage_logits(self, x: dict[str, torch.Tensor], mask: torch.Tensor
                     ) -> dict[str, list[torch.Tensor]]:
        raise NotImplementedError

    def _batch(self, inputs: Sequence[dict[str, torch.Tensor]] | dict[str, Sequence],
               data_samples: Sequence[Any] | None) -> tuple[dict, torch.Tensor, list[int]]:
        if isinstance(inputs, dict):  # pseudo_collate's {track: [video, ...]}
            inputs = [dict(zip(inputs, per_video)) for per_video in zip(*inputs.values())]
        names = [str(getattr(s, 'metainfo', {}).get('video', f'video {i}'))
                 for i, s in enumerate(data_samples or [None] * len(inputs))]
        for video, name in zip(inputs, names):
            if set(video) != set(self.tracks):
                raise KeyError(f'{name}: inputs have tracks {sorted(video)}, the model '
                               f'{sorted(self.tracks)}')
            lengths = {t: int(video[t].shape[-1]) for t in self.tracks}
            if len(set(lengths.values())) != 1:
                raise ValueError(f'{name}: tracks have different lengths {lengths}')
        x, mask = {}, None
        for t in self.tracks:
            x[t], mask = pad_batch([v[t] for v in inputs], self.in_channels[t],
                                   [f'{n} ({t})' for n in names])
        lengths = [int(v[self.tracks[0]].shape[-1]) for v in inputs]
        return x, mask, lengths

    def forward(self, inputs: Sequence[dict[str, torch.Tensor]] | dict[str, Sequence],
                data_samples: Sequence[Any] | None = None, mode: str = 'tensor') -> Any:
        x, mask, lengths = self._batch(inputs, data_samples)
        logits = self.stage_logits(x, mask)
        if mode == 'tensor':
            return logits
        if mode == 'loss':
            return self._loss(logits, mask, lengths, data_samples)
        if mode == 'predict':
            return self._predict(logits, lengths, data_samples)
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', got {mode!r}")

    def _loss(self, logits: dict, mask: torch.Tensor, lengths: list[int],
              data_samples: Sequence[Any]) -> dict[str, torch.Tensor]:
        losses = {}
        for t in self.tracks:
            targets = []
            for sample, length in zip(data_samples, lengths):
                rate = int(sample.metainfo.get('sample_rate', 1))
                gt = torch.as_tensor(sample.get(label_key(t, 'gt')), device=mask.device)
                targets.append(gt[::rate][:length].long())
            parts = self.loss_fn(logits[t], pad_targets(targets, mask.shape[-1]), mask)
            prefix = '' if t == 'label' else f'{t}_'
            losses.update({f'{prefix}loss_{k}': v for k, v in parts.items()})
        return losses

    def _predict(self, logits: dict, lengths: list[int], data_samples: Sequence[Any]
                 ) -> Sequence[Any]:
        for i, (sample, length) in enumerate(zip(data_samples, lengths)):
            rate = int(sample.metainfo.get('sample_rate', 1))
            frames = int(sample.metainfo.get('num_frames', length * rate))
            for t in self.tracks:
                sample.set_field(frame_labels(logits[t][-1][i].detach(), length, rate, frames)
                                 .cpu(), label_key(t, 'pred'))
        return data_samples
