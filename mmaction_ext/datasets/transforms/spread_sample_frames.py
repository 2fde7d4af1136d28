"""VideoMAEv2 / ADH-ViT clip sampling as an MMAction2 ``SampleFrames``."""
from __future__ import annotations

import numpy as np
from mmaction.datasets.transforms import SampleFrames
from mmaction.registry import TRANSFORMS


@TRANSFORMS.register_module()
class SpreadSampleFrames(SampleFrames):
    """Pick ``clip_len`` frames the way VideoMAEv2's ``VideoClsDataset`` (used by ADH-ViT
    for HA-ViD) does, so published numbers see the same frames.

    Stock ``SampleFrames`` spans ``(clip_len - 1) * frame_interval + 1`` frames and loops
    a short clip back to frame 0; the originals differ in three ways:

    - training (``test_mode=False``): a window of ``clip_len * frame_interval`` frames
      ending at a random ``end`` in ``[span, total)``; ``clip_len`` indices evenly spread
      from its first frame to ``end`` (``np.linspace``), the last one clipped to
      ``end - 1``, truncated to int. A clip of ``total <= span`` frames gets
      ``total // frame_interval`` indices spread over ``[0, total]`` and then repeats
      its last frame (``total - 1``);
    - validation (``test_mode=True``, ``num_clips=1``): the same, the window centred
      (``end = (span + total) // 2``);
    - test (``test_mode=True``, ``num_clips > 1``): every ``frame_interval``-th frame from
      0 (the last repeated until there are ``clip_len``), then ``num_clips`` runs of
      ``clip_len`` consecutive entries starting at ``int(k * (n - clip_len) /
      (num_clips - 1))``.

    ``start_index`` (e.g. from ``ConfineFrameRange``) is added, as ``SampleFrames`` does.
    ``SampleFrames``' other options (``out_of_bound_opt``, ``twice_sample``, ...) belong
    to its own rule and are not accepted.
    """

    def __init__(self, clip_len: int, frame_interval: int = 4, num_clips: int = 1,
                 test_mode: bool = False) -> None:
        super().__init__(clip_len, frame_interval=frame_interval, num_clips=num_clips,
                         test_mode=test_mode)

    @property
    def window_span(self) -> int:
        """Frames one clip covers (``clip_len * frame_interval``; stock: one fewer + 1)."""
        return self.clip_len * self.frame_interval

    def _spread(self, total: int, centred: bool) -> np.ndarray:
        span = self.clip_len * self.frame_interval
        if total <= span:
            spread = np.linspace(0, total, num=total // self.frame_interval)
            pad = np.full(self.clip_len - len(spread), total, dtype=np.float64)
            return np.clip(np.concatenate([spread, pad]), 0, total - 1).astype(np.int64)
        end = (span + total) // 2 if centred else np.random.randint(span, total)
        start = end - span
        index = np.linspace(start, end, num=self.clip_len)
        return np.clip(index, start, end - 1).astype(np.int64)

    def _multi_view(self, total: int) -> np.ndarray:
        strided = list(range(0, total, self.frame_interval))
        strided += [strided[-1]] * max(self.clip_len - len(strided), 0)
        step = max((len(strided) - self.clip_len) / (self.num_clips - 1), 0)
        views = [strided[int(k * step):int(k * step) + self.clip_len]
                 for k in range(self.num_clips)]
        return np.asarray(views, dtype=np.int64).reshape(-1)

    def transform(self, results: dict) -> dict:
        total = int(results['total_frames'])
        if total < 1:
            raise ValueError(f"{results.get('filename')}: the reader found no frames")
        if self.test_mode and self.num_clips > 1:
            inds = self._multi_view(total)
        else:
            inds = np.concatenate([self._spread(total, centred=self.test_mode)
                                   for _ in range(self.num_clips)])
        results['frame_inds'] = inds + int(results.get('start_index', 0))
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = self.num_clips
        return results
