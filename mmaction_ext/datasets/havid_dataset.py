"""HA-ViD hand clip lists as one dataset whose samples know their hand."""
from __future__ import annotations

import glob
import os.path as osp
import re
from typing import Any, Callable, Mapping, Sequence, Union

import numpy as np
from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS
from mmengine.logging import MMLogger

from ..fileio.list_reader import (
    DuplicateGuard,
    ListFileError,
    path_problem,
    read_list,
)
from .pipeline_checks import transform_names
from .unreadable_clips import SkipUnreadableClipsMixin

HANDS = ('lh', 'rh')


class HAViDListError(ListFileError):
    """A clip list or label map is malformed (the message names file and line)."""


class HAViDListNotFoundError(HAViDListError, FileNotFoundError):
    """A clip list or label map is missing (the message names the layout and the fix)."""


LAYOUT_HELP = {
    'dual_hand': "layout 'dual_hand' expects <data_root>/{lh,rh}_v<view>/"
                 '{train,val}_list_video.txt with the clips under <data_root>/'
                 '{lh,rh}_v<view>/videos/',
    'authors': "layout 'authors' expects <data_root>/view<view>_{lh,rh}_{pt,aa}/"
               '*_{train,val}_list_videos.txt with the clips under videos_{train,val}/',
}
POINT_AT_DATA = ('put the data there, or point the config at it: --cfg-options '
                 'data_root=/path/to/havid (or the dataset\'s ann_files/video_dirs per '
                 'hand); see docs/datasets.md')


def _hand_folders(data_root: str, layout: str, hand: str, split: str, view: int,
                  level: str) -> tuple[str, str]:
    """Return ``(list_file, video_dir)`` of one hand and split in ``layout``."""
    if layout == 'dual_hand':
        hand_root = osp.join(data_root, f'{hand}_v{view}')
        return osp.join(hand_root, f'{split}_list_video.txt'), osp.join(hand_root, 'videos')
    if layout == 'authors':
        hand_root = osp.join(data_root, f'view{view}_{hand}_{level}')
        found = sorted(glob.glob(osp.join(hand_root, f'*_{split}_list_videos.txt')))
        if len(found) != 1:
            error = HAViDListNotFoundError if not found else HAViDListError
            raise error(
                f'{hand_root}: expected exactly one *_{split}_list_videos.txt, found '
                f'{[osp.basename(f) for f in found] or "none"}; {LAYOUT_HELP[layout]}; '
                f'{POINT_AT_DATA}')
        return found[0], osp.join(hand_root, f'videos_{split}')
    raise ValueError(f"layout must be 'dual_hand' or 'authors', got {layout!r}")


def _named_hand(path: str) -> str | None:
    """The hand named by the innermost path component that names one (``lh_v0``, ``rh_x``)."""
    for part in reversed(osp.normpath(path).split(osp.sep)):
        found = {h for h in HANDS if re.search(rf'(^|[^a-z]){h}([^a-z]|$)', part.lower())}
        if len(found) == 1:
            return found.pop()
        if found:
            return None  # names both hands: no opinion
    return None


def _check_hand_paths(hand: str, list_file: str, video_dir: str) -> None:
    """Refuse a hand reading the other hand's files: its head would learn the wrong hand."""
    for what, path in (('clip list', list_file), ('video folder', video_dir)):
        named = _named_hand(path)
        if named is not None and named != hand:
            raise HAViDListError(
                f'{hand} {what} {path} names the other hand ({named}); check '
                f'ann_files/video_dirs[{hand!r}] (or rename the folder if this is intended)')


def read_label_map(path: str) -> list[str]:
    """Class names, one per line (an optional leading ``<index> `` must count from 0)."""
    names = []
    for line in read_list(path, 'label map', remedy='give one class name per line',
                          error=HAViDListError, missing_error=HAViDListNotFoundError):
        text = line.text
        head, _, rest = text.partition(' ')
        if head.isdigit() and rest:
            if int(head) != len(names):
                raise HAViDListError(f'{line.where}: index {head}, expected {len(names)}')
            text = rest.strip()
        names.append(text)
    return names


