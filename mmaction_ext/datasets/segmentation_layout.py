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
bases read ``(D, T)`` files. Text files are read by the project's list reader (UTF-8 with
or without a BOM, any line ends) and ``.npy`` files without pickles; every error names
the file (and line).
"""
from __future__ import annotations

import os.path as osp

import numpy as np

from ..fileio.list_reader import path_problem, read_list, read_text_lines, require_file
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
    require_file(path, 'mapping file', 'give a file of "<index> <name>" lines',
                 SegmentationLayoutError)
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
    lines = read_list(path, 'split file', remedy='give one "<video>.txt" per line',
                      comments=False, error=SegmentationLayoutError,
                      missing_error=SegmentationLayoutError)
    return [line.text[:-4] if line.text.endswith('.txt') else osp.splitext(line.text)[0]
            for line in lines]


def read_truth(path: str, classes: list[str]) -> np.ndarray:
    """Per-frame class indices from a ``groundTruth`` file of class names."""
    lines = read_text_lines(path, 'ground-truth file', 'give one class name per frame',
                            SegmentationLayoutError, SegmentationLayoutError)
    index = {name: i for i, name in enumerate(classes)}
    labels = []
    for lineno, line in enumerate(lines, 1):
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
    problem = path_problem(path)
    if problem:
        problem = 'no such feature file' if problem == 'no such file' else problem
        raise SegmentationLayoutError(f'{path}: {problem}')
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
