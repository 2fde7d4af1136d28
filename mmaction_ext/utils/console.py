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

import inspect
import logging
import os
import re

from mmengine.logging import MMLogger
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmaction_ext.compat.known_warnings import FILECLIENT_DEPRECATIONS

# Warnings that say nothing a user can act on; hidden on the console, kept in the file.
CONSOLE_NOISE = FILECLIENT_DEPRECATIONS + (
    re.compile(r'^The prefix is not set in metric class DumpResults'),
)
# INFO records shown on the console while ``show_tables`` is on (the test results).
TABLE_PREFIXES = ('per-hand accuracy (%):',)


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


class QuietLoggerMixin:
    """Mixed into a ``Runner`` class: its logger's console is quiet from the first record."""

    def build_logger(self, *args, **kwargs) -> MMLogger:
        logger = super().build_logger(*args, **kwargs)
        quiet_console(logger)
        return logger


def _runner_class(cfg) -> type | None:
    """The config's runner class (``runner_type`` name or class; default ``Runner``)."""
    runner_type = cfg.get('runner_type', Runner)
    if isinstance(runner_type, str):
        runner_type = RUNNERS.get(runner_type)
    return runner_type if inspect.isclass(runner_type) else None


def build_runner(cfg, verbose: bool = False):
    """Build the config's runner, as MMAction2's tools do, with a quiet console.

    With ``verbose`` (or ``MMACTION_EXT_VERBOSE=1``) the console is MMEngine's own. The
    config's ``runner_type`` (e.g. ``DataRootRunner``) is kept: a ``Runner`` subclass is
    built through a subclass of it that quiets the logger as soon as it exists; any other
    runner class gets the quiet console after it is built (its environment and config
    dump show). Either way a :class:`~mmaction_ext.engine.ConsoleProgressHook` reports
    progress, results and where the files are.
    """
    from mmaction_ext.engine.console_progress_hook import ConsoleProgressHook
    verbose = verbose or os.environ.get('MMACTION_EXT_VERBOSE') == '1'
    runner_cls = _runner_class(cfg)
    if runner_cls is not None and issubclass(runner_cls, Runner):
        if not verbose:
            runner_cls = type(f'Quiet{runner_cls.__name__}', (QuietLoggerMixin, runner_cls),
                              {'__module__': runner_cls.__module__})
        runner = runner_cls.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
        if not verbose:
            quiet_console(runner.logger)
    if not any(isinstance(h, ConsoleProgressHook) for h in runner.hooks):
        runner.register_hook(ConsoleProgressHook(), priority='VERY_LOW')
    return runner
