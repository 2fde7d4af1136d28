"""The explicit opt-in for checkpoints that may run code when unpickled.

``MMACTION_EXT_TRUSTED_CHECKPOINTS`` holds an ``os.pathsep``-separated list of paths,
glob patterns or URLs (or ``*`` for all). A pattern matches as a shell glob does: each
``*``, ``?`` or ``[...]`` stays inside one path level (``<dir>/*.pth`` does not trust
``<dir>/downloads/evil.pth``; ``fnmatch`` alone would, its ``*`` crosses ``/``), and a
wildcard does not match a leading ``.`` of a name. URLs match the same way, level by
level between ``/``.
"""
from __future__ import annotations

import fnmatch
import os
import re

from mmaction_ext.utils.env import env_text

TRUST_ENV = 'MMACTION_EXT_TRUSTED_CHECKPOINTS'


def trust_patterns() -> list[str]:
    """The opt-in list; ``:`` inside a URL (``http://``, ``host:8000``) does not split."""
    value = env_text(TRUST_ENV)
    parts = re.split(r':(?!//|\d)', value) if os.pathsep == ':' else value.split(os.pathsep)
    return [p for p in parts if p]


def glob_match(name: str, pattern: str, sep: str = '/') -> bool:
    """Shell-glob matching: one pattern level per name level, case-sensitive."""
    names, pats = name.split(sep), pattern.split(sep)
    if len(names) != len(pats):
        return False
    for part, pat in zip(names, pats):
        if part.startswith('.') and not pat.startswith('.') and part != pat:
            return False  # as a shell: `*` does not match a hidden name
        if not fnmatch.fnmatchcase(part, pat):
            return False
    return True


def is_trusted(path: str | None, source: str | None = None) -> bool:
    """Whether the user listed ``path`` (a local file) or ``source`` (its URL)."""
    real = os.path.realpath(path) if path else None
    for pattern in trust_patterns():
        if pattern == '*':
            return True
        if '://' in pattern:
            if source is not None and glob_match(source, pattern):
                return True
        elif real is not None and glob_match(real, os.path.realpath(pattern), os.sep):
            return True
    return False
