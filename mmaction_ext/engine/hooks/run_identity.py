"""What a run sees, in a form two runs (or two ranks) can compare and explain in words.

A sample is its file name relative to the dataset's common folder plus its label, frame
range and hand: the same files moved to another folder are the same samples, a relabelled
clip is not. Config parts are compared key by key so that a refusal can say
``optim_wrapper.accumulative_counts: 1 -> 2`` instead of two hashes.
"""
from __future__ import annotations

import hashlib
import os.path as osp
from typing import Any

SAMPLE_KEYS = ('label', 'frame_range', 'hand')
MAX_STORED_RECORDS = 100_000  # beyond this a checkpoint keeps only the digest
SHOWN = 3  # differences named in a message


def _common_folder(names: list[str], dataset=None) -> str:
    """The dataset's video folder when every name is under it (names then read as in the
    list file), else the deepest folder common to all names."""
    prefix = getattr(dataset, 'data_prefix', None) or {}
    for key in ('video', 'img'):
        folder = prefix.get(key) if isinstance(prefix, dict) else None
        if folder and all(n.startswith(folder.rstrip('/') + '/') for n in names):
            return folder
    folders = [osp.dirname(n) for n in names if osp.isabs(n) or osp.dirname(n)]
    if len(folders) != len(names) or not folders:
        return ''
    try:
        return osp.commonpath(folders)
    except ValueError:  # mixed absolute and relative, or other drives
        return ''


def sample_records(dataset) -> list[str]:
    """One line per sample: ``relative/name.avi label=3`` (plus range and hand if set)."""
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    names = [str(info.get('filename', info.get('frame_dir', ''))) for info in infos]
    root = _common_folder(names, dataset)
    records = []
    for name, info in zip(names, infos):
        rel = osp.relpath(name, root) if root else name
        extra = ' '.join(f'{k}={_plain(info[k])}' for k in SAMPLE_KEYS
                         if info.get(k) is not None)
        records.append(f'{rel} {extra}'.rstrip())
    return records


def _plain(value: Any) -> str:
    """Labels as numbers whatever their container (int, numpy int, tensor, list)."""
    if hasattr(value, 'tolist'):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return ','.join(_plain(v) for v in value)
    return str(value)


def records_digest(records: list[str]) -> str:
    digest = hashlib.sha1()
    for record in records:
        digest.update(record.encode() + b'\n')
    return digest.hexdigest()[:16]


def _name(record: str) -> str:
    return record.split(' ', 1)[0]


def describe_sample_changes(old: list[str], new: list[str], old_side: str = 'before',
                            new_side: str = 'now') -> str:
    """Say which samples differ between two record lists, naming a few of each kind."""
    if len(old) != len(new):
        head = f'{len(old)} samples {old_side}, {len(new)} {new_side}'
    else:
        head = f'{len(old)} samples on both sides'
    old_by_name = {_name(r): r for r in old}
    new_by_name = {_name(r): r for r in new}
    parts = []
    gone = [n for n in old_by_name if n not in new_by_name]
    added = [n for n in new_by_name if n not in old_by_name]
    changed = [n for n in old_by_name if n in new_by_name and old_by_name[n] != new_by_name[n]]
    if gone:
        parts.append(f'{len(gone)} only {old_side} (' + ', '.join(gone[:SHOWN]) + ')')
    if added:
        parts.append(f'{len(added)} only {new_side} (' + ', '.join(added[:SHOWN]) + ')')
    if changed:
        shown = [f'{old_by_name[n]!r} -> {new_by_name[n]!r}' for n in changed[:SHOWN]]
        parts.append(f'{len(changed)} changed (' + '; '.join(shown) + ')')
    if not parts and old != new:
        first = next(i for i, (a, b) in enumerate(zip(old, new)) if a != b)
        parts.append(f'same samples in another order (first difference at position {first}: '
                     f'{old[first]!r} -> {new[first]!r})')
    return head + ': ' + '; '.join(parts)


def flatten(value: Any, prefix: str = '') -> dict[str, str]:
    """Nested dicts/lists as ``{'a.b[0].c': repr}`` so differences can be named by key."""
    out: dict[str, str] = {}
    if isinstance(value, dict):
        if not value and prefix:
            out[prefix] = '{}'
        for key in sorted(value, key=str):
            out.update(flatten(value[key], f'{prefix}.{key}' if prefix else str(key)))
    elif isinstance(value, (list, tuple)):
        if not value and prefix:
            out[prefix] = repr(value)
        for i, item in enumerate(value):
            out.update(flatten(item, f'{prefix}[{i}]'))
    else:
        out[prefix] = repr(value)
    return out


def describe_setting_changes(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """``key: old -> new`` for every flattened key whose value differs (absent: unset)."""
    return [f'{k}: {old.get(k, "unset")} -> {new.get(k, "unset")}'
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
