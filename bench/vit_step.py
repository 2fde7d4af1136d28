"""Train-step time and peak memory: MAEVisionTransformer vs MMAction2's stock VisionTransformer.

    OMP_NUM_THREADS=2 python bench/vit_step.py [--shapes 16x224,16x112] [--batch 2]
        [--steps 3] [--arch s]

One run measures, side by side, forward + backward of the backbone (loss = sum of the
pooled features) for: ``stock`` (mmaction.models.backbones.VisionTransformer), ``ours``
(MAEVisionTransformer, fused attention) and ``ours+cp`` (with_cp=True), on each shape.

Every configuration runs in its own fresh process. Time: median of ``--steps`` steps after
one warm-up step. Memory: the first step's peak resident memory minus the resident memory
just before it (weights, input and interpreter excluded; gradients included), sampled
every 2 ms from /proc/self/statm by a thread; the process's ru_maxrss is printed too.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import resource
import statistics
import subprocess
import sys
import threading
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = ('stock', 'ours', 'ours+cp')


def _rss_mib() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


class PeakSampler(threading.Thread):
    """Highest resident memory seen while running (torch ops release the GIL)."""

    def __init__(self, interval: float = 0.002) -> None:
        super().__init__(daemon=True)
        self.interval, self.peak, self.running = interval, _rss_mib(), True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, _rss_mib())
            time.sleep(self.interval)

    def stop(self) -> float:
        self.running = False
        self.join()
        return max(self.peak, _rss_mib())


def build(config: str, arch: str, frames: int, size: int):
    sys.path.insert(0, REPO)
    # isort: off
    import mmaction_ext  # noqa: F401  first: compat fixes precede mmaction.models
    from mmaction.models.backbones import VisionTransformer
    from mmaction_ext.models.backbones import MAEVisionTransformer
    from mmaction_ext.models.backbones.mae_vit import resolve_arch
    # isort: on
    if config == 'stock':
        s = resolve_arch(arch)
        return VisionTransformer(img_size=size, patch_size=s['patch_size'],
                                 embed_dims=s['embed_dims'], depth=s['depth'],
                                 num_heads=s['num_heads'], mlp_ratio=s['mlp_ratio'],
                                 num_frames=frames)
    return MAEVisionTransformer(arch=arch, img_size=size, num_frames=frames,
                                with_cp=config == 'ours+cp')


def worker(args: argparse.Namespace) -> None:
    import gc

    import torch
    frames, size = (int(v) for v in args.shape.split('x'))
    torch.manual_seed(0)
    model = build(args.worker, args.arch, frames, size).train()
    x = torch.randn(args.batch, 3, frames, size, size)

    def step() -> float:
        model.zero_grad(set_to_none=True)
        start = time.perf_counter()
        model(x).sum().backward()
        return time.perf_counter() - start

    gc.collect()
    before = _rss_mib()
    sampler = PeakSampler()
    sampler.start()
    first = step()
    peak = sampler.stop()
    times = [step() for _ in range(args.steps)]
    print(json.dumps(dict(
        config=args.worker, shape=args.shape, time_s=statistics.median(times), times=times,
        first_s=first, step_peak_mib=peak - before, rss_before_mib=before,
        maxrss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        threads=torch.get_num_threads())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shapes', default='16x224,16x112', help='FRAMESxSIZE,...')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--steps', type=int, default=3, help='timed steps after a warm-up')
    parser.add_argument('--arch', default='s')
    parser.add_argument('--worker', choices=CONFIGS, help=argparse.SUPPRESS)
    parser.add_argument('--shape', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    rows = {}
    for shape in args.shapes.split(','):
        for config in CONFIGS:
            cmd = [sys.executable, __file__, '--worker', config, '--shape', shape,
                   '--batch', str(args.batch), '--steps', str(args.steps), '--arch', args.arch]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            rows[shape, config] = json.loads(out.strip().splitlines()[-1])
            r = rows[shape, config]
            print(f'ViT-{args.arch.upper()} {shape} b{args.batch} {config:8s} '
                  f'step {r["time_s"]:7.3f} s  (all: {", ".join(f"{t:.2f}" for t in r["times"])})'
                  f'  step peak +{r["step_peak_mib"]:7.0f} MiB  maxrss {r["maxrss_mib"]:6.0f} MiB',
                  flush=True)
    print(f'\nratios (same run, {rows[next(iter(rows))]["threads"]} threads):')
    for shape in args.shapes.split(','):
        stock, ours, cp = (rows[shape, c] for c in CONFIGS)
        print(f'  {shape}: ours/stock time {ours["time_s"] / stock["time_s"]:.2f}x, '
              f'step memory {ours["step_peak_mib"] / stock["step_peak_mib"]:.2f}x | with_cp vs '
              f'ours: time {100 * (cp["time_s"] / ours["time_s"] - 1):+.0f}%, step memory '
              f'{100 * (cp["step_peak_mib"] / ours["step_peak_mib"] - 1):+.0f}%')


if __name__ == '__main__':
    main()
