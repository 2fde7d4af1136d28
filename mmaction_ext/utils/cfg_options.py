"""Refuse ``--cfg-options`` keys that would have no effect (a typo in a config path).

``Config.merge_from_dict`` creates whatever key it is given: ``test_dataloder.batch_size=1``
adds a new top-level dict that nothing reads, and the run goes on with the old value.
"""
from __future__ import annotations

import difflib
import inspect
from typing import Any, Mapping

from mmengine.config import Config
from mmengine.runner import Runner


class UnknownConfigKeyError(KeyError):
    """A ``--cfg-options`` key names a config path that does not exist."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0])


def _runner_keys() -> set:
    """Top-level keys the Runner reads even when a config does not set them."""
    params = set(inspect.signature(Runner.__init__).parameters) - {'self', 'cfg'}
    return params | {'launcher', 'runner_type', 'custom_imports', 'log_processor',
                     'visualizer', 'default_scope', 'work_dir', 'resume', 'load_from'}


def _hint(name: str, choices) -> str:
    close = difflib.get_close_matches(name, [str(c) for c in choices], n=1)
    return f' (did you mean {close[0]!r}?)' if close else ''


def check_cfg_options(cfg: Mapping, options: Mapping[str, Any] | None,
                      flag: str = '--cfg-options') -> None:
    """Every dotted key's parents must exist; a top-level key must be one the run reads.

    The last component may be new (``test_dataloader.drop_last=True`` adds a valid
    DataLoader argument); builders reject unknown arguments themselves.
    """
    cfg = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    for key in options or {}:
        parts = key.split('.')
        node: Any = cfg
        if len(parts) == 1 and parts[0] not in cfg and parts[0] not in _runner_keys():
            raise UnknownConfigKeyError(
                f'{flag} {key}: the config has no key {parts[0]!r}{_hint(parts[0], cfg)} '
                f'and the runner does not read one; the option would have no effect.')
        for depth, part in enumerate(parts[:-1]):
            if isinstance(node, (list, tuple)) and part.lstrip('-').isdigit():
                if int(part) >= len(node):
                    raise UnknownConfigKeyError(
                        f'{flag} {key}: {".".join(parts[:depth]) or "config"} has only '
                        f'{len(node)} entries')
                node = node[int(part)]
                continue
            if not isinstance(node, Mapping) or part not in node:
                where = '.'.join(parts[:depth]) or 'the config'
                keys = list(node) if isinstance(node, Mapping) else []
                raise UnknownConfigKeyError(
                    f'{flag} {key}: {where} has no key {part!r}{_hint(part, keys)}; the '
                    f'option would create a new entry that nothing reads.')
            node = node[part]
