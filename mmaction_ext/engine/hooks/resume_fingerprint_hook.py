"""``--resume`` continues only the run it belongs to.

MMEngine's resume restores weights, optimizer, schedule position and RNG state, and then
trains on whatever the config says now: a regenerated list file, other labels, another
batch size, gradient accumulation, world size, sampler, pipeline or learning-rate schedule
silently change the run half-way. Each checkpoint records what the run sees; resuming
with something different is refused, and the refusal says in words what differs. Where
the same files live is not part of it: samples are named relative to their common folder
and dataset paths are left out, so a moved dataset resumes.
"""
from __future__ import annotations

from mmaction.registry import HOOKS
from mmengine.dist import get_world_size
from mmengine.hooks import Hook

from mmaction_ext.utils.env import env_flag

from .run_identity import (
    MAX_STORED_RECORDS,
    describe_sample_changes,
    describe_setting_changes,
    flatten,
    records_digest,
    sample_records,
)

META_KEY = 'mmaction_ext_run'
ALLOW_ENV = 'MMACTION_EXT_RESUME_ALLOW_CHANGES'
VERSION = 2
# Where things live, how fast they load, and how long the run goes: not the run itself.
LOCATION_KEYS = frozenset({
    'ann_file', 'ann_files', 'data_prefix', 'data_root', 'video_dirs', 'video_dir',
    'sequences_file', 'label_map',  # contents: in the records (ranges) or dataset_meta
    'num_workers', 'persistent_workers', 'pin_memory', 'prefetch_factor', 'batch_size',
    'check_files', 'io_backend', 'backend_args', 'file_client_args', 'collate_fn',
    'worker_init_fn', 'pretrained', 'init_cfg', 'max_iters', 'max_epochs', 'val_interval',
    'val_begin', 'dynamic_intervals'})


class ResumeMismatchError(RuntimeError):
    """The resumed checkpoint was written by a run that saw other data or settings."""


def _without_locations(value):
    if isinstance(value, dict):
        return {k: _without_locations(v) for k, v in value.items() if k not in LOCATION_KEYS}
    if isinstance(value, (list, tuple)):
        return [_without_locations(v) for v in value]
    return value


def run_settings(cfg) -> dict[str, str]:
    """The config parts that change what training computes, flattened to named keys."""
    parts = {key: cfg.get(key) for key in ('optim_wrapper', 'param_scheduler', 'model',
                                           'train_dataloader', 'train_cfg')}
    return flatten(_without_locations(parts))


def run_fingerprint(runner) -> dict:
    """What the training run sees: its samples (name, label, range, hand), batch, settings.

    Video contents are not hashed (too slow for large datasets); a file replaced in place
    under the same name is not detected.
    """
    loader = runner.train_loop.dataloader
    records = sample_records(loader.dataset)
    batch = loader.batch_size or getattr(loader.batch_sampler, 'batch_size', None)
    world = get_world_size()
    accumulate = int((runner.cfg.get('optim_wrapper') or {}).get('accumulative_counts') or 1)
    return dict(version=VERSION, samples=len(records), sample_list=records_digest(records),
                sample_records=records if len(records) <= MAX_STORED_RECORDS else None,
                batch_size=batch, world_size=world, accumulative_counts=accumulate,
                effective_batch=(batch or 0) * world * accumulate,
                settings=run_settings(runner.cfg))


def _batch_words(fp: dict) -> str:
    return (f"{fp.get('effective_batch')} ({fp.get('batch_size')} per rank x "
            f"{fp.get('world_size')} ranks x {fp.get('accumulative_counts')} accumulated)")


def describe_changes(stored: dict, now: dict) -> list[str]:
    """Each difference between two fingerprints in words; empty when they agree."""
    if stored.get('version') != VERSION:  # older fingerprint: what it can still tell
        return [f'{k}: {stored.get(k)!r} -> {now.get(k)!r}'
                for k in ('samples', 'batch_size', 'world_size') if stored.get(k) != now.get(k)]
    changed = []
    if stored.get('effective_batch') != now.get('effective_batch'):
        changed.append(f'effective batch {_batch_words(stored)} -> {_batch_words(now)}')
    elif any(stored.get(k) != now.get(k)
             for k in ('batch_size', 'world_size', 'accumulative_counts')):
        changed.append(f'same effective batch split differently: {_batch_words(stored)} -> '
                       f'{_batch_words(now)}')
    if stored.get('sample_list') != now.get('sample_list'):
        if stored.get('sample_records') is not None and now.get('sample_records') is not None:
            changed.append('training samples: ' + describe_sample_changes(
                stored['sample_records'], now['sample_records'], 'in the checkpoint', 'now'))
        else:
            changed.append(f"training samples: {stored.get('samples')} -> {now.get('samples')}"
                           ', their names or labels differ (too many to list)')
    changed += describe_setting_changes(stored.get('settings') or {}, now.get('settings') or {})
    return changed


@HOOKS.register_module()
class ResumeFingerprintHook(Hook):
    """Store :func:`run_fingerprint` in each checkpoint; compare it when resuming.

    The length of the schedule (``max_iters``/``max_epochs``) is not compared: extending
    a finished run is legitimate. ``allow_changes=True`` (or
    ``MMACTION_EXT_RESUME_ALLOW_CHANGES=1``) resumes anyway.
    """

    priority = 'VERY_LOW'

    def __init__(self, allow_changes: bool = False) -> None:
        self.allow_changes = allow_changes
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
        changed = describe_changes(stored, self._current(runner))
        if not changed:
            return
        message = ('--resume: this run differs from the one that wrote the checkpoint:\n  '
                   + '\n  '.join(changed) + '\nResuming would continue the old run on other '
                   'data or settings. Restore the lists/config, or start a new run '
                   '(another --work-dir) with load_from=<checkpoint> to fine-tune from its '
                   f'weights; ResumeFingerprintHook(allow_changes=True) or {ALLOW_ENV}=1 '
                   'resumes anyway.')
        if self.allow_changes or env_flag(ALLOW_ENV):
            runner.logger.warning(message)
            return
        raise ResumeMismatchError(message)
