"""A quiet console for the tools: progress, results and paths; the full log stays in the file.

MMEngine sends everything it logs to both the work dir's log file and stdout: the
environment, the whole config, the hook tables, one line per logging interval. The
tools' default console keeps only

- records a component marks for it (``extra={'console': True}``, see
  :func:`console_info`): :class:`~mmaction_ext.engine.ConsoleProgressHook`'s epoch
  lines, results and paths;
- warnings and errors, except the known noise below (still written to the file);
- the per-hand accuracy table while testing (the hook turns it on for the test loop).

The file handler is not touched, so the log file is exactly what it was. ``--verbose``
(``build_runner(cfg, verbose=True)``) keeps MMEngine's console as it is.
"""
from __future__ import annotations

import logging
import re

from mmengine.logging import MMLogger

from mmaction_ext.utils.upstream_messages import FILECLIENT_DEPRECATIONS

# Warnings that say nothing a user can act on; hidden on the console, kept in the file.
CONSOLE_NOISE = FILECLIENT_DEPRECATIONS + (
    re.compile(r'^The prefix is not set in metric class DumpResults'),
)
# INFO records shown on the console while ``show_tables`` is on (the test results).
TABLE_PREFIXES = ('per-hand accuracy (%):', 'temporal segmentation (%)')


def console_info(message: str, logger: logging.Logger | None = None) -> None:
    """Log ``message`` at INFO for the file and mark it for the quiet console."""
    logger = logger or MMLogger.get_current_instance()
    logger.info(message, extra={'console': True})


def is_console_noise(message: str) -> bool:
    """Whether ``message`` is one of the known, non-actionable warnings."""
    return any(p.search(message) for p in CONSOLE_NOISE)


class ConsoleFilter(logging.Filter):
    """Pass console-marked records, warnings (less :data:`CONSOLE_NOISE`), and tables."""

    def __init__(self) -> None:
        super().__init__()
        self.show_tables = False
        self.tables_shown = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, 'console', False):
            return True
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            return not is_console_noise(message)
        if self.show_tables and message.startswith(TABLE_PREFIXES):
            self.tables_shown += 1
            return True
        return False


class ConsoleFormatter(logging.Formatter):
    """Plain messages; warnings and errors keep their level name in front."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f'{record.levelname}: {message}'
        return message


def _console_handlers(logger: logging.Logger) -> list[logging.Handler]:
    return [h for h in logger.handlers
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]


def quiet_console(logger: logging.Logger) -> ConsoleFilter:
    """Make ``logger``'s stream handlers quiet (see the module docstring); files unchanged."""
    console_filter = ConsoleFilter()
    for handler in _console_handlers(logger):
        if not any(isinstance(f, ConsoleFilter) for f in handler.filters):
            handler.addFilter(console_filter)
            handler.setFormatter(ConsoleFormatter())
    return console_filter


def set_show_tables(logger: logging.Logger, show: bool) -> None:
    """Show (or hide) result tables on ``logger``'s quiet console, if it has one."""
    for handler in _console_handlers(logger):
        for f in handler.filters:
            if isinstance(f, ConsoleFilter):
                f.show_tables = show
