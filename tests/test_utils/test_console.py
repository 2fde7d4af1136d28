"""The tools' quiet console: what it shows, what it hides, and that the log file keeps all."""
from __future__ import annotations

import glob
import logging
import os
import subprocess
import sys

import pytest
from mmengine.logging import MMLogger

from mmaction_ext.compat.known_warnings import FileClientDeprecationFilter
from mmaction_ext.utils.console import ConsoleFilter, ConsoleFormatter

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
CONFIG = os.path.join(REPO, 'configs/demo/vit-tiny_synthetic-motion.py')
FILECLIENT = ('"FileClient" will be deprecated in future. Please use io functions in '
              'https://mmengine.readthedocs.io/en/latest/api/fileio.html#file-io')


def _record(message: str, level: int = logging.INFO, **extra) -> logging.LogRecord:
    record = logging.LogRecord('mmengine', level, __file__, 1, message, None, None)
    record.__dict__.update(extra)
    return record


def test_console_filter_passes_marked_warnings_and_test_tables_only():
    f = ConsoleFilter()
    assert f.filter(_record('epoch 1/2  loss 1.0', console=True))
    assert not f.filter(_record('Epoch(train) [1][10/62]  lr: 1e-3  loss: 1.2'))
    assert not f.filter(_record('Hooks will be executed in the following order:'))
    assert f.filter(_record('checkpoint has no state_dict', logging.WARNING))
    assert f.filter(_record('boom', logging.ERROR))
    assert not f.filter(_record(FILECLIENT, logging.WARNING))
    assert not f.filter(_record('The prefix is not set in metric class DumpResults.',
                                logging.WARNING))
    table = 'per-hand accuracy (%):\nhand clips top1'
    assert not f.filter(_record(table)) and f.tables_shown == 0
    f.show_tables = True
    assert f.filter(_record(table)) and f.tables_shown == 1
    assert ConsoleFormatter().format(_record('x', logging.WARNING)) == 'WARNING: x'
    assert ConsoleFormatter().format(_record('epoch 1/2')) == 'epoch 1/2'


def test_fileclient_deprecations_dropped_where_logged(capsys):
    """The plugin's import filters the two deprecations on the default logger only."""
    logger = MMLogger.get_instance('console_test_default')
    logger.addFilter(FileClientDeprecationFilter())
    logger.warning(FILECLIENT)
    logger.warning('"HardDiskBackend" is the alias of "LocalBackend" and the former will '
                   'be deprecated in future.')
    logger.warning('"FileClient" is fine')  # not one of the two messages: kept
    out = capsys.readouterr().out
    assert 'deprecated' not in out and '"FileClient" is fine' in out


def _run(args: list[str], verbose: bool = False) -> str:
    env = {k: v for k, v in os.environ.items() if k != 'MMACTION_EXT_VERBOSE'}
    env.update(OMP_NUM_THREADS='1')
    if verbose:
        args = args + ['--verbose']
    result = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True,
                            text=True, env=env, timeout=600)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    return out


@pytest.mark.slow
def test_train_and_test_consoles_are_short_and_the_log_keeps_everything(tmp_path,
                                                                       tiny_motion_data):
    root = tiny_motion_data
    opts = ['default_hooks.logger.interval=1']
    for loader, split in (('train_dataloader', 'train'), ('val_dataloader', 'val'),
                          ('test_dataloader', 'val')):
        opts += [f'{loader}.dataset.ann_file={root}/{split}_list.txt',
                 f'{loader}.dataset.data_prefix.video={root}/videos',
                 f'{loader}.num_workers=1', f'{loader}.persistent_workers=False']
    work = tmp_path / 'work'
    out = _run(['tools/train.py', CONFIG, '--work-dir', str(work), '--cfg-options',
                'train_cfg.max_epochs=2', 'train_cfg.val_interval=1', *opts])
    lines = out.splitlines()
    assert len(lines) <= 12, out
    assert lines[0].startswith('train: 2 epochs x 2 iterations')
    assert [line.split()[:2] for line in lines if line.startswith('epoch')] == \
        [['epoch', '1/2'], ['epoch', '2/2']]
    assert sum(line.strip().startswith('val  top1') for line in lines) == 2
    assert f'last checkpoint: {work}/epoch_2.pth' in out
    log_files = glob.glob(str(work / '*' / '*.log'))
    assert len(log_files) == 1 and f'log: {log_files[0]}' in out
    log = open(log_files[0]).read()
    # the file has everything the console no longer shows
    assert log.count('Epoch(train) [') >= 4 and 'Hooks will be executed' in log
    assert 'System environment' in log and 'Config:' in log
    assert 'epoch 2/2' in log  # and the console's own lines

    dump = tmp_path / 'preds.pkl'
    out = _run(['tools/test.py', CONFIG, str(work / 'epoch_2.pth'), '--work-dir',
                str(tmp_path / 'test'), '--dump', str(dump), '--cfg-options', *opts])
    lines = out.splitlines()
    assert len(lines) <= 8, out
    assert any(line.startswith('test: 8 samples') for line in lines)
    assert any(line.strip().startswith('results  top1') for line in lines)
    assert lines[-1] == f'  predictions: {dump}'
    assert 'Epoch(test)' not in out and 'deprecated' not in out

    out = _run(['tools/test.py', CONFIG, str(work / 'epoch_2.pth'), '--work-dir',
                str(tmp_path / 'test_verbose'), '--cfg-options', *opts], verbose=True)
    assert 'Epoch(test) [' in out and 'Hooks will be executed' in out


