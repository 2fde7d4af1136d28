"""CheckpointHook that never leaves a run without a loadable checkpoint."""
from __future__ import annotations

import glob
import os
import re
import zipfile

from mmaction.registry import HOOKS
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log

from mmaction_ext.fileio import write_text

_STEP = re.compile(r'(?:iter|epoch)_(\d+)\.pth$')


def checkpoint_is_whole(path: str) -> bool:
    """Whether ``path`` is a complete torch zip checkpoint, without unpickling it.

    A file cut short by a crash lacks the zip's central directory (written last), so
    opening it fails; this costs a few reads at the file's end instead of loading what
    may be gigabytes of weights and optimizer state that the Runner then loads again.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith('/data.pkl') or name == 'data.pkl'
                       for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def newest_loadable_checkpoint(work_dir: str) -> str | None:
    """The ``iter_N.pth`` / ``epoch_N.pth`` in ``work_dir`` with the largest N that is whole."""
    candidates = []
    for path in glob.glob(os.path.join(work_dir, '*.pth')):
        found = _STEP.search(os.path.basename(path))
        if found:
            candidates.append((int(found.group(1)), os.path.getmtime(path), path))
    for _, _, path in sorted(candidates, reverse=True):
        if checkpoint_is_whole(path):
            return path
        print_log(f'skipping incomplete checkpoint {path}', logger='current', level=30)
    return None


def repair_last_checkpoint(work_dir: str) -> str | None:
    """Point ``work_dir/last_checkpoint`` at a complete checkpoint; return that path.

    MMEngine rewrites ``last_checkpoint`` in place, so a crash at the wrong moment leaves it
    empty, and a checkpoint written by a stock backend can be truncated. Only when the file
    is missing, empty, or names a missing/unloadable checkpoint is it rewritten
    (atomically) to the newest complete checkpoint.
    """
    marker = os.path.join(work_dir, 'last_checkpoint')
    named = open(marker).read().strip() if os.path.isfile(marker) else ''
    if named:
        if checkpoint_is_whole(named):
            return named
        print_log(f'last_checkpoint names a missing or incomplete file: {named}',
                  logger='current', level=30)
    newest = newest_loadable_checkpoint(work_dir)
    if newest is not None and newest != named:
        write_text(marker, newest)
        print_log(f'last_checkpoint repaired: now {newest} (was {named or "empty/missing"})',
                  logger='current', level=30)
    return newest


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` that keeps the previous checkpoint until the new one is whole.

    Stock MMEngine deletes the oldest kept checkpoint *before* writing the new one, so
    with ``max_keep_ckpts=1`` a crash during the write leaves none. Here the new file is
    written first (atomically, via the atomic local backend) and the surplus old one is
    removed afterwards. Before a ``--resume auto`` run, ``last_checkpoint`` is repaired
    if a crash left it empty or pointing at a missing file.
    """

    def before_run(self, runner) -> None:
        super().before_run(runner)
        if getattr(runner, '_resume', False) and getattr(runner, '_load_from', None) is None:
            if os.path.isdir(runner.work_dir):
                repair_last_checkpoint(runner.work_dir)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        if self.max_keep_ckpts <= 0:
            return super()._save_checkpoint_with_step(runner, step, meta)
        # The kept-id bookkeeping is the parent's, recorded before saving as the parent
        # does (so each checkpoint's message hub holds exactly stock's list); only the
        # removal of the dropped file waits until the new checkpoint is written.
        dropped = None
        if not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                dropped = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        limit = self.max_keep_ckpts
        self.max_keep_ckpts = 0  # the parent then only saves
        try:
            super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self.max_keep_ckpts = limit
        if dropped is not None and runner.rank == 0:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(dropped))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # DeepSpeed saves directories
                self.file_backend.rmtree(path)
