"""Sliding-window scores of a recognizer over a whole video: decode once, share frames.

A window is the config's test clip: the frames the test pipeline's ``SampleFrames``
takes (``clip_len`` frames ``frame_interval`` apart), processed by the test pipeline's
own transforms. The pipeline is split in three: everything up to the decode step is
replaced by one sequential decode of the video; the per-frame transforms between the
decode and ``FormatShape`` (``Resize``, ``CenterCrop``, ...) run once per frame; the
rest (``FormatShape``, ``PackActionInputs``) runs per window. Because resizing and
cropping act on every frame on its own, a window's input is exactly the input
``tools/test.py`` builds for a clip of the same frames (tested).
"""
from __future__ import annotations

import copy
import dataclasses
from typing import Any, Callable, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate

from .sequential_frames import SequentialFrames
from .timeline import frame_scores_from_windows, moving_average

# Pipeline steps before the decode step that sliding windows replace (opening a file);
# the clip sampler must be SampleFrames, whose test-mode settings define a window.
_OPENERS = {'DecordInit', 'SafeDecordInit', 'FastVideoInit', 'PyAVInit', 'OpenCVInit',
            'ConfineFrameRange'}
_DECODERS = {'DecordDecode', 'FastVideoDecode', 'PyAVDecode', 'OpenCVDecode'}
_PACKING = 'FormatShape'


def _type_name(step: dict) -> str:
    t = step['type']
    return t if isinstance(t, str) else t.__name__


def _is_sampler(name: str) -> bool:
    """``SampleFrames`` or a registered subclass of it (e.g. ``SpreadSampleFrames``)."""
    from mmaction.datasets.transforms import SampleFrames
    from mmaction.registry import TRANSFORMS
    cls = TRANSFORMS.get(name)
    return isinstance(cls, type) and issubclass(cls, SampleFrames)


class WindowPipeline:
    """A config's test pipeline split into window sampling, per-frame and per-window steps.

    Args:
        test_pipeline: the config's ``test_pipeline`` (list of transform configs).
    """

    def __init__(self, test_pipeline: Sequence[dict]) -> None:
        from mmaction.registry import TRANSFORMS
        steps = [dict(s) for s in test_pipeline]
        names = [_type_name(s) for s in steps]
        decode = [i for i, n in enumerate(names) if n in _DECODERS]
        if not decode or _PACKING not in names:
            raise ValueError(
                f'test_pipeline {names}: sliding windows need a video decode step '
                f'(one of {sorted(_DECODERS)}) followed by {_PACKING}')
        d, f = decode[0], names.index(_PACKING)
        samplers = {n for n in names[:d] if _is_sampler(n)}
        sampler = [s for s in steps[:d] if _type_name(s) in samplers]
        unknown = [n for n in names[:d] if n not in _OPENERS and n not in samplers]
        if len(sampler) != 1 or unknown:
            raise ValueError(
                f'test_pipeline {names}: before {names[d]} sliding windows expect file '
                'opening steps and one SampleFrames; cannot place windows for '
                f'{unknown or names[:d]}')
        sample_cfg = dict(sampler[0], test_mode=True)
        if sample_cfg.get('num_clips', 1) != 1 or sample_cfg.get('twice_sample'):
            raise ValueError(
                f'test_pipeline {_type_name(sample_cfg)}({sample_cfg}): a multi-clip test '
                'view has no single window position; use a pipeline with num_clips=1 '
                "(tools/infer_video.py --pipeline val takes the config's val_pipeline)")
        if sample_cfg.get('target_fps'):
            raise ValueError('SampleFrames(target_fps=...) is not supported by sliding windows')
        self.sampler = TRANSFORMS.build(sample_cfg)
        self.clip_len = int(self.sampler.clip_len)
        self.frame_interval = int(self.sampler.frame_interval)
        # frames one window covers: SampleFrames' reach, or a subclass's own window_span
        self.span = int(getattr(self.sampler, 'window_span',
                                (self.clip_len - 1) * self.frame_interval + 1))
        frame_steps = steps[d + 1:f]
        if names[d] == 'FastVideoDecode':  # decode + Resize in one: keep its Resize part
            fast = steps[d]
            frame_steps.insert(0, dict(type='Resize', scale=fast.get('scale', (-1, 256)),
                                       keep_ratio=fast.get('keep_ratio', True),
                                       interpolation=fast.get('interpolation', 'bilinear')))
        self.frame_names = [_type_name(s) for s in frame_steps]
        self.frame_transforms = Compose(frame_steps)
        self.window_transforms = Compose(steps[f:])

    def starts(self, num_frames: int, stride: int) -> list[int]:
        """Window starts every ``stride`` frames, plus one ending at the last frame."""
        if num_frames <= self.span:
            return [0]
        starts = list(range(0, num_frames - self.span + 1, stride))
        if starts[-1] != num_frames - self.span:
            starts.append(num_frames - self.span)
        return starts

    def indices(self, start: int, num_frames: int) -> np.ndarray:
        """Frame indices of the window at ``start``, by the config's own ``SampleFrames``.

        ``SampleFrames`` sees the frames from ``start`` on (at most one span), so a
        window past the end loops or repeats (``out_of_bound_opt``) as a test clip does.
        """
        res = self.sampler.transform(dict(total_frames=min(self.span, num_frames - start),
                                          start_index=start))
        return np.asarray(res['frame_inds'], dtype=np.int64)

    def test_clip_start(self, num_frames: int) -> int:
        """Start of the clip ``tools/test.py`` samples from a video of ``num_frames``."""
        res = self.sampler.transform(dict(total_frames=num_frames, start_index=0))
        return int(res['frame_inds'][0])

    def transform_frames(self, frames: np.ndarray) -> tuple[list[np.ndarray], tuple[int, int]]:
        """Run the per-frame steps on ``(n, H, W, 3)`` frames; return frames and shape."""
        n = len(frames)
        shape = tuple(frames.shape[1:3])
        res = self.frame_transforms(dict(imgs=list(frames), img_shape=shape,
                                         original_shape=shape, modality='RGB',
                                         num_clips=1, clip_len=n))
        if len(res['imgs']) != n:
            raise ValueError(
                f'test_pipeline steps {self.frame_names} turn {n} frames into '
                f"{len(res['imgs'])} (a multi-crop view); sliding windows need one view "
                'per frame: use CenterCrop')
        return res['imgs'], tuple(res['img_shape'])

    def pack(self, frames: list[np.ndarray], img_shape: tuple[int, int],
             inds: np.ndarray) -> dict:
        """``FormatShape`` ... ``PackActionInputs`` on one window's frames."""
        return self.window_transforms(dict(
            imgs=list(frames), img_shape=img_shape, original_shape=img_shape,
            modality='RGB', num_clips=1, clip_len=self.clip_len, frame_inds=inds,
            frame_interval=self.frame_interval))


