"""Silence known, non-actionable upstream messages where they are emitted.

- MMEngine 0.10.7's ``FileClient`` (used by MMAction2's stock ``DecordInit`` & co.) logs
  two deprecation warnings ("``FileClient`` will be deprecated", "``HardDiskBackend`` is
  the alias of ``LocalBackend``") once per process that opens a file: every DataLoader
  worker of every loader repeats them. The filter goes on the process's default
  ``MMLogger`` (the one a worker's ``print_log(logger='current')`` reaches), so the
  workers drop them; a trainer's own logger still writes them to its log file.
- ``mmcv-lite`` (pinned: recognition needs no compiled ops, see docs/installation.md) warns at
  import that ``MultiScaleDeformableAttention`` is unavailable.
- setuptools (pinned ``<82`` because MMEngine needs ``pkg_resources``) warns at MMEngine's
  import that ``pkg_resources`` is deprecated. The tools import ``mmaction_ext`` before
  MMEngine so that this filter is in place first.

Nothing else is filtered: other warnings pass unchanged.
"""
from __future__ import annotations

import logging
import warnings

from mmaction_ext.utils.upstream_messages import FILECLIENT_DEPRECATIONS

MMCV_LITE_WARNING = r'Fail to import ``MultiScaleDeformableAttention``'
PKG_RESOURCES_WARNING = r'pkg_resources is deprecated as an API'


class FileClientDeprecationFilter(logging.Filter):
    """Drop MMEngine's two ``FileClient`` deprecation messages; pass everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(p.search(message) for p in FILECLIENT_DEPRECATIONS)


def silence_known_warnings() -> None:
    """Install the filters (idempotent; before MMEngine is imported for the last one)."""
    warnings.filterwarnings('ignore', message=MMCV_LITE_WARNING, category=UserWarning)
    warnings.filterwarnings('ignore', message=PKG_RESOURCES_WARNING, category=UserWarning)
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    if not any(isinstance(f, FileClientDeprecationFilter) for f in logger.filters):
        logger.addFilter(FileClientDeprecationFilter())
