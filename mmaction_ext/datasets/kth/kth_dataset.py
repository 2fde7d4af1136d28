"""KTH actions: read straight from the extracted tree (or list files), split by person."""
from __future__ import annotations

import os.path as osp
from typing import Callable, Sequence, Union

from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS
from mmengine.logging import MMLogger

from ...fileio.list_reader import DuplicateGuard, path_problem, read_list
from ..pipeline_checks import transform_names
from ..unreadable_clips import SkipUnreadableClipsMixin
from .kth_meta import (
    KTH_CLASSES,
    KTH_MISSING,
    KTH_SCENARIOS,
    KTHFormatError,
    KTHVideo,
    PersonSpec,
    resolve_persons,
)
from .kth_sequences import load_sequences_file
from .kth_tree import check_complete, parse_relpath, scan_kth_tree

_RANGE_TRANSFORM = 'ConfineFrameRange'
LIST_REMEDY = ('write it with tools/prepare_kth.py DATA_ROOT, or drop ann_file to read the '
               'extracted tree <data_root>/<action>/personNN_<action>_dK_uncomp.avi; '
               'see docs/datasets.md')


@DATASETS.register_module()
class KTHDataset(SkipUnreadableClipsMixin, BaseActionDataset):
    """The KTH human-action dataset (6 classes, 25 persons, scenarios d1-d4).

    Without ``ann_file`` the videos are found under ``data_prefix['video']`` (joined to
    ``data_root``) laid out as ``<action>/personNN_<action>_dK_uncomp.avi``, and every
    expected video of the chosen persons must be there (``person13_handclapping_d3``
    does not exist in KTH and is not expected). With ``ann_file`` (as written by
    ``tools/prepare_kth.py``) each line is ``<relpath> <label>`` or
    ``<relpath> <label> <start> <end>`` for one sub-sequence.

    Args:
        split: ``'train'``, ``'val'``, ``'test'``, ``'trainval'`` or ``'all'`` (the
            official person split of Schuldt et al. 2004).
        persons: explicit persons, overriding ``split``: ``'1-16'``, ``[17, 18]``...
        scenarios: keep only these scenarios (default all of d1-d4).
        sequences_file: ``00sequences.txt``; gives one sample per sub-sequence, with
            ``frame_range`` (1-based, inclusive) for the ``ConfineFrameRange`` transform,
            which the pipeline must then contain.
        check_files: raise if an expected (tree mode) or listed (list mode) video is
            missing.
        skip_unreadable, max_skip_fraction: what training does with a clip that cannot
            be decoded (see ``SkipUnreadableClipsMixin``); evaluation always raises.

    Each sample holds ``filename``, ``label``, ``video_id``, ``action``, ``person``,
    ``scenario``, ``frame_range`` (``None`` for whole videos) and ``sub_index``.
    """

    METAINFO = dict(classes=KTH_CLASSES)

    def __init__(self,
                 pipeline: Sequence[Union[dict, Callable]],
                 ann_file: str = '',
                 data_prefix: dict | None = None,
                 split: str | None = None,
                 persons: PersonSpec | None = None,
                 scenarios: Sequence[str] | None = None,
                 sequences_file: str | None = None,
                 check_files: bool = True,
                 test_mode: bool = False,
                 **kwargs) -> None:
        self.split = split
        self.persons = resolve_persons(split, persons)
        self.scenarios = tuple(scenarios) if scenarios is not None else KTH_SCENARIOS
        unknown = [s for s in self.scenarios if s not in KTH_SCENARIOS]
        if unknown:
            raise ValueError(f'KTHDataset: unknown scenarios {unknown}; KTH has {KTH_SCENARIOS}')
        self.sequences_file = sequences_file
        self.check_files = check_files
        if sequences_file is not None and pipeline:
            _require_range_transform(pipeline)
        if 'DecordInit' in transform_names(pipeline):
            MMLogger.get_current_instance().warning(
                "KTHDataset: stock DecordInit crashes (segfault) on KTH's truncated "
                "person01_boxing_d4; use dict(type='SafeDecordInit') instead")
        super().__init__(ann_file, pipeline=pipeline, data_prefix=data_prefix or dict(video=''),
                         test_mode=test_mode, **kwargs)

    def _wanted(self, video: KTHVideo) -> bool:
        return video.person in self.persons and video.scenario in self.scenarios

    def load_data_list(self) -> list[dict]:
        """Build one sample per video (or per sub-sequence) of the chosen persons."""
        video_root = self.data_prefix.get('video', '') or ''
        if self.ann_file:
            entries = self._read_list_file(self.ann_file)
        else:
            entries = self._read_tree(video_root)
        if self.sequences_file is not None:
            entries = self._split_into_sequences(entries)
        data_list = []
        for video, relpath, frame_range, sub_index in entries:
            data_list.append(dict(
                filename=osp.join(video_root, relpath), label=video.label,
                video_id=video.video_id, action=video.action, person=video.person,
                scenario=video.scenario, frame_range=frame_range, sub_index=sub_index))
        if not data_list:
            raise ValueError(f'KTHDataset: no samples for persons {list(self.persons)} and '
                             f'scenarios {list(self.scenarios)} '
                             f'(from {self.ann_file or video_root!r})')
        return data_list

    def _read_tree(self, root: str) -> list:
        notes: list[str] = []
        found = scan_kth_tree(root, notes)
        for note in notes:
            MMLogger.get_current_instance().info(f'KTHDataset: {note}')
        if self.check_files:
            check_complete(found, root, self.persons, self.scenarios)
        entries = []
        for relpath in found.values():
            video = parse_relpath(relpath, osp.join(root, relpath))
            if self._wanted(video):
                entries.append((video, relpath, None, 0))
        entries.sort(key=lambda e: (e[0].label, e[0].person, e[0].scenario))
        return entries

    def _read_list_file(self, path: str) -> list:
        entries = []
        video_root = self.data_prefix.get('video', '') or ''
        form = '<relpath> <label>" or "<relpath> <label> <start> <end>'
        lines = read_list(path, 'KTH list file', remedy=LIST_REMEDY, min_fields=2,
                          max_fields=4, form=form, allow_empty=True, error=KTHFormatError)
        if not lines:
            raise KTHFormatError(f'{path}: the list file is empty; regenerate it with '
                                 'tools/prepare_kth.py or point ann_file at the right file')
        seen = DuplicateGuard(KTHFormatError)  # (real file, start, end): one sample
        for line in lines:
            where, parts = line.where, line.fields
            if len(parts) == 3 or not all(p.lstrip('-').isdigit() for p in parts[1:]):
                raise KTHFormatError(f'{where}: expected "{form}", got {line.text!r}')
            filename = osp.join(video_root, parts[0])
            seen.add(filename, where, parts[0], extra=parts[2:])
            video = parse_relpath(parts[0], where)
            if int(parts[1]) != video.label:
                raise KTHFormatError(f'{where}: label {parts[1]} does not match action '
                                     f'{video.action!r} (label {video.label})')
            frame_range = None
            if len(parts) == 4:
                start, end = int(parts[2]), int(parts[3])
                if start < 1 or end < start:
                    raise KTHFormatError(f'{where}: frame range {start}-{end} is empty or '
                                         'starts before frame 1')
                frame_range = (start, end)
            if self._wanted(video):
                problem = path_problem(filename) if self.check_files else None
                if problem == 'no such file':
                    raise FileNotFoundError(f'{where}: video not found: {filename}; fix '
                                            'data_prefix or the line, or remove it')
                if problem:
                    raise KTHFormatError(f'{where}: {filename} {problem}; list video '
                                         'files, or fix data_prefix')
                entries.append((video, parts[0], frame_range, 0))
        return entries

    def _split_into_sequences(self, entries: list) -> list:
        path = self.sequences_file
        if self.data_root and not osp.isabs(path) and not osp.exists(path):
            path = osp.join(self.data_root, path)
        table = load_sequences_file(path)
        out = []
        for video, relpath, frame_range, _ in entries:
            if frame_range is not None:  # a list file already cut into sub-sequences
                out.append((video, relpath, frame_range, 0))
                continue
            if video.video_id not in table:
                raise KTHFormatError(f'{path}: no line for {video.video_id} '
                                     f'(found {relpath})')
            ranges = table[video.video_id]
            if ranges is None:
                raise KTHFormatError(f'{path}: {video.video_id} is marked *missing* but '
                                     f'{relpath} exists; fix the sequences file')
            out.extend((video, relpath, r, i) for i, r in enumerate(ranges))
        for video_id in table:
            if table[video_id] is not None or video_id in KTH_MISSING:
                continue
            MMLogger.get_current_instance().warning(f'{path}: {video_id} marked *missing*')
        return out


def _require_range_transform(pipeline: Sequence) -> None:
    """Without ConfineFrameRange a sub-sequence sample would silently use the whole video."""
    if _RANGE_TRANSFORM not in transform_names(pipeline):
        raise ValueError(
            'KTHDataset: sequences_file is set but the pipeline has no '
            f"dict(type='{_RANGE_TRANSFORM}') after its *Init transform, so frames would be "
            'sampled from the whole video; add it before SampleFrames')
