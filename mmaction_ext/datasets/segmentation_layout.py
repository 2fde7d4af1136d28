"""The temporal action segmentation data layout of MS-TCN, ASFormer and ADH-ViT's authors.

::

    ROOT/features/<stream>/<video>.npy     (D, T) float per frame, as MS-TCN reads it
    ROOT/groundTruth/<stream>/<video>.txt  one class name per frame, one per line
    ROOT/mapping.txt                       "<index> <name>" per line
    ROOT/splits/<name>.bundle              "<video>.txt" per line

``<stream>`` is ``left_hand`` / ``right_hand`` for dual-hand data (the authors'
``action_segmentation/``) and absent for one stream (Breakfast, GTEA, 50Salads: files
directly under ``features/`` and ``groundTruth/``). The authors' README says ``[T, F]``
but their loader swaps the axes of a 2-D array (``[F, T] -> [T, F]``), so both code
bases read ``(D, T)`` files. Readers here name file and line in every error.
"""
from __future__ import annotations

import os.path as osp

import numpy as np

from .havid_dataset import read_label_map

# track (as the models and metrics name it) -> folder of the layout
HAND_FOLDERS = {'lh': 'left_hand', 'rh': 'right_hand'}
ONE_STREAM = 'label'
MAPPING = 'mapping.txt'


class SegmentationLayoutError(ValueError):
    """A file of the layout is missing or malformed (the message names it)."""


def stream_folder(track: str) -> str:
    """Sub-folder of ``features/`` and ``groundTruth/`` for ``track`` ('' for one stream)."""
    return '' if track == ONE_STREAM else HAND_FOLDERS[track]


def feature_path(root: str, track: str, video: str) -> str:
    return osp.join(root, 'features', stream_folder(track), f'{video}.npy')


def truth_path(root: str, track: str, video: str) -> str:
    return osp.join(root, 'groundTruth', stream_folder(track), f'{video}.txt')


def mapping_path(root: str, track: str | None = None) -> str:
    """``mapping.txt``, or a hand's own ``mapping_<left_hand|right_hand>.txt``."""
    if track is None or track == ONE_STREAM:
        return osp.join(root, MAPPING)
    return osp.join(root, f'mapping_{HAND_FOLDERS[track]}.txt')


def read_mapping(path: str) -> list[str]:
    """Class names of a ``mapping.txt`` (``<index> <name>`` lines, indices from 0)."""
    if not osp.isfile(path):
        raise SegmentationLayoutError(f'{path}: no such mapping file (lines "<index> <name>")')
    try:
        names = read_label_map(path)
    except ValueError as err:
        raise SegmentationLayoutError(str(err)) from None
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise SegmentationLayoutError(f'{path}: class names {dup} appear more than once')
    if not names:
        raise SegmentationLayoutError(f'{path}: no classes')
    return names


def read_bundle(path: str) -> list[str]:
    """Video names of a split bundle (``<video>.txt`` lines; the extension is dropped)."""
    if not osp.isfile(path):
        raise SegmentationLayoutError(f'{path}: no such split file')
    videos = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                videos.append(line[:-4] if line.endswith('.txt') else osp.splitext(line)[0])
    if not videos:
        raise SegmentationLayoutError(f'{path}: lists no video')
    return videos


def read_truth(path: str, classes: list[str]) -> np.ndarray:
    """Per-frame class indices from a ``groundTruth`` file of class names."""
    if not osp.isfile(path):
        raise SegmentationLayoutError(f'{path}: no such ground-truth file')
    index = {name: i for i, name in enumerate(classes)}
    labels = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            name = line.strip()
            if name not in index:
                raise SegmentationLayoutError(
                    f'{path}:{lineno}: unknown label {name!r}; mapping.txt has '
                    f'{classes[:10]}{" ..." if len(classes) > 10 else ""} (add it there, '
                    'or fix the label)')
            labels.append(index[name])
    if not labels:
        raise SegmentationLayoutError(f'{path}: no frames')
    return np.asarray(labels, dtype=np.int64)


def feature_shape(path: str) -> tuple[int, int]:
    """``(D, T)`` of a feature file, from its header only."""
    if not osp.isfile(path):
        raise SegmentationLayoutError(f'{path}: no such feature file')
    try:
        array = np.load(path, mmap_mode='r', allow_pickle=False)
    except ValueError as err:
        raise SegmentationLayoutError(f'{path}: not a plain numpy array ({err})') from None
    if array.ndim != 2:
        raise SegmentationLayoutError(
            f'{path}: shape {array.shape}; expected (D, T), feature dimensions by frames')
    return int(array.shape[0]), int(array.shape[1])


def load_features(path: str) -> np.ndarray:
    """A ``(D, T)`` float32 feature array (no pickles)."""
    return np.load(path, allow_pickle=False).astype(np.float32, copy=False)
