"""One console line per epoch, the results, and where the files are."""
from __future__ import annotations

import glob
import logging
import os
import os.path as osp
import time
from typing import Any

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mmaction_ext.utils.console import ConsoleFilter, console_info, set_show_tables


def _log_file(runner) -> str | None:
    for handler in runner.logger.handlers:
        if isinstance(handler, logging.FileHandler):
            return handler.baseFilename
    return None


def _rel(path: str) -> str:
    """``path`` relative to the working directory when it lies below it."""
    rel = osp.relpath(path)
    return path if rel.startswith('..') else rel


def _short_metrics(metrics: dict[str, Any], top1_only: bool = True) -> str:
    """``name value`` pairs (accuracies in %) of the top-1 style metrics or of all."""
    chosen = metrics
    if top1_only:
        chosen = {k: v for k, v in metrics.items()
                  if k.rsplit('/', 1)[-1].endswith(('top1', 'mean1'))} or metrics
    parts = []
    for key, value in chosen.items():
        name = key.rsplit('/', 1)[-1]
        parts.append(f'{name} {100 * value:.2f}' if isinstance(value, float) and value <= 1
                     else f'{name} {value}')
    return '  '.join(parts)


@HOOKS.register_module()
class ConsoleProgressHook(Hook):
    """Report training and testing on the (quiet) console.

    Training: one line per epoch (loss averaged since the previous line, learning rate,
    training time per epoch, ETA) for up to ``max_lines`` epochs, else every k-th epoch
    and the last, so that a long schedule still fits a screen; for iteration-based loops
    every tenth of the run. The top-1 metrics after each validation; at the end the last
    and best checkpoints, the log file and the scalars folder. Testing: the result table
    (or the top-1 metrics when the metric logs no table), then the log, predictions and
    plots written. Every line also goes to the log file. ``tools/train.py``/``test.py``
    register it (priority ``VERY_LOW``, after the checkpoint and logger hooks).
    """

    priority = 'VERY_LOW'

    def __init__(self, max_lines: int = 20) -> None:
        if not isinstance(max_lines, int) or isinstance(max_lines, bool) or max_lines < 1:
            raise ValueError(f'ConsoleProgressHook: max_lines must be an int >= 1, '
                             f'got {max_lines!r}')
        self.max_lines = max_lines
        self._run_start = time.time()
        self._line_start = self._train_start = time.time()
        self._line_first_iter = 0
        self._epoch_start = time.time()
        self._epochs_since_line = 0
        self._epoch_seconds = 0.0  # training time (validation excluded) since the last line
        self._tables_before = 0

    def before_run(self, runner) -> None:
        self._run_start = time.time()

    # -- training ---------------------------------------------------------------
    def before_train(self, runner) -> None:
        loop = runner.train_loop
        self._train_start = time.time()
        if isinstance(loop, EpochBasedTrainLoop):
            plan = (f'{loop.max_epochs} epochs x {len(loop.dataloader)} iterations')
        else:
            plan = f'{loop.max_iters} iterations'
        self._line_start = self._train_start
        self._line_first_iter = runner.iter
        self._epochs_since_line, self._epoch_seconds = 0, 0.0
        start = f', resuming at iteration {runner.iter}' if runner.iter else ''
        console_info(f'train: {plan}{start}; work dir {_rel(runner.work_dir)}', runner.logger)

    def before_train_epoch(self, runner) -> None:
        self._epoch_start = time.time()

    def epoch_line_interval(self, max_epochs: int) -> int:
        """Epochs per console line: 1 up to ``max_lines`` epochs, else the smallest k
        that keeps the lines within ``max_lines``."""
        return max(1, -(-max_epochs // self.max_lines))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        loop = runner.train_loop
        if isinstance(loop, EpochBasedTrainLoop):
            return
        every = max(1, loop.max_iters // 10)
        if runner.iter % every == 0 or runner.iter == loop.max_iters:
            self._train_line(runner, f'iter {runner.iter:>{len(str(loop.max_iters))}}'
                             f'/{loop.max_iters}', every, runner.iter / loop.max_iters)

    def after_train_epoch(self, runner) -> None:
        loop = runner.train_loop
        if not isinstance(loop, EpochBasedTrainLoop):
            return
        epoch = runner.epoch + 1  # MMEngine counts the finished epoch after this hook
        self._epoch_seconds += time.time() - self._epoch_start
        self._epochs_since_line += 1
        if epoch % self.epoch_line_interval(loop.max_epochs) and epoch != loop.max_epochs:
            return
        width = len(str(loop.max_epochs))
        self._train_line(runner, f'epoch {epoch:>{width}}/{loop.max_epochs}',
                         runner.iter - self._line_first_iter, epoch / loop.max_epochs,
                         per_epoch=True)

    def _train_line(self, runner, where: str, window: int, done: float,
                    per_epoch: bool = False) -> None:
        hub = runner.message_hub
        parts = [where]
        if 'train/loss' in hub.log_scalars and window > 0:
            parts.append(f'loss {hub.get_scalar("train/loss").mean(window):.4f}')
        if 'train/lr' in hub.log_scalars:
            parts.append(f'lr {hub.get_scalar("train/lr").current():.2e}')
        now = time.time()
        if per_epoch:
            parts.append(f'{self._epoch_seconds / self._epochs_since_line:.1f} s/epoch')
            self._epochs_since_line, self._epoch_seconds = 0, 0.0
        else:
            parts.append(f'{now - self._line_start:.1f} s')
        elapsed = now - self._train_start
        if 0 < done < 1:
            parts.append(f'eta {elapsed * (1 - done) / done:.0f} s')
        console_info('  '.join(parts), runner.logger)
        self._line_start, self._line_first_iter = now, runner.iter

    def after_val_epoch(self, runner, metrics: dict[str, float] | None = None) -> None:
        if metrics:
            console_info(f'  val  {_short_metrics(metrics)}', runner.logger)

    def after_train(self, runner) -> None:
        lines = [f'train: done in {time.time() - self._train_start:.0f} s']
        last = osp.join(runner.work_dir, 'last_checkpoint')
        if osp.isfile(last):
            with open(last) as f:
                lines.append(f'  last checkpoint: {_rel(f.read().strip())}')
        best = runner.message_hub.get_info('best_ckpt')
        if best:
            lines.append(f'  best checkpoint: {_rel(best)}')
        lines += self._log_lines(runner)
        console_info('\n'.join(lines), runner.logger)

    # -- testing ------------------------------------------------------------------
    def before_test_epoch(self, runner) -> None:
        dataset = runner.test_loop.dataloader.dataset
        console_info(f'test: {len(dataset)} samples', runner.logger)
        self._tables_before = self._tables_shown(runner)
        set_show_tables(runner.logger, True)

    def after_test_epoch(self, runner, metrics: dict[str, float] | None = None) -> None:
        set_show_tables(runner.logger, False)
        if metrics and self._tables_shown(runner) == self._tables_before:
            console_info(f'  results  {_short_metrics(metrics, top1_only=False)}', runner.logger)

    def after_test(self, runner) -> None:
        lines = self._log_lines(runner, scalars=False)
        metrics_json = osp.join(runner.log_dir, f'{runner.timestamp}.json')
        if osp.isfile(metrics_json):
            lines.append(f'  metrics: {_rel(metrics_json)}')
        for metric in runner.test_loop.evaluator.metrics:
            dump = getattr(metric, 'out_file_path', None)
            if dump and osp.isfile(dump):
                lines.append(f'  predictions: {_rel(dump)}')
        plots = self._new_plots(runner)
        if plots:
            folders = sorted({osp.dirname(p) for p in plots})
            lines.append(f'  plots: {", ".join(_rel(d) for d in folders)} '
                         f'({", ".join(sorted(osp.basename(p) for p in plots))})')
        console_info('\n'.join(lines), runner.logger)

    # -- helpers ------------------------------------------------------------------
    @staticmethod
    def _tables_shown(runner) -> int:
        return sum(f.tables_shown for h in runner.logger.handlers for f in h.filters
                   if isinstance(f, ConsoleFilter))

    @staticmethod
    def _log_lines(runner, scalars: bool = True) -> list[str]:
        lines = []
        log = _log_file(runner)
        if log:
            lines.append(f'  log: {_rel(log)}')
        vis = osp.join(runner.log_dir, 'vis_data')
        if scalars and osp.isdir(vis):
            lines.append(f'  scalars (loss, lr, val metrics per step): {_rel(vis)}')
        return lines

    def _new_plots(self, runner) -> list[str]:
        """PNG files written during this run under the work dir or a metric's out_dir."""
        folders = {runner.work_dir}
        for metric in runner.test_loop.evaluator.metrics:
            if getattr(metric, 'out_dir', None):
                folders.add(metric.out_dir)
        found = set()
        for folder in folders:
            for path in glob.glob(osp.join(folder, '**', '*.png'), recursive=True):
                if os.stat(path).st_mtime >= self._run_start - 1:
                    found.add(osp.abspath(path))
        return sorted(found)