@dataclasses.dataclass
class VideoScores:
    """Scores of one video: per window, and per frame on request.

    ``tracks`` are ``('lh', 'rh')`` for a dual-hand model, ``('label',)`` for one head;
    ``window_scores[track]`` is ``(W, C)`` probabilities; ``spans`` ``(W, 2)`` the frames
    each window covers (first, last + 1); ``features`` ``(W, D)`` or None;
    ``frame_times`` ``(T, 2)`` start and end of each frame in seconds (the stream's
    timestamps), or None for ``i / fps``.
    """

    path: str
    fps: float
    num_frames: int
    declared_frames: int
    decode_error: str | None
    tracks: tuple[str, ...]
    class_names: dict[str, list[str]]
    starts: np.ndarray
    spans: np.ndarray
    window_scores: dict[str, np.ndarray]
    features: np.ndarray | None = None
    frame_times: np.ndarray | None = None

    def times(self) -> tuple[np.ndarray, np.ndarray]:
        """Start and end ``(T,)`` of each frame in seconds: its timestamps when the video
        has them (variable frame rate shown as played), else ``i / fps``."""
        if self.frame_times is not None and len(self.frame_times) >= self.num_frames:
            times = self.frame_times[:self.num_frames]
            return times[:, 0], times[:, 1]
        index = np.arange(self.num_frames, dtype=np.float64)
        return index / self.fps, (index + 1) / self.fps

    @property
    def centres(self) -> np.ndarray:
        """Centre frame of each window's span."""
        return (self.spans[:, 0] + self.spans[:, 1] - 1) // 2

    def frame_scores(self, smooth: int = 0) -> dict[str, np.ndarray]:
        """Per-frame ``(T, C)`` scores per track (mean of covering windows, smoothed)."""
        return {t: moving_average(frame_scores_from_windows(self.spans, s, self.num_frames),
                                  smooth)
                for t, s in self.window_scores.items()}


