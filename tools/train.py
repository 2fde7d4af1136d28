"""Train a recognizer from a config: MMAction2's ``tools/train.py`` interface.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [auto|PATH]] [--amp] ...
    torchrun --nproc_per_node=2 tools/train.py CONFIG --launcher pytorch   # CPU or GPU

Differs from the stock tool only where the stock one breaks here: on a machine without
CUDA, distributed launchers get a gloo process group (MMEngine's own init needs CUDA).
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys

# isort: off
import mmaction_ext  # noqa: F401  first: the plugin, its compat fixes and warning filters
# isort: on
from mmengine.config import Config, DictAction

from mmaction_ext.datasets.worker_marks import explain_worker_crash
from mmaction_ext.engine.runner.quiet_runner import build_runner
from mmaction_ext.utils.cfg_options import check_cfg_options
from mmaction_ext.utils.cli import run_tool
from mmaction_ext.utils.disk_errors import explain_disk_full
from mmaction_ext.utils.dist import init_cpu_distributed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a video recognizer')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from PATH, or from the latest checkpoint in the '
                        'work dir when no path (or "auto") is given')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by total batch / auto_scale_lr.base_batch_size')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--diff-rank-seed', action='store_true',
                        help='give each rank a different seed')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic algorithms (slower)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. model.backbone.depth=2')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--verbose', action='store_true',
                        help="MMEngine's full console output (the log file always has it) "
                        'and the traceback of an error')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config, as MMAction2's tool does."""
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        if cfg.optim_wrapper.get('type', 'OptimWrapper') == 'OptimWrapper':
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
            # a config's `amp_dtype` (e.g. 'bfloat16', ADH-ViT's autocast) picks the
            # autocast dtype; without it MMEngine's default (float16) applies
            if cfg.get('amp_dtype') is not None:
                cfg.optim_wrapper.setdefault('dtype', cfg.amp_dtype)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if cfg.get('randomness') is None:
        cfg.randomness = dict(seed=None, diff_rank_seed=False, deterministic=False)
    if args.seed is not None:
        cfg.randomness.seed = args.seed
    if args.diff_rank_seed:
        cfg.randomness.diff_rank_seed = True
    if args.deterministic:
        cfg.randomness.deterministic = True
    check_cfg_options(cfg, args.cfg_options)  # a typo'd key would have no effect
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    init_cpu_distributed(cfg.launcher)
    runner = build_runner(cfg, verbose=args.verbose)
    with explain_disk_full(cfg.work_dir), explain_worker_crash():  # ENOSPC: say so, and where
        runner.train()


if __name__ == '__main__':
    sys.exit(run_tool(main))  # a known user error: one line; --verbose: traceback
