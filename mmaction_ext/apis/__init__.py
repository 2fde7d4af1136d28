"""Inference APIs: per-frame (per-hand) action scores on untrimmed videos.

Not imported by ``mmaction_ext`` itself (nothing here is registered); use
``from mmaction_ext.apis import VideoInferencer``.
"""
from .sequential_frames import SequentialFrames, VideoDecodeError
from .sliding_window import VideoInferencer, VideoScores, WindowPipeline
from .timeline import frame_scores_from_windows, label_runs, moving_average

__all__ = ['VideoInferencer', 'VideoScores', 'WindowPipeline', 'SequentialFrames',
           'VideoDecodeError', 'frame_scores_from_windows', 'label_runs', 'moving_average']