class VideoInferencer:
    """Per-frame (per-hand) scores of a recognizer over whole videos.

    Args:
        config: config file or ``Config`` (its ``test_pipeline`` defines a window).
        pipeline: ``'test'`` or ``'val'``: which of the config's pipelines defines a
            window (a multi-view test pipeline, e.g. 5 clips x 3 crops, has no single
            window: its one-view ``val_pipeline`` does).
        checkpoint: checkpoint file or URI (``None``: the model's initial weights). It
            loads the project's one way (:func:`~mmaction_ext.checkpoint.loading.
            load_checkpoint_into`): checked, converted once, and refused unless every
            weight comes from it and is finite.
        allow_partial: accept a checkpoint that lacks some weights (a fresh head, a
            backbone-only file); NaN weights are never accepted.
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'``...
        batch_size: windows per forward pass.
        stride: frames between window starts (default: half a window span).
        amp: autocast (bfloat16 on CPU, float16 on CUDA).
        features: also return each window's pooled backbone feature (the head's input).
        chunk: frames decoded per call.
        backend: ``'pytorch'``, or ``'onnxruntime'`` with ``checkpoint`` an ``.onnx``
            file from ``tools/export_onnx.py`` (CPU; the config still gives the pipeline
            and the data preprocessor).
        threads: onnxruntime intra-op threads (default: one per core).
    """

    def __init__(self, config: str | Config, checkpoint: str | None = None,
                 device: str = 'cpu', batch_size: int = 8, stride: int | None = None,
                 amp: bool = False, features: bool = False, chunk: int = 64,
                 allow_partial: bool = False, backend: str = 'pytorch',
                 threads: int | None = None, pipeline: str = 'test') -> None:
        from mmaction.apis import init_recognizer

        import mmaction_ext  # noqa: F401  registers the project's components
        from mmaction_ext.checkpoint.loading import load_checkpoint_into
        cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
        self.cfg = cfg
        # interop (issue #22): a Hugging Face folder brings its architecture; the
        # onnxruntime backend scores with an exported graph (backend seam).
        from mmaction_ext.checkpoint.hf_videomae import apply_hf_architecture
        if backend not in ('pytorch', 'onnxruntime'):
            raise ValueError(f'backend {backend!r}: use pytorch or onnxruntime')
        if backend == 'pytorch':
            apply_hf_architecture(cfg.model, checkpoint)
        self.model = init_recognizer(cfg, None, device)
        meta: dict = {}
        self.onnx = None
        if backend == 'onnxruntime':
            from .onnx_backend import OnnxRecognizer, check_onnx_matches
            self.onnx = OnnxRecognizer(checkpoint, threads)
            check_onnx_matches(self.onnx, self.model, str(config))
            meta = self.onnx.info
        elif checkpoint is not None:
            ckpt = load_checkpoint_into(self.model, checkpoint, complete=True,
                                        allow_partial=allow_partial)
            meta = (ckpt.get('meta') if isinstance(ckpt, dict) else None) or {}
            self.model.to(device)
        self.device = device
        if pipeline not in ('test', 'val'):
            raise ValueError(f"pipeline {pipeline!r}: use 'test' or 'val'")
        self.pipeline = WindowPipeline(cfg[f'{pipeline}_pipeline'])
        self.stride = int(stride) if stride else max(1, self.pipeline.span // 2)
        if self.stride < 1:
            raise ValueError(f'stride must be >= 1 frame, got {stride}')
        self.batch_size = batch_size
        self.amp = amp
        self.chunk = max(chunk, self.pipeline.span)
        self.want_features = features
        self.heads = self._heads()
        self.tracks = tuple(self.heads)
        self.class_names = self._class_names(meta.get('dataset_meta') or {})
        self._feats: list[torch.Tensor] = []
        if features:
            next(iter(self.heads.values())).register_forward_pre_hook(self._grab_features)

    def _heads(self) -> dict[str, torch.nn.Module]:
        if hasattr(self.model, 'lh_head') and hasattr(self.model, 'rh_head'):
            return {'lh': self.model.lh_head, 'rh': self.model.rh_head}
        if getattr(self.model, 'cls_head', None) is None:
            raise ValueError(f'{type(self.model).__name__} has no cls_head or lh/rh heads')
        return {'label': self.model.cls_head}

    def _class_names(self, dataset_meta: dict) -> dict[str, list[str]]:
        classes = dataset_meta.get('classes')
        names = {}
        for track, head in self.heads.items():
            given = classes.get(track) if isinstance(classes, dict) else classes
            n = head.num_classes
            names[track] = list(given) if given is not None and len(given) == n else \
                [str(i) for i in range(n)]
        return names

    def _grab_features(self, module: torch.nn.Module, args: tuple) -> None:
        feats = args[0]
        if isinstance(feats, (tuple, list)):
            feats = feats[-1]
        if feats.ndim > 2:
            feats = feats.flatten(2).mean(-1)
        self._feats.append(feats.detach().float().cpu())

    def __call__(self, video: str, starts: Sequence[int] | None = None,
                 progress: bool | Callable[[int], Any] = False) -> VideoScores:
        """Score ``video``; ``starts`` overrides the window starts (frame indices).

        ``progress``: True for a progress bar (tqdm, on stderr), or a callback taking the
        number of frames just decoded.
        """
        source = SequentialFrames(video, self.chunk)
        declared = source.num_frames
        plan = self.pipeline.starts(declared, self.stride) if starts is None else list(starts)
        bar, update = _progress(progress, declared, video)
        pending = {s: self.pipeline.indices(s, declared) for s in plan}
        done: dict[int, tuple[dict, torch.Tensor | None]] = {}
        buffer: dict[int, np.ndarray] = {}
        shape = None
        try:
            for first, frames in source:
                imgs, shape = self.pipeline.transform_frames(frames)
                buffer.update(zip(range(first, first + len(imgs)), imgs))
                decoded = first + len(imgs)
                ready = [s for s, ind in pending.items() if ind.max() < decoded]
                full = len(ready) - len(ready) % self.batch_size
                self._run(ready[:full], pending, buffer, shape, done)
                keep = min([decoded - self.pipeline.span]
                           + [int(pending[s].min()) for s in pending])
                for i in [i for i in buffer if i < keep]:
                    del buffer[i]
                update(len(imgs))
            total = source.num_frames
            if total < declared:  # damaged tail: windows over the frames that decoded
                pending = {s: ind for s, ind in pending.items() if ind.max() < total}
                if starts is None:
                    for s in self.pipeline.starts(total, self.stride):
                        if s not in done and s not in pending:
                            pending[s] = self.pipeline.indices(s, total)
            self._run(sorted(pending), pending, buffer, shape, done)
        finally:
            if bar is not None:
                bar.close()
        order = sorted(done)
        spans = np.array([[s, min(s + self.pipeline.span, total)] for s in order])
        feats = None
        if self.want_features:
            feats = torch.stack([done[s][1] for s in order]).numpy()
        return VideoScores(
            path=video, fps=source.fps, num_frames=total, declared_frames=declared,
            decode_error=source.error, tracks=self.tracks, class_names=self.class_names,
            starts=np.array(order), spans=spans,
            window_scores={t: np.stack([done[s][0][t] for s in order]) for t in self.tracks},
            features=feats, frame_times=source.frame_times)

    def _run(self, ready: list[int], pending: dict, buffer: dict, shape, done: dict) -> None:
        for b in range(0, len(ready), self.batch_size):
            batch = ready[b:b + self.batch_size]
            packed = [self.pipeline.pack([buffer[int(i)] for i in pending[s]], shape,
                                         pending[s]) for s in batch]
            scores, feats = self.score_batch(packed)
            for k, s in enumerate(batch):
                done[s] = ({t: scores[t][k] for t in self.tracks},
                           None if feats is None else feats[k])
                del pending[s]

    @torch.no_grad()
    def score_batch(self, packed: list[dict]) -> tuple[dict[str, np.ndarray], Any]:
        """Scores (and features) of packed windows, via the model's own ``test_step``."""
        if self.onnx is not None:  # interop (issue #22): backend seam
            from .onnx_backend import score_with_onnx
            return score_with_onnx(self.onnx, self.model, packed, self.tracks,
                                   self.want_features)
        self._feats.clear()
        device_type = 'cuda' if str(self.device).startswith('cuda') else 'cpu'
        dtype = torch.float16 if device_type == 'cuda' else torch.bfloat16
        with torch.autocast(device_type, dtype=dtype, enabled=self.amp):
            samples = self.model.test_step(pseudo_collate(packed))
        scores = {}
        for track, head in self.heads.items():
            key = 'pred_score' if track == 'label' else f'{track}_pred_score'
            s = torch.stack([d.get(key) for d in samples]).float()
            if getattr(head, 'average_clips', 'prob') != 'prob':  # raw scores: make them
                s = s.softmax(-1)                                  # probabilities
            scores[track] = s.cpu().numpy()
        feats = torch.cat(self._feats) if self.want_features else None
        return scores, feats


def _progress(progress, total: int, name: str):
    if callable(progress):
        return None, progress
    if not progress:
        return None, lambda n: None
    from tqdm import tqdm
    bar = tqdm(total=total, unit='frame', desc=name.rsplit('/', 1)[-1], leave=False)
    return bar, bar.update
