"""A Runner that lets ``--cfg-options data_root=DIR`` move every data path of a config.

MMEngine resolves config variables when the file is parsed: ``data_prefix=dict(
video=data_root)`` holds the string ``'data/kth'`` by the time ``--cfg-options
data_root=/else`` is merged, so the override silently does nothing. The project's configs
record the path variables as parsed (``parsed_data_paths = dict(data_root=data_root,
...)``); when a variable's final value differs, :class:`DataRootRunner` (the configs'
``runner_type``, honoured by MMAction2's ``tools/train.py``/``test.py`` and ``mim``)
rewrites every dataset string that is, or lies under, the old value, and logs what it
changed. Paths overridden explicitly (no longer under the old value) are left alone.
"""
from __future__ import annotations

import copy
from typing import Any, List, Tuple

from mmengine.logging import print_log
from mmengine.registry import RUNNERS  # MMEngine-style tools look runners up here only
from mmengine.runner import Runner

RECORD_KEY = 'parsed_data_paths'


def _moved(value: str, old: str, new: str) -> str | None:
    if value == old:
        return new
    if value.startswith(old.rstrip('/') + '/'):
        return new.rstrip('/') + value[len(old.rstrip('/')):]
    return None


def _rewrite(node: Any, old: str, new: str, where: str, changed: List[str]) -> Any:
    if isinstance(node, dict):
        for key in list(node):
            node[key] = _rewrite(node[key], old, new, f'{where}.{key}', changed)
        return node
    if isinstance(node, list):
        return [_rewrite(v, old, new, f'{where}.{i}', changed) for i, v in enumerate(node)]
    if isinstance(node, str):
        moved = _moved(node, old, new)
        if moved is not None:
            changed.append(f'{where}: {node} -> {moved}')
            return moved
    return node


def apply_data_path_overrides(cfg: Any) -> List[str]:
    """Carry overridden path variables (``data_root``, ``sequences_file``, ...) into the
    ``*_dataloader.dataset`` entries; returns one line per rewritten entry."""
    record = cfg.get(RECORD_KEY) or {}
    moves: List[Tuple[str, str, str]] = []
    for name, parsed in record.items():
        final = cfg.get(name)
        if isinstance(parsed, str) and isinstance(final, str) and final != parsed:
            moves.append((name, parsed, final))
    changed: List[str] = []
    # Longest old value first: an explicit sequences_file override beats data_root's move.
    for name, old, new in sorted(moves, key=lambda m: -len(m[1])):
        for key in [k for k in cfg if k.endswith('_dataloader')]:
            loader = cfg.get(key)
            if isinstance(loader, dict) and 'dataset' in loader:
                _rewrite(loader['dataset'], old, new, f'{key}.dataset', changed)
        cfg[RECORD_KEY][name] = new
    return changed


@RUNNERS.register_module()
class DataRootRunner(Runner):
    """MMEngine ``Runner`` whose ``from_cfg`` first applies :func:`apply_data_path_overrides`."""

    @classmethod
    def from_cfg(cls, cfg) -> Runner:
        cfg = copy.deepcopy(cfg)
        changed = apply_data_path_overrides(cfg)
        if changed:
            print_log('data path variables overridden; dataset entries moved:\n  '
                      + '\n  '.join(changed), logger='current')
        return super().from_cfg(cfg)
