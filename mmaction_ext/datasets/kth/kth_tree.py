"""Find the videos of an extracted KTH tree (``<root>/<action>/personNN_<action>_dK_uncomp.avi``).

Strict on purpose: a stray folder or a misnamed file usually means a wrong ``root`` or a
half-finished extraction, and silently skipping it would change the sample counts. The
unambiguous variants of real downloads are accepted with a note: ``__MACOSX/`` (ignored),
``.AVI`` names, and all videos extracted flat into the root.
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

MAC_METADATA = '__MACOSX'


def is_video_name(name: str) -> bool:
    """Whether ``name`` has KTH's video extension (``.avi``, any case)."""
    return name.lower().endswith('.avi')


def scan_kth_tree(root: str, notes: list[str] | None = None) -> dict[str, str]:
    """Map each video id found under ``root`` to its path relative to ``root``.

    Accepted layouts: ``<root>/<action>/<video>`` (the official zips extracted one per
    folder) and videos directly in ``root`` (all zips extracted into one folder), or a mix;
    ``.avi`` in any case. Ignored: hidden entries (macOS ``._*`` files), plain non-video
    files directly in ``root`` (``00sequences.txt``, list files), and the ``__MACOSX/``
    folder a Mac's archive tool adds (a note says so). Anything else stops the scan.

    Args:
        root: the extracted tree.
        notes: if given, a line is appended for each ignored or accepted irregularity.

    Raises:
        FileNotFoundError: ``root`` is not a folder.
        KTHFormatError: an unknown folder, a malformed file name, a file in the folder of
            another action, or one video twice (the message names the path and the fix).
    """
    if not osp.isdir(root):
        raise FileNotFoundError(f'KTH root {root!r} is not a folder; extract the six action '
                                'zips into <root>/<action>/, or point the config at your copy: '
                                '--cfg-options data_root=/path/to/kth (see docs/datasets.md)')
    notes = [] if notes is None else notes
    found: dict[str, str] = {}
    flat = 0
    for entry in sorted(os.listdir(root)):
        path = osp.join(root, entry)
        if entry.startswith('.'):
            continue
        if not osp.isdir(path):
            if is_video_name(entry):
                _add(found, parse_kth_name(entry, path), entry, path)
                flat += 1
            continue
        if entry == MAC_METADATA:
            notes.append(f'ignored {path}/: macOS archive metadata, not videos '
                         '(safe to delete)')
            continue
        if entry not in KTH_CLASSES:
            raise KTHFormatError(f'{path}: unknown action folder {entry!r}; KTH has '
                                 f'{", ".join(KTH_CLASSES)}{_nested_hint(path)}')
        for name in sorted(os.listdir(path)):
            if name.startswith('.'):
                continue
            file = osp.join(path, name)
            if not is_video_name(name):
                raise KTHFormatError(f'{file}: not a KTH video (expected '
                                     "'personNN_<action>_dK_uncomp.avi'); move or delete it")
            video = parse_kth_name(name, file)
            if video.action != entry:
                raise KTHFormatError(f'{file}: a {video.action!r} video inside the {entry!r} '
                                     'folder; move it to its action folder')
            _add(found, video, f'{entry}/{name}', file)
    if flat:
        notes.append(f'{flat} video(s) directly in {root} (no action folders): used as they '
                     'are; list files name them without a folder')
    return found


def _add(found: dict[str, str], video: KTHVideo, relpath: str, file: str) -> None:
    if video.video_id in found:
        raise KTHFormatError(f'{file}: a second file for {video.video_id} '
                             f'(first: {found[video.video_id]}); delete one of them')
    found[video.video_id] = relpath


def _nested_hint(path: str) -> str:
    """Advice for an unknown folder: the real root when the tree is one level deeper."""
    try:
        inner = [e for e in os.listdir(path) if e in KTH_CLASSES or is_video_name(e)]
    except OSError:
        return ' (move or delete it)'
    if inner:
        return f' (it holds KTH videos or action folders: pass {path} as the KTH root)'
    return ' (move or delete it)'


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
