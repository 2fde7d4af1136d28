"""Two training runs must not silently share one work dir.

They would overwrite each other's ``iter_N.pth``, ``best_*.pth`` and ``last_checkpoint``
(each write stays whole, but ``--resume`` then continues whichever run wrote last).
"""
from __future__ import annotations

import os
import socket

from mmaction.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop

from mmaction_ext.fileio import write_text

LOCK_NAME = '.mmaction_ext_train.lock'


class WorkDirInUseError(RuntimeError):
    """Another live training run holds the work dir."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


@HOOKS.register_module()
class WorkDirLockHook(Hook):
    """Hold ``work_dir/.mmaction_ext_train.lock`` (``pid@host``) while training.

    A lock left by a process that no longer runs on this host (killed, crashed) is taken
    over; one held by a live process, or by another host, stops the second run naming it.
    """

    priority = 'HIGHEST'

    def __init__(self) -> None:
        self._path: str | None = None

    def before_run(self, runner) -> None:
        """Before anything is written (``last_checkpoint`` repair, resume); training only."""
        if not is_main_process() or not isinstance(getattr(runner, '_train_loop', None),
                                                   BaseLoop):
            return
        path = os.path.join(runner.work_dir, LOCK_NAME)
        me = f'{os.getpid()}@{socket.gethostname()}'
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))  # the lock
        except FileExistsError:
            holder = open(path).read().strip()
            pid, _, host = holder.partition('@')
            mine = host == socket.gethostname()
            if holder != me and (not mine or (pid.isdigit() and _alive(int(pid)))):
                raise WorkDirInUseError(
                    f'{runner.work_dir} is in use by another training run (process '
                    f'{holder}, lock file {path}); two runs in one work dir overwrite each '
                    f'other\'s checkpoints. Give this run its own --work-dir, or, if that '
                    f'run is over, delete the lock file.') from None
            runner.logger.warning(f'{path}: taking over the lock of {holder}, which no '
                                  f'longer runs')
        write_text(path, me + '\n')
        self._path = path

    def after_run(self, runner) -> None:
        if self._path and os.path.exists(self._path):
            os.remove(self._path)
        self._path = None
