"""Train-step time and peak memory: MAEVisionTransformer vs MMAction2's stock VisionTransformer.

    OMP_NUM_THREADS=2 python bench/vit_step.py [--shapes 16x224,16x112] [--batch 2]
        [--steps 3] [--arch s]

One run measures, side by side, forward + backward of the backbone (loss = sum of the
pooled features) for: ``stock`` (mmaction.models.backbones.VisionTransformer), ``ours``
(MAEVisionTransformer, fused attention) and ``ours+cp`` (with_cp=True), on each shape.

Time: one process holds the three models and, after a warm-up step each, runs ``--steps``
rounds of one step per model in rotating order; ratios are medians of per-round ratios of
the process's CPU time (``time.process_time``; wall time is printed too). On a shared
machine wall time mostly measures the other tenants (the same stock step took 12-28 s);
CPU time of a single-threaded run (``OMP_NUM_THREADS=1``) measures the work itself.
Memory: each configuration in its own fresh process; the first step's peak resident
memory minus the resident memory just before it (weights, input and interpreter
excluded; gradients included), sampled every 2 ms from /proc/self/statm by a thread.
These processes run with glibc's ``MALLOC_MMAP_THRESHOLD_=65536``: by default glibc raises
its mmap threshold after the first large frees, so later tensors come from the heap, stay
resident when freed, and RSS then overstates the live peak (with_cp measured -23% at
16x112 that way, -41% with the fixed threshold).
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


def _step(model, x) -> tuple:
    """(wall seconds, CPU seconds of this process) of one forward + backward."""
    model.zero_grad(set_to_none=True)
    wall, cpu = time.perf_counter(), time.process_time()
    model(x).sum().backward()
    return time.perf_counter() - wall, time.process_time() - cpu


def memory_worker(args: argparse.Namespace) -> dict:
    """One configuration in a fresh process: resident-memory growth over its first step."""
    import gc

    import torch
    frames, size = (int(v) for v in args.shape.split('x'))
    torch.manual_seed(0)
    model = build(args.config, args.arch, frames, size).train()
    x = torch.randn(args.batch, 3, frames, size, size)
    gc.collect()
    before = _rss_mib()
    sampler = PeakSampler()
    sampler.start()
    seconds = _step(model, x)[0]
    peak = sampler.stop()
    return dict(step_peak_mib=peak - before, rss_before_mib=before, first_step_s=seconds,
                maxrss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def time_worker(args: argparse.Namespace) -> dict:
    """All configurations in one process, steps interleaved (rotating order each round),
    so that the load of a shared machine hits them alike; ratios are per round."""
    import torch
    frames, size = (int(v) for v in args.shape.split('x'))
    torch.manual_seed(0)
    models = {c: build(c, args.arch, frames, size).train() for c in CONFIGS}
    x = torch.randn(args.batch, 3, frames, size, size)
    for model in models.values():
        _step(model, x)  # warm-up
    wall, cpu = {c: [] for c in CONFIGS}, {c: [] for c in CONFIGS}
    for r in range(args.steps):
        for c in CONFIGS[r % 3:] + CONFIGS[:r % 3]:
            w, t = _step(models[c], x)
            wall[c].append(w)
            cpu[c].append(t)
    return dict(wall=wall, cpu=cpu, threads=torch.get_num_threads())


def _ratio(times: dict, a: str, b: str) -> float:
    """Median over rounds of time[a] / time[b]."""
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def _run(args: argparse.Namespace, *extra: str) -> dict:
    cmd = [sys.executable, __file__, '--batch', str(args.batch), '--steps', str(args.steps),
           '--arch', args.arch, *extra]
    env = dict(os.environ)
    if 'memory' in extra:  # freed tensors leave the resident set at once (see docstring)
        env.setdefault('MALLOC_MMAP_THRESHOLD_', '65536')
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shapes', default='16x224,16x112', help='FRAMESxSIZE,...')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--steps', type=int, default=3, help='timed rounds after a warm-up')
    parser.add_argument('--arch', default='s')
    parser.add_argument('--worker', choices=('memory', 'time'), help=argparse.SUPPRESS)
    parser.add_argument('--config', choices=CONFIGS, help=argparse.SUPPRESS)
    parser.add_argument('--shape', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = (memory_worker if args.worker == 'memory' else time_worker)(args)
        print(json.dumps(result))
        return
    name = f'ViT-{args.arch.upper()} b{args.batch}'
    summary = []
    for shape in args.shapes.split(','):
        mem = {c: _run(args, '--worker', 'memory', '--config', c, '--shape', shape)
               for c in CONFIGS}
        timing = _run(args, '--worker', 'time', '--shape', shape)
        times, wall = timing['cpu'], timing['wall']
        for c in CONFIGS:
            print(f'{name} {shape:7s} {c:8s} step CPU {statistics.median(times[c]):6.2f} s '
                  f'(rounds: {", ".join(f"{t:.2f}" for t in times[c])}; wall '
                  f'{", ".join(f"{t:.2f}" for t in wall[c])})  step peak '
                  f'+{mem[c]["step_peak_mib"]:6.0f} MiB  (rss before {mem[c]["rss_before_mib"]:.0f}'
                  f', maxrss {mem[c]["maxrss_mib"]:.0f} MiB)', flush=True)
        summary.append(
            f'  {shape}: ours/stock time {_ratio(times, "ours", "stock"):.2f}x, step memory '
            f'{mem["ours"]["step_peak_mib"] / mem["stock"]["step_peak_mib"]:.2f}x | with_cp vs '
            f'ours: time {100 * (_ratio(times, "ours+cp", "ours") - 1):+.0f}%, step memory '
            f'{100 * (mem["ours+cp"]["step_peak_mib"] / mem["ours"]["step_peak_mib"] - 1):+.0f}%')
    print(f'\nratios (CPU time, per-round medians, {timing["threads"]} threads):')
    print('\n'.join(summary))


if __name__ == '__main__':
    main()
