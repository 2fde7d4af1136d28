"""``--resume`` continues only the run it belongs to.

MMEngine's resume restores weights, optimizer, schedule position and RNG state, and then
trains on whatever the config says now: a regenerated list file, other labels, another
batch size or learning-rate schedule silently change the run half-way. Each checkpoint
records a fingerprint of what the run sees; resuming with a different one is refused.
"""
from __future__ import annotations

import hashlib
import os

from mmaction.registry import HOOKS
from mmengine.dist import get_world_size
from mmengine.hooks import Hook

META_KEY = 'mmaction_ext_run'
ALLOW_ENV = 'MMACTION_EXT_RESUME_ALLOW_CHANGES'


class ResumeMismatchError(RuntimeError):
    """The resumed checkpoint was written by a run that saw other data or settings."""


def run_fingerprint(runner) -> dict:
    """What the training run sees: its samples (file, label, range, hand), batch, schedule.

    Video contents are not hashed (too slow for large datasets); a file replaced in place
    under the same name is not detected.
    """
    loader = runner.train_loop.dataloader
    dataset = loader.dataset
    digest = hashlib.sha1()
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        digest.update(repr(tuple(info.get(k) for k in (
            'filename', 'label', 'frame_range', 'hand'))).encode())
    batch = loader.batch_size or getattr(loader.batch_sampler, 'batch_size', None)
    cfg = runner.cfg
    return dict(samples=len(dataset), sample_list=digest.hexdigest()[:16],
                batch_size=batch, world_size=get_world_size(),
                param_scheduler=repr(cfg.get('param_scheduler')),
                optimizer=repr((cfg.get('optim_wrapper') or {}).get('optimizer')))


@HOOKS.register_module()
class ResumeFingerprintHook(Hook):
    """Store :func:`run_fingerprint` in each checkpoint; compare it when resuming.

    The length of the schedule (``max_iters``/``max_epochs``) is not compared: extending
    a finished run is legitimate. ``MMACTION_EXT_RESUME_ALLOW_CHANGES=1`` resumes anyway.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._fingerprint: dict | None = None

    def _current(self, runner) -> dict:
        if self._fingerprint is None:
            self._fingerprint = run_fingerprint(runner)
        return self._fingerprint

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})[META_KEY] = self._current(runner)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return  # load_from: fine-tuning from other weights is what it is for
        stored = (checkpoint.get('meta') or {}).get(META_KEY)
        if stored is None:
            return  # written before fingerprints existed, or by another tool
        now = self._current(runner)
        changed = [f'{k}: {stored.get(k)!r} -> {now.get(k)!r}' for k in sorted(now)
                   if stored.get(k) != now.get(k)]
        if not changed:
            return
        message = ('--resume: this run differs from the one that wrote the checkpoint ('
                   + '; '.join(changed) + '). Resuming would continue the old run on other '
                   'data or settings. Restore the lists/config, or start a new run '
                   '(another --work-dir) with load_from=<checkpoint> to fine-tune from its '
                   f'weights; {ALLOW_ENV}=1 resumes anyway.')
        if os.environ.get(ALLOW_ENV, '').strip().lower() in ('1', 'true', 'yes'):
            runner.logger.warning(message)
            return
        raise ResumeMismatchError(message)
