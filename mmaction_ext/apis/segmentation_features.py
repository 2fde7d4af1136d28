"""Per-frame features per hand from sliding windows, written in the segmentation layout.

A hand's feature at frame t is ``[shared backbone feature; that hand's class scores]``
(the ADH-ViT authors' ``[shared feature; hand logits]``; scores are the head's
probabilities), each the mean over the windows covering t, as the frame scores of
``tools/infer_video.py`` are. Files go to ``features/<left_hand|right_hand>/<video>.npy``
as ``(D, T)`` float32 and, with truth, ``groundTruth/.../<video>.txt`` (see
:mod:`mmaction_ext.datasets.segmentation_layout`), each written atomically.
"""
from __future__ import annotations

import io
import os

import numpy as np

from mmaction_ext.datasets.segmentation_layout import feature_path, mapping_path, truth_path
from mmaction_ext.fileio.atomic_local_backend import atomic_write_bytes

from .sliding_window import VideoScores
from .timeline import frame_scores_from_windows


def frame_features(scores: VideoScores) -> dict[str, np.ndarray]:
    """``{track: (D + C_track, T)}`` float32: shared feature, then the track's scores."""
    if scores.features is None:
        raise ValueError('VideoScores has no features: build VideoInferencer(features=True)')
    shared = frame_scores_from_windows(scores.spans, scores.features, scores.num_frames)
    out = {}
    for track, frame_scores in scores.frame_scores(0).items():
        out[track] = np.ascontiguousarray(
            np.concatenate([shared, frame_scores], axis=1).T.astype(np.float32))
    return out


def _write(path: str, data: bytes) -> str:
    atomic_write_bytes(data, path)
    os.chmod(path, 0o644)
    return path


def write_npy(path: str, array: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return _write(path, buf.getvalue())


def write_truth(path: str, labels: np.ndarray, classes: list[str]) -> str:
    """One class name per frame, one per line (MS-TCN reads ``split('\\n')[:-1]``)."""
    return _write(path, ''.join(f'{classes[int(v)]}\n' for v in labels).encode())


def write_mapping(path: str, classes: list[str]) -> str:
    return _write(path, ''.join(f'{i} {name}\n' for i, name in enumerate(classes)).encode())


def write_mappings(root: str, class_names: dict[str, list[str]]) -> list[str]:
    """``mapping.txt`` (all tracks' names, in order, once each: the one list the authors'
    code and MS-TCN read) and, for several tracks, each track's own mapping file."""
    union: list[str] = []
    for names in class_names.values():
        union += [n for n in names if n not in union]
    files = [write_mapping(mapping_path(root), union)]
    if len(class_names) > 1:
        files += [write_mapping(mapping_path(root, t), names) for t, names in class_names.items()]
    return files


def write_bundle(path: str, videos: list[str]) -> str:
    return _write(path, ''.join(f'{v}.txt\n' for v in videos).encode())


def video_files(root: str, video: str, tracks: tuple[str, ...], with_truth: bool) -> list[str]:
    """Every file one video owns; features last (their presence marks the video done)."""
    files = [truth_path(root, t, video) for t in tracks] if with_truth else []
    return files + [feature_path(root, t, video) for t in tracks]


def write_video(root: str, video: str, features: dict[str, np.ndarray],
                truth: dict[str, np.ndarray] | None,
                class_names: dict[str, list[str]]) -> list[str]:
    """Write one video's files (truth first, features last); return their paths."""
    tracks = tuple(features)
    paths = video_files(root, video, tracks, truth is not None)
    for path in paths:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    if truth is not None:
        for t in tracks:
            n_feat, n_true = features[t].shape[1], len(truth[t])
            if n_feat != n_true:
                raise ValueError(f'{video}: {n_feat} decoded frames but {n_true} labelled '
                                 f'frames for {t}: wrong truth file or a damaged video')
            write_truth(truth_path(root, t, video), truth[t], class_names[t])
    for t in tracks:
        write_npy(feature_path(root, t, video), features[t])
    return paths
