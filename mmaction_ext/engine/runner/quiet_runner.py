"""Build a config's runner as MMAction2's tools do, with the project's quiet console."""
from __future__ import annotations

import inspect

from mmengine.logging import MMLogger
from mmengine.registry import RUNNERS  # MMEngine-style tools look runners up here only
from mmengine.runner import Runner

from mmaction_ext.utils.console import quiet_console
from mmaction_ext.utils.env import env_flag

from ..hooks.console_progress_hook import ConsoleProgressHook


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
    verbose = verbose or env_flag('MMACTION_EXT_VERBOSE')
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
