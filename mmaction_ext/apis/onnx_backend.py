"""An exported recognizer run by onnxruntime: the ``onnxruntime`` backend of inference.

:class:`OnnxRecognizer` takes normalised clips ``(N, C, T, H, W)`` (the data
preprocessor's output) and returns each track's logits (and the pooled features when
exported with them), read off the metadata :mod:`.onnx_export` stores in the file.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict

import numpy as np

from .onnx_export import META_KEY


class OnnxRecognizer:
    """An ``.onnx`` file written by ``tools/export_onnx.py``, on onnxruntime's CPU provider.

    Args:
        path: the file.
        threads: intra-op threads (default: onnxruntime's, one per core).
    """

    def __init__(self, path: str, threads: int | None = None) -> None:
        import onnxruntime as ort
        if not os.path.isfile(path):
            raise FileNotFoundError(f'ONNX model not found: {path!r}')
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(path, options,
                                                providers=['CPUExecutionProvider'])
        except Exception as err:  # noqa: BLE001 - onnxruntime's own error types
            raise ValueError(f'{path!r} is not a loadable ONNX model: {err}') from err
        props = self.session.get_modelmeta().custom_metadata_map
        if META_KEY not in props:
            raise ValueError(f'{path!r} has no {META_KEY!r} metadata: export it with '
                             f'tools/export_onnx.py')
        self.info: Dict[str, Any] = json.loads(props[META_KEY])
        self.tracks = list(self.info['tracks'])
        self.outputs = list(self.info['outputs'])
        self.clip_shape = tuple(self.info['clip_shape'])

    def __call__(self, clips: np.ndarray) -> Dict[str, np.ndarray]:
        """``{'label'|'lh'|'rh': logits, 'features': ...}`` for ``(N, C, T, H, W)`` clips."""
        clips = np.ascontiguousarray(clips, dtype=np.float32)
        if tuple(clips.shape[1:]) != self.clip_shape:
            raise ValueError(f'clips of shape {tuple(clips.shape[1:])}, but the ONNX model '
                             f'was exported for {self.clip_shape} (C, T, H, W): export it '
                             f'again for this clip, or use the config it was exported with')
        values = self.session.run(self.outputs, {'clips': clips})
        out = dict(zip(self.tracks, values[:len(self.tracks)]))
        if 'features' in self.outputs:
            out['features'] = values[self.outputs.index('features')]
        return out


def score_with_onnx(runner: OnnxRecognizer, model: Any, packed: list, tracks: tuple,
                    want_features: bool) -> tuple:
    """What ``VideoInferencer.score_batch`` returns, with ``runner`` in place of the model.

    The model's data preprocessor normalises (as in ``test_step``); one clip per window,
    so the heads' clip averaging is the identity and the score is ``softmax(logits)``,
    which the torch path also ends with (``average_clips='prob'``, or softmax after).
    """
    import torch
    from mmengine.dataset import pseudo_collate
    with torch.no_grad():
        inputs = model.data_preprocessor(pseudo_collate(packed), False)['inputs']
    clips = inputs.flatten(0, 1).float().cpu().numpy()   # (N, 1, C, T, H, W) -> (N, ...)
    out = runner(clips)
    scores = {}
    for track in tracks:
        logits = torch.from_numpy(out[track])
        scores[track] = logits.softmax(-1).numpy()
    feats = None
    if want_features:
        if 'features' not in out:
            raise ValueError('this ONNX model was exported without features: export it '
                             'again with --features')
        feats = torch.from_numpy(out['features'])
    return scores, feats


def check_onnx_matches(runner: OnnxRecognizer, model: Any, config: str = 'the config') -> None:
    """The exported graph must have the config model's heads and class counts."""
    from .onnx_export import model_tracks
    heads = model_tracks(model)
    want = {t: int(h.num_classes) for t, h in heads.items()}
    have = {t: int(n) for t, n in runner.info.get('num_classes', {}).items()}
    if want != have:
        raise ValueError(f'the ONNX model has heads {have} (track: classes) but {config} '
                         f'builds {want}: export it from this config, or use the config it '
                         f'was exported with ({runner.info.get("config")})')
