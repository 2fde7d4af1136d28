"""``--resume`` with nothing to resume is an error, not a silent fresh start.

MMEngine's auto-resume finds no checkpoint in the work dir, logs "Auto resumed from the
latest checkpoint None." and trains from scratch: a mistyped ``--work-dir`` restarts a
week-long run without a word.
"""
from __future__ import annotations

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner.checkpoint import find_latest_checkpoint

from mmaction_ext.utils.env import env_flag

START_ENV = 'MMACTION_EXT_RESUME_OR_START'


class NothingToResumeError(FileNotFoundError):
    """``resume=True`` but the work dir holds no checkpoint to resume."""


@HOOKS.register_module()
class ResumeGuardHook(Hook):
    """Before a run with ``resume=True`` and no path, require a checkpoint in the work dir.

    Runs after ``SafeCheckpointHook`` has repaired ``last_checkpoint`` (lowest priority).
    Job scripts that always pass ``--resume`` (preemptible queues) set
    ``resume_or_start=True`` (or ``MMACTION_EXT_RESUME_OR_START=1``) to start fresh when
    there is nothing yet.
    """

    priority = 'LOWEST'

    def __init__(self, resume_or_start: bool = False) -> None:
        self.resume_or_start = resume_or_start

    def before_run(self, runner) -> None:
        if not getattr(runner, '_resume', False) or runner._load_from is not None:
            return
        if getattr(runner, '_has_loaded', False) or find_latest_checkpoint(runner.work_dir):
            return
        if self.resume_or_start or env_flag(START_ENV):
            runner.logger.warning(f'--resume: nothing to resume in {runner.work_dir}; '
                                  f'starting a new run ({START_ENV} is set)')
            return
        raise NothingToResumeError(
            f'--resume: nothing to resume in {runner.work_dir} (no last_checkpoint and no '
            f'*.pth there). Pass the work dir of the run to continue (--work-dir) or its '
            f'checkpoint (--resume PATH); drop --resume to start a new run; job scripts '
            f'that always pass --resume can set {START_ENV}=1.')