def read_clip_list(path: str, video_dir: str, num_classes: int | None = None,
                   check_files: bool = True, layout: str | None = None
                   ) -> list[tuple[str, int]]:
    """Parse ``<relative/path> <label>`` lines into ``[(absolute_path, label), ...]``."""
    where_data = f'{LAYOUT_HELP[layout]}; ' if layout in LAYOUT_HELP else ''
    lines = read_list(path, 'HA-ViD clip list', remedy=where_data + POINT_AT_DATA,
                      min_fields=2, max_fields=2, form='<relative/path> <label>',
                      allow_empty=True, error=HAViDListError,
                      missing_error=HAViDListNotFoundError)
    if not lines:
        raise HAViDListError(f'{path}: no clips (the list is empty); point ann_files or '
                             'data_root at the right list')
    clips = []
    seen = DuplicateGuard(HAViDListError)  # a sample is the file it reads, not its text
    for line in lines:
        relpath, label_text = line.fields
        if not label_text.lstrip('-').isdigit():
            raise HAViDListError(
                f'{line.where}: expected "<relative/path> <label>", got {line.text!r}')
        label = int(label_text)
        if label < 0 and num_classes is None:
            raise HAViDListError(f'{line.where}: label {label} is negative; labels '
                                 f'are class indices 0, 1, ...')
        if label < 0 or (num_classes is not None and label >= num_classes):
            raise HAViDListError(
                f'{line.where}: label {label} outside [0, {num_classes}); fix the '
                'label, or num_classes/label_map if the head really has more classes')
        filename = osp.join(video_dir, relpath)
        problem = path_problem(filename) if check_files else None
        if problem:
            what = 'video not found' if problem == 'no such file' else f'video {problem}'
            raise HAViDListError(f'{line.where}: {what}: {filename}; fix '
                                 'the line or video_dirs, or remove the line')
        seen.add(filename, line.where, relpath)  # it would count twice in training and metric
        clips.append((filename, label))
    return clips


