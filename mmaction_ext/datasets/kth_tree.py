"""Find the videos of an extracted KTH tree (``<root>/<action>/personNN_<action>_dK_uncomp.avi``).

Strict on purpose: a stray folder or a misnamed file usually means a wrong ``root`` or a
half-finished extraction, and silently skipping it would change the sample counts.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Sequence

from .kth_meta import (
    KTH_CLASSES,
    KTH_MISSING,
    KTH_PERSONS,
    KTH_SCENARIOS,
    KTHFormatError,
    KTHVideo,
    expected_videos,
    parse_kth_name,
)


def scan_kth_tree(root: str) -> dict[str, str]:
    """Map each video id found under ``root`` to its path relative to ``root``.

    Plain files directly in ``root`` (``00sequences.txt``, list files) and hidden entries
    are ignored; every folder must be a KTH action and hold only KTH video files.

    Raises:
        FileNotFoundError: ``root`` is not a folder.
        KTHFormatError: an unknown action folder, a malformed file name, or a file in the
            folder of another action (the message names the path).
    """
    if not osp.isdir(root):
        raise FileNotFoundError(f'KTH root {root!r} is not a folder; extract the six action '
                                'zips into <root>/<action>/ (see README, KTH section)')
    found: dict[str, str] = {}
    for folder in sorted(os.listdir(root)):
        path = osp.join(root, folder)
        if folder.startswith('.') or not osp.isdir(path):
            continue
        if folder not in KTH_CLASSES:
            raise KTHFormatError(f'{path}: unknown action folder {folder!r}; KTH has '
                                 f'{", ".join(KTH_CLASSES)} (move or delete it)')
        for name in sorted(os.listdir(path)):
            if name.startswith('.'):
                continue
            file = osp.join(path, name)
            if not name.endswith('.avi'):
                raise KTHFormatError(f'{file}: not a KTH video (expected '
                                     "'personNN_<action>_dK_uncomp.avi'); move or delete it")
            video = parse_kth_name(name, file)
            if video.action != folder:
                raise KTHFormatError(f'{file}: a {video.action!r} video inside the {folder!r} '
                                     'folder; move it to its action folder')
            if video.video_id in found:
                raise KTHFormatError(f'{file}: a second file for {video.video_id} '
                                     f'(first: {found[video.video_id]})')
            found[video.video_id] = f'{folder}/{name}'
    return found


def missing_videos(found: Sequence[str] | dict, persons: Sequence[int] = KTH_PERSONS,
                   actions: Sequence[str] = KTH_CLASSES,
                   scenarios: Sequence[str] = KTH_SCENARIOS) -> list[KTHVideo]:
    """Expected videos absent from ``found`` (the known missing KTH file is not counted)."""
    return [v for v in expected_videos(persons, actions, scenarios)
            if v.video_id not in found and v.video_id not in KTH_MISSING]


def check_complete(found: Sequence[str] | dict, root: str,
                   persons: Sequence[int] = KTH_PERSONS,
                   scenarios: Sequence[str] = KTH_SCENARIOS) -> None:
    """Raise ``FileNotFoundError`` listing every expected video missing under ``root``."""
    missing = missing_videos(found, persons, KTH_CLASSES, scenarios)
    if missing:
        shown = ', '.join(v.relpath for v in missing[:10])
        more = f' and {len(missing) - 10} more' if len(missing) > 10 else ''
        raise FileNotFoundError(
            f'{root}: {len(missing)} KTH video(s) missing: {shown}{more} '
            f'(only {", ".join(sorted(KTH_MISSING))} is absent from the real dataset); '
            'check the extraction or run tools/prepare_kth.py')


def parse_relpath(relpath: str, where: str) -> KTHVideo:
    """Parse a list-file path and check its folder (if any) names the same action."""
    video = parse_kth_name(relpath, where)
    folder = osp.basename(osp.dirname(relpath.replace('\\', '/')))
    if folder and folder in KTH_CLASSES and folder != video.action:
        raise KTHFormatError(f'{where}: {relpath!r} is a {video.action!r} video in the '
                             f'{folder!r} folder')
    return video
