"""Benchmark the alternating loop against MMEngine's stock IterBasedTrainLoop.

    python bench/alternating_loop.py [--iters 80] [--resume-at 500] [--workers 0]

1. Per-iteration time: the same tiny dual-hand ViT on the same synthetic HA-ViD clips,
   trained by ``AlternatingTrainLoop`` (hand-homogeneous batches from
   ``AlternatingHandBatchSampler``) and by the stock ``IterBasedTrainLoop``
   (``InfiniteSampler``, batches mixing both hands); median of the per-iteration wall
   times after a warm-up. Target: overhead <= 3%.
2. Resume time: wall time from ``runner.train()`` to the end of the first training
   iteration, resuming from a checkpoint at iteration 0 vs at ``--resume-at``, for both
   loops (the stock loop replays every batch up to the checkpoint; ours starts at the
   saved batch). Target: equal within 20%.
Prints a markdown table (paste it into docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import statistics
import tempfile
import time

from mmaction.registry import HOOKS
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmaction_ext  # noqa: F401
from mmaction_ext.synthetic.havid import make_havid_dataset

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
NUM_CLASSES = dict(lh=3, rh=4)


@HOOKS.register_module(force=True)
class IterClockHook(Hook):
    """Record the wall time at the end of every training iteration."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.stamps: list[float] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.stamps.append(time.perf_counter())


def make_cfg(data_root: str, work_dir: str, loop: str, max_iters: int, workers: int,
             ckpt_interval: int = 10**6) -> Config:
    pipeline = [dict(type='DecordInit'),
                dict(type='SampleFrames', clip_len=8, num_clips=1),
                dict(type='DecordDecode'),
                dict(type='FormatShape', input_format='NCTHW'), dict(type='PackActionInputs')]
    dataset = dict(type='HAViDDataset', data_root=data_root, split='train',
                   num_classes=NUM_CLASSES, pipeline=pipeline)
    loader = dict(batch_size=4, num_workers=workers, persistent_workers=workers > 0,
                  dataset=dataset)
    if loop == 'alternating':
        loader.update(sampler=dict(type='DefaultSampler', shuffle=True),
                      batch_sampler=dict(type='AlternatingHandBatchSampler', switch_every=5))
        train_cfg = dict(type='AlternatingTrainLoop', max_iters=max_iters, val_interval=10**6)
    else:
        loader.update(sampler=dict(type='InfiniteSampler', shuffle=True))
        train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10**6)
    cfg = dict(
        _base_=osp.join(REPO, 'configs/_base_/ext_runtime.py'),
        work_dir=work_dir, experiment_name=osp.basename(work_dir),
        model=dict(
            type='DualHandRecognizer',
            backbone=dict(type='MAEVisionTransformer',
                          arch=dict(embed_dims=64, depth=2, num_heads=2),
                          img_size=64, num_frames=8),
            lh_head=dict(num_classes=3, in_channels=64),
            rh_head=dict(num_classes=4, in_channels=64),
            data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW',
                                   mean=[114.75] * 3, std=[57.4] * 3)),
        train_dataloader=loader, train_cfg=train_cfg,
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        param_scheduler=[],
        default_hooks=dict(logger=dict(interval=50),
                           checkpoint=dict(by_epoch=False, interval=ckpt_interval)),
        custom_hooks=[dict(type='IterClockHook')],
        log_processor=dict(by_epoch=False), randomness=dict(seed=0))
    path = work_dir + '_cfg.py'
    os.makedirs(work_dir, exist_ok=True)
    with open(path, 'w') as f:
        for key, value in cfg.items():
            f.write(f'{key} = {value!r}\n')
    return Config.fromfile(path)


def clock(runner: Runner) -> IterClockHook:
    return next(h for h in runner.hooks if isinstance(h, IterClockHook))


def per_iter_time(data_root: str, tmp: str, loop: str, iters: int, workers: int,
                  round_: int = 0) -> float:
    runner = Runner.from_cfg(make_cfg(data_root, osp.join(tmp, f'speed_{loop}_{round_}'), loop,
                                      iters, workers))
    runner.train()
    stamps = clock(runner).stamps
    warm = min(10, len(stamps) // 4)
    return statistics.median(b - a for a, b in zip(stamps[warm:], stamps[warm + 1:]))


def resume_time(data_root: str, tmp: str, loop: str, at: int, workers: int) -> float:
    """Train ``at`` iterations and save; then time a resumed run to its first iteration."""
    work_dir = osp.join(tmp, f'resume_{loop}_{at}')
    ckpt = None
    if at:  # the checkpoint hook saves iter_{at}.pth, as in a real run
        Runner.from_cfg(make_cfg(data_root, work_dir, loop, at, workers, at)).train()
        ckpt = osp.join(work_dir, f'iter_{at}.pth')
    cfg = make_cfg(data_root, work_dir + '_resumed', loop, at + 1, workers)
    if ckpt:
        cfg.resume, cfg.load_from = True, ckpt
    runner = Runner.from_cfg(cfg)
    start = time.perf_counter()
    runner.train()
    return clock(runner).stamps[0] - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=80)
    parser.add_argument('--resume-at', type=int, default=500)
    parser.add_argument('--workers', type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_root = osp.join(tmp, 'havid')
        make_havid_dataset(data_root, num_frames=8, size=(64, 128),
                           per_class={'train': {'lh': 6, 'rh': 4}, 'val': {'lh': 1, 'rh': 1}})
        # two interleaved rounds; the faster of each loop's two medians (less CPU noise)
        runs: dict[str, list[float]] = {'stock': [], 'alternating': []}
        for round_ in range(2):
            for loop in runs:
                runs[loop].append(per_iter_time(data_root, tmp, f'{loop}', args.iters,
                                                args.workers, round_))
        speed = {loop: min(times) for loop, times in runs.items()}
        resume = {(loop, at): resume_time(data_root, tmp, loop, at, args.workers)
                  for loop in ('stock', 'alternating') for at in (0, args.resume_at)}
    overhead = 100 * (speed['alternating'] / speed['stock'] - 1)
    rows = ['| measure | stock IterBasedTrainLoop | AlternatingTrainLoop |', '|---|---|---|',
            f"| median s/iteration ({args.iters} iters, batch 4) | {speed['stock']:.4f} | "
            f"{speed['alternating']:.4f} ({overhead:+.1f}%) |"]
    for at in (0, args.resume_at):
        rows.append(f'| s to first iteration, resume at {at} | {resume[("stock", at)]:.2f} | '
                    f'{resume[("alternating", at)]:.2f} |')
    ratio = resume[('alternating', args.resume_at)] / resume[('alternating', 0)]
    rows.append(f'| resume at {args.resume_at} / at 0 | '
                f'{resume[("stock", args.resume_at)] / resume[("stock", 0)]:.2f} | {ratio:.2f} |')
    print('\n'.join(rows))


if __name__ == '__main__':
    main()
