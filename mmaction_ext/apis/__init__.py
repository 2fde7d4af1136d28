"""Inference APIs: per-hand helpers on top of MMAction2's stock inference APIs
(``init_recognizer``, ``inference_recognizer``, ``MMAction2Inferencer``, which work with
the plugin as is), and per-frame (per-hand) action scores on untrimmed videos.

Not imported by ``mmaction_ext`` itself (nothing here is registered); use e.g.
``from mmaction_ext.apis import VideoInferencer``.
"""
from .hand_results import hand_classes, hand_predictions
from .sequential_frames import SequentialFrames, VideoDecodeError
from .sliding_window import VideoInferencer, VideoScores, WindowPipeline
from .timeline import frame_scores_from_windows, label_runs, moving_average

__all__ = ['hand_classes', 'hand_predictions', 'VideoInferencer', 'VideoScores',
           'WindowPipeline', 'SequentialFrames', 'VideoDecodeError',
           'frame_scores_from_windows', 'label_runs', 'moving_average']
