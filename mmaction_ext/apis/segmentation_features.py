"""Per-frame features per hand from sliding windows, written in the segmentation layout.

A hand's feature at frame t is ``[shared backbone feature; that hand's class scores]``
(the ADH-ViT authors' ``[shared feature; hand logits]``; scores are the head's
probabilities), each the mean over the windows covering t, as the frame scores of
``tools/infer_video.py`` are. Files go to ``features/<left_hand|right_hand>/<video>.npy``
as ``(D, T)`` float32 and, with truth, ``groundTruth/.../<video>.txt`` (see
:mod:`mmaction_ext.datasets.segmentation_layout`), each written atomically.
"""
from __future__ import annotations

import json
import os
import os.path as osp

import numpy as np

from mmaction_ext.datasets.segmentation_layout import feature_path, mapping_path, truth_path
from mmaction_ext.fileio import ListFileError, write_json, write_lines, write_npy
from mmaction_ext.fileio.list_reader import read_text_lines

from .sliding_window import VideoScores
from .timeline import frame_scores_from_windows

# what tools/extract_features.py extracted with (model, stride, tracks, classes)
EXTRACTION_RECORD = 'extract_features.json'


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


def write_truth(path: str, labels: np.ndarray, classes: list[str]) -> str:
    """One class name per frame, one per line (MS-TCN reads ``split('\\n')[:-1]``)."""
    return write_lines(path, [classes[int(v)] for v in labels])


def write_mapping(path: str, classes: list[str]) -> str:
    return write_lines(path, [f'{i} {name}' for i, name in enumerate(classes)])


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
    return write_lines(path, [f'{v}.txt' for v in videos])


def extraction_record_path(root: str) -> str:
    return osp.join(root, EXTRACTION_RECORD)


def write_extraction_record(root: str, record: dict) -> str:
    return write_json(extraction_record_path(root), record)


def read_extraction_record(root: str, remedy: str = '') -> dict:
    """The record :func:`write_extraction_record` wrote (an error names the file)."""
    path = extraction_record_path(root)
    text = '\n'.join(read_text_lines(path, EXTRACTION_RECORD, remedy))
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ListFileError(f'{path}:{err.lineno}: not JSON ({err.msg}); rerun '
                            'tools/extract_features.py into a new --out-root') from None


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
