"""Test a checkpoint: MMAction2's ``tools/test.py`` interface.

    python tools/test.py CONFIG CHECKPOINT [--dump results.pkl] [--show-dir DIR] ...

CHECKPOINT may be one the project trained or an original VideoMAEv2/AMD/ADH-ViT file,
a path or any MMEngine URI. It takes the project's one way in (docs/checkpoints.md):
checked and safely read, converted once, and evaluated only if every weight came from
it and is finite (``--allow-partial-checkpoint`` accepts gaps, never NaN).
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

from mmaction_ext.checkpoint.hf_videomae import apply_hf_architecture
from mmaction_ext.datasets.worker_marks import explain_worker_crash
from mmaction_ext.engine.runner.quiet_runner import build_runner
from mmaction_ext.utils.cfg_options import check_cfg_options
from mmaction_ext.utils.cli import run_tool
from mmaction_ext.utils.disk_errors import explain_disk_full
from mmaction_ext.utils.dist import init_cpu_distributed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a video recognizer')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='directory for the evaluation metrics')
    parser.add_argument('--dump', type=str, help='dump predictions to this .pkl file')
    parser.add_argument('--show-dir', help='save visualised predictions here')
    parser.add_argument('--show', action='store_true', help='show predictions in a window')
    parser.add_argument('--interval', type=int, default=1, help='visualise every N samples')
    parser.add_argument('--wait-time', type=float, default=2, help='seconds per shown frame')
    parser.add_argument('--ema', action='store_true',
                        help='test the EMA weights (originals: model_ema; MMEngine EMAHook '
                        'checkpoints: the averaged weights, refused if absent)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--verbose', action='store_true',
                        help="MMEngine's full console output (the log file always has it) "
                        'and the traceback of an error')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    add_trust_args(parser)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config, as MMAction2's tool does."""
    if args.show or args.show_dir is not None:
        cfg.default_hooks.setdefault('visualization', dict(type='VisualizationHook'))
        cfg.default_hooks.visualization.update(
            enable=True, show=args.show, wait_time=args.wait_time, out_dir=args.show_dir,
            interval=args.interval)
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise SystemExit(f'error: --dump must name a .pkl file, got {args.dump!r}')
        evaluators = cfg.test_evaluator
        evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
        cfg.test_evaluator = evaluators + [dict(type='DumpResults', out_file_path=args.dump)]
    cfg.launcher = args.launcher
    if args.ema:  # the hook picks the weights before the model (or EMAHook) sees them
        cfg.default_hooks.setdefault('original_checkpoint',
                                     dict(type='OriginalCheckpointHook'))
        cfg.default_hooks.original_checkpoint.weights = 'ema'
    check_cfg_options(cfg, args.cfg_options)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if 'model' in cfg:  # a Hugging Face folder brings its architecture (config.json)
        apply_hf_architecture(cfg.model, args.checkpoint)
    add_trust_hooks(cfg, args)
    return cfg


def add_trust_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--allow-partial-checkpoint', action='store_true',
                        help='evaluate even if some weights are not in the checkpoint '
                             '(fresh head, backbone-only file); the results say so')


def add_trust_hooks(cfg: Config, args: argparse.Namespace) -> None:
    """Refuse partial checkpoints, incomplete sample coverage, ranks that disagree,
    batches of mixed clip sizes and classes that disagree with the head, whatever the
    config.

    Configs inheriting ``configs/_base_/ext_runtime.py`` already have these hooks; any
    other config gets them here.
    """
    hooks = cfg.setdefault('default_hooks', {})
    custom = [h.get('type') for h in cfg.get('custom_hooks') or []]
    for key, kind in (('checkpoint_coverage', 'CheckpointCoverageHook'),
                      ('sample_coverage', 'SampleCoverageHook'),
                      ('rank_agreement', 'RankAgreementHook'),
                      ('uniform_clip_size', 'UniformClipSizeHook'),
                      ('class_agreement', 'ClassAgreementHook')):
        if kind not in custom and (hooks.get(key) or {}).get('type') != kind:
            hooks[key] = dict(type=kind)
    if args.allow_partial_checkpoint:
        if 'CheckpointCoverageHook' in custom:
            for hook in cfg.custom_hooks:
                if hook.get('type') == 'CheckpointCoverageHook':
                    hook['allow_partial'] = True
        else:
            hooks.checkpoint_coverage['allow_partial'] = True


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    init_cpu_distributed(cfg.launcher)
    runner = build_runner(cfg, verbose=args.verbose)
    with explain_disk_full(cfg.work_dir), explain_worker_crash():
        metrics = runner.test()
    if args.verbose and runner.rank == 0 and metrics:  # else ConsoleProgressHook shows them
        width = max(len(k) for k in metrics)
        print('\nTest results (' + osp.basename(args.checkpoint) + ')')
        for key, value in metrics.items():
            shown = f'{value:.4f}' if isinstance(value, float) else str(value)
            print(f'  {key:<{width}}  {shown}')


if __name__ == '__main__':
    sys.exit(run_tool(main))  # a known user error: one line; --verbose: traceback