def _per_hand(name: str, value: Any) -> dict:
    """A per-hand option as a dict; a bare number or an unknown hand is an error."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise HAViDListError(
            f'HAViDDataset: {name} must be a per-hand dict such as {name}=dict(lh=..., '
            f'rh=...), got {value!r}')
    unknown = set(value) - set(HANDS)
    if unknown:
        raise HAViDListError(f'HAViDDataset: {name} has keys {sorted(unknown)}; the hands '
                             f'are {list(HANDS)}')
    return dict(value)


@DATASETS.register_module()
class HAViDDataset(SkipUnreadableClipsMixin, BaseActionDataset):
    """Both hands' clip lists of one HA-ViD split, each sample tagged with its hand.

    The left- and right-hand lists are different clips with different counts; they are
    concatenated (left first), never paired. Every sample carries ``hand`` (``'lh'`` or
    ``'rh'``), which is also put into the packed data sample's metainfo (with
    ``sample_idx``), so the recognizer routes it to its hand's head and the metric splits
    results by hand without any pipeline change.

    Args:
        data_root: folder holding the hand folders.
        split: ``'train'`` or ``'val'`` (HA-ViD's val list doubles as test).
        pipeline: MMAction2 transforms (start with ``DecordInit`` etc.).
        layout: ``'dual_hand'`` (``lh_v0/``, ``rh_v0/`` with ``{split}_list_video.txt`` and
            ``videos/``) or ``'authors'`` (``view{0,1,2}_{lh,rh}_{aa,pt}/`` with
            ``*_{split}_list_videos.txt`` and ``videos_{split}/``).
        hands: which hands to load.
        view: camera view (0 side, 1 front, 2 top).
        level: authors' layout only: ``'pt'`` primitive task or ``'aa'`` atomic action.
        num_classes: classes per hand, e.g. ``dict(lh=75, rh=75)``; labels are checked.
        label_map: per hand, a file with one class name per line (gives ``classes``).
        ann_files / video_dirs: per hand, explicit list files / video folders that
            override the layout.
        check_files: check that every listed video exists (errors name file and line).
        skip_unreadable, max_skip_fraction: what training does with a clip that cannot
            be decoded (see ``SkipUnreadableClipsMixin``; the replacement comes from the
            same hand); evaluation always raises, naming the file.
    """

    def __init__(self, data_root: str, split: str, pipeline: list[Union[dict, Callable]],
                 layout: str = 'dual_hand', hands: Sequence[str] = HANDS, view: int = 0,
                 level: str = 'pt', num_classes: dict[str, int] | None = None,
                 label_map: dict[str, str] | None = None,
                 ann_files: dict[str, str] | None = None,
                 video_dirs: dict[str, str] | None = None,
                 check_files: bool = True, test_mode: bool = False, **kwargs) -> None:
        unknown = set(hands) - set(HANDS)
        if unknown or not hands:
            raise ValueError(f'hands must be a non-empty subset of {HANDS}, got {hands}')
        self.split, self.layout, self.hands = split, layout, tuple(hands)
        self.view, self.level, self.check_files = view, level, check_files
        self.hand_num_classes = _per_hand('num_classes', num_classes)
        self.label_maps = _per_hand('label_map', label_map)
        self.ann_files = _per_hand('ann_files', ann_files)
        self.video_dirs = _per_hand('video_dirs', video_dirs)
        if 'DecordInit' in transform_names(pipeline or []):
            MMLogger.get_current_instance().warning(
                "HAViDDataset: stock DecordInit crashes (segfault) on truncated videos; "
                "use dict(type='SafeDecordInit') instead")
        self._hand_root = data_root
        self._refetch_hand: str | None = None
        super().__init__(ann_file='', pipeline=pipeline, data_prefix=dict(video=''),
                         test_mode=test_mode, data_root=data_root, **kwargs)

    def _sources(self, hand: str) -> tuple[str, str]:
        list_file, video_dir = (None, None)
        if hand not in self.ann_files or hand not in self.video_dirs:
            list_file, video_dir = _hand_folders(self._hand_root, self.layout, hand,
                                                 self.split, self.view, self.level)
        return self.ann_files.get(hand, list_file), self.video_dirs.get(hand, video_dir)

    def load_data_list(self) -> list[dict]:
        """Read each hand's list; record per-hand classes and counts in ``metainfo``."""
        data_list, classes, counts, list_files = [], {}, {}, {}
        for hand in self.hands:
            num_classes = self.hand_num_classes.get(hand)
            if hand in self.label_maps:
                classes[hand] = read_label_map(self.label_maps[hand])
                if num_classes is not None and num_classes != len(classes[hand]):
                    raise HAViDListError(
                        f'{self.label_maps[hand]}: {len(classes[hand])} names but '
                        f'num_classes[{hand!r}] = {num_classes}')
                num_classes = len(classes[hand])
            list_file, video_dir = self._sources(hand)
            _check_hand_paths(hand, list_file, video_dir)
            list_files[hand] = list_file
            layout = None if hand in self.ann_files else self.layout  # for the message
            clips = read_clip_list(list_file, video_dir, num_classes, self.check_files,
                                   layout)
            counts[hand] = len(clips)
            data_list += [dict(filename=f, label=label, hand=hand) for f, label in clips]
        if len(list_files) == 2 and osp.realpath(list_files['lh']) == osp.realpath(
                list_files['rh']):
            raise HAViDListError(
                f"both hands read the same clip list: lh {list_files['lh']}, rh "
                f"{list_files['rh']}; give each hand its own list (ann_files)")
        self._metainfo.update(hands=self.hands, hand_counts=counts)
        if classes:
            self._metainfo['classes'] = classes
        if self.hand_num_classes:
            self._metainfo['num_classes'] = dict(self.hand_num_classes)
        return data_list

    def hand_indices(self) -> dict[str, list[int]]:
        """Dataset indices of each hand's samples (for hand-homogeneous batching)."""
        indices: dict[str, list[int]] = {hand: [] for hand in self.hands}
        for idx in range(len(self)):
            indices[self.get_data_info(idx)['hand']].append(idx)
        return indices

    def prepare_data(self, idx: int):
        """Run the pipeline, then tag the packed sample with ``hand`` and ``sample_idx``."""
        info = self.get_data_info(idx)
        self._refetch_hand = info['hand']
        results = super().prepare_data(idx)  # unreadable clips: counted skip or error
        # a list: the copies of one clip made by RepeatAugment (repeated augmentation)
        for packed in results if isinstance(results, list) else [results]:
            if packed is not None and 'data_samples' in packed:
                packed['data_samples'].set_metainfo(
                    dict(hand=info['hand'], sample_idx=info['sample_idx']))
        return results

    def _rand_another(self) -> int:
        """A replacement for a failed training sample, drawn from the same hand."""
        hand = self._refetch_hand
        while True:
            idx = int(np.random.randint(0, len(self)))
            if hand is None or self.get_data_info(idx)['hand'] == hand:
                return idx