def test_build_runner_keeps_the_configs_runner_type(tmp_path, monkeypatch):
    """A config's runner_type (e.g. DataRootRunner) is built, its logger quiet at once."""
    monkeypatch.delenv('MMACTION_EXT_VERBOSE', raising=False)
    from mmengine.config import Config
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from mmaction_ext.engine import ConsoleProgressHook
    from mmaction_ext.engine.runner.quiet_runner import build_runner

    @RUNNERS.register_module(name='_ConsoleTestRunner', force=True)
    class _ConsoleTestRunner(Runner):
        pass

    for verbose in (False, True):
        cfg = Config.fromfile(CONFIG)
        cfg.work_dir = str(tmp_path / f'verbose{verbose}')
        cfg.runner_type = '_ConsoleTestRunner'
        # MMEngine caches loggers by experiment name (config name + time to the second):
        # two runners built within one second would share one logger
        cfg.experiment_name = f'console_test_verbose{verbose}_{id(cfg)}'
        runner = build_runner(cfg, verbose=verbose)
        assert isinstance(runner, _ConsoleTestRunner)
        consoles = [h for h in runner.logger.handlers if type(h) is logging.StreamHandler]
        assert consoles and all(any(isinstance(f, ConsoleFilter) for f in h.filters)
                                != verbose for h in consoles)
        assert sum(isinstance(h, ConsoleProgressHook) for h in runner.hooks) == 1


class _Runner:
    """The attributes ConsoleProgressHook reads from an epoch-based run."""

    def __init__(self, max_epochs: int, iters_per_epoch: int, logger) -> None:
        from mmengine.logging import MessageHub
        from mmengine.runner import EpochBasedTrainLoop
        self.train_loop = object.__new__(EpochBasedTrainLoop)
        self.train_loop._max_epochs = max_epochs
        self.train_loop.dataloader = range(iters_per_epoch)
        self.message_hub = MessageHub.get_instance(f'console_hook_{max_epochs}')
        self.logger, self.work_dir, self.epoch, self.iter = logger, '.', 0, 0


def _epoch_lines(max_epochs: int) -> list[str]:
    """Console lines of a run whose epoch e logs the loss e three times."""
    from mmaction_ext.engine import ConsoleProgressHook
    logger = logging.getLogger(f'console_hook_test_{max_epochs}')
    records = []
    logger.addHandler(type('H', (logging.Handler,), {'emit': lambda s, r: records.append(r)})())
    logger.setLevel(logging.INFO)
    runner, hook = _Runner(max_epochs, 3, logger), ConsoleProgressHook(max_lines=20)
    hook.before_train(runner)
    for epoch in range(max_epochs):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        for _ in range(3):
            runner.iter += 1
            runner.message_hub.update_scalar('train/loss', float(epoch))
        hook.after_train_epoch(runner)
    return [r.getMessage() for r in records if r.getMessage().startswith('epoch')]


def test_epoch_lines_fit_a_screen_and_average_the_loss_since_the_last_line():
    # up to 20 epochs: every epoch, as before
    assert [line.split()[1] for line in _epoch_lines(20)] == [f'{e}/20' for e in
                                                                range(1, 21)]
    # 30 epochs: every 2nd; the loss is the mean over the two epochs since the last line
    lines = _epoch_lines(30)
    assert [line.split()[1] for line in lines] == [f'{e}/30' for e in range(2, 31, 2)]
    assert lines[0].split()[3] == '0.5000' and lines[-1].split()[3] == '28.5000'
    assert all('s/epoch' in line for line in lines)
    # 46 epochs: every 3rd and the last (no line dropped at the end)
    lines = _epoch_lines(46)
    assert [line.split()[1] for line in lines] == [f'{e}/46' for e in
                                                   list(range(3, 46, 3)) + [46]]
    assert lines[-1].split()[3] == '45.0000'  # the last line covers epoch 46 alone
    assert len(lines) <= 20


@pytest.mark.parametrize('bad', [0, -3, 2.5, '20', True])
def test_max_lines_must_be_a_positive_int(bad):
    from mmaction_ext.engine import ConsoleProgressHook
    with pytest.raises(ValueError, match=f'max_lines must be an int >= 1, got {bad!r}'):
        ConsoleProgressHook(max_lines=bad)
