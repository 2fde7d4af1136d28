"""When may a rerun of sliding-window inference keep a video's earlier outputs?

Only when they were made from the same inputs: the same video file, the same checkpoint
file, the same config and the same options that change the numbers. Anything else is
recomputed (as ``tools/test.py`` recomputes on every run), with a line saying what
differs; a crashed or older run's outputs are never taken for new ones.

A file is identified by its real path, size and modification time (``stat``): hashing
a multi-gigabyte video on every rerun would cost as much as decoding it, and replacing
a file (a new checkpoint saved under the same name, a re-encoded video) changes its
modification time.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Any

# Options that change the outputs; batch size, device and progress bars do not.
RESULT_OPTIONS = ('stride', 'smooth', 'amp', 'features', 'pipeline')


def file_identity(path: str) -> dict[str, Any]:
    """``{path, size, mtime_ns}`` of the real file behind ``path``."""
    real = os.path.realpath(path)
    st = os.stat(real)
    return dict(path=real, size=st.st_size, mtime_ns=st.st_mtime_ns)


def config_identity(cfg) -> str:
    """A short hash of the loaded config (``_base_`` files merged in), not of its file."""
    data = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    text = json.dumps(data, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_inputs(video: str, checkpoint: str | None, cfg, options: dict) -> dict:
    """What a video's outputs are made from, as recorded in ``summary.json``."""
    return dict(video=file_identity(video),
                checkpoint=file_identity(checkpoint) if checkpoint else None,
                config=config_identity(cfg),
                options={k: options.get(k) for k in RESULT_OPTIONS})


def _describe(key: str, old: Any, new: Any) -> str:
    if key in ('video', 'checkpoint') and isinstance(old, dict) and isinstance(new, dict):
        if old.get('path') != new.get('path'):
            return f'{key}: {old.get("path")} then, {new.get("path")} now'
        return (f'{key} {new.get("path")} changed since (size {old.get("size")} -> '
                f'{new.get("size")}, modified after the outputs were written)')
    if key == 'config':
        return 'config: its contents differ'
    return f'{key}: {old!r} then, {new!r} now'


def input_differences(recorded: dict | None, current: dict) -> list[str]:
    """What differs between the inputs in a summary and those of this run (empty: same)."""
    if not isinstance(recorded, dict):
        return ['the outputs do not record their inputs (written by an older version)']
    out = []
    for key in ('video', 'checkpoint', 'config'):
        if recorded.get(key) != current.get(key):
            out.append(_describe(key, recorded.get(key), current.get(key)))
    old_opts, new_opts = recorded.get('options') or {}, current.get('options') or {}
    for key in RESULT_OPTIONS:
        if old_opts.get(key) != new_opts.get(key):
            out.append(_describe(f'--{key.replace("_", "-")}', old_opts.get(key),
                                 new_opts.get(key)))
    return out
