"""Run every benchmark in ``bench/`` and print one table of ratios against stock components.

    OMP_NUM_THREADS=1 python bench/run_all.py [--full] [--only vit_step,decode] [--log DIR]

Quick mode (default, under 10 minutes on a 2-core CPU) gives each script small flags;
``--full`` runs each with its own defaults. Every script measures the project's component
and the stock MMAction2/MMEngine one side by side in the same process run (interleaved),
so each ratio is taken under the same machine load. A script that is missing (e.g. one
still being written) is listed as skipped; one that fails is listed with its exit code,
and its output is kept in ``--log``.

Ratios are ``ours / stock`` of the quantity named in the row: below 1 is better for times
and memory, above 1 for clips/s.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import tempfile
import time

BENCH = osp.dirname(osp.abspath(__file__))
FLOAT = r'[-+]?\d+(?:\.\d+)?'

# name -> (script, quick flags, full flags)
BENCHES = {
    'vit_step': ('vit_step.py', ['--shapes', '16x112', '--steps', '3'], []),
    'alternating_loop': ('alternating_loop.py', ['--iters', '30', '--resume-at', '60'], []),
    'decode': ('decode.py', ['--quick', '--json'], ['--json']),
    'infer_video': ('infer_video.py', ['--duration', '20', '--reps', '3', '--json'],
                    ['--duration', '180', '--reps', '3', '--json']),
}


def parse_vit_step(out: str) -> list[tuple[str, str, float]]:
    """Rows from vit_step.py's ratio summary lines."""
    rows = []
    pattern = (rf'(\S+): ours/stock time ({FLOAT})x, step memory ({FLOAT})x \| with_cp vs ours: '
               rf'time ({FLOAT})%, step memory ({FLOAT})%')
    for shape, time_r, mem_r, cp_time, cp_mem in re.findall(pattern, out):
        rows += [('ViT step', f'train-step time {shape} (MAEVisionTransformer vs stock ViT)',
                  float(time_r)),
                 ('ViT step', f'train-step peak memory {shape}', float(mem_r)),
                 ('activation checkpointing', f'step memory {shape}, with_cp vs without',
                  1 + float(cp_mem) / 100),
                 ('activation checkpointing', f'step time {shape}, with_cp vs without',
                  1 + float(cp_time) / 100)]
    return rows


def parse_alternating_loop(out: str) -> list[tuple[str, str, float]]:
    """Rows from alternating_loop.py's markdown table: | measure | stock | ours |."""
    rows = []
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) != 3 or not line.lstrip().startswith('|'):
            continue
        nums = [re.match(FLOAT, c) for c in cells[1:]]
        if all(nums) and float(nums[0].group()) != 0:
            label = 'resume cost' if 'resume' in cells[0] else 'alternating loop'
            ratio = float(nums[1].group()) / float(nums[0].group())
            rows.append((label, f'{cells[0]} (AlternatingTrainLoop vs IterBasedTrainLoop)',
                         ratio))
    return rows


def parse_decode(out: str) -> list[tuple[str, str, float]]:
    """Rows from decode.py's JSON line: clips/s of each pipeline vs stock decord."""
    results = json.loads(out.strip().splitlines()[-1])
    rows = []
    for video, res in results.items():
        for decoder in res:
            if decoder in ('decord', 'diff'):
                continue
            rows.append(('decoding', f'clips/s {video}, {decoder} vs stock decord pipeline '
                         f'(CPU time; wall clock {res[decoder]["ratio"]:.2f})',
                         res[decoder]['cpu_ratio']))
    return rows


def parse_infer_video(out: str) -> list[tuple[str, str, float]]:
    """Row from infer_video.py's JSON line: windows/s of VideoInferencer vs the naive way."""
    res = json.loads([line for line in out.splitlines() if line.startswith('{')][-1])
    if not res.get('top1_agree') or res['max_abs_diff'] > 1e-4:
        raise ValueError(f"scores differ from the naive way's (max |diff| {res['max_abs_diff']})")
    return [('video inference', f"windows/s, {res['duration_s']:g} s video, sliding windows "
             f"vs stock pipeline per window (wall; CPU time {res['cpu_speedup']:.2f})",
             res['speedup'])]


PARSERS = dict(vit_step=parse_vit_step, alternating_loop=parse_alternating_loop,
               decode=parse_decode, infer_video=parse_infer_video)


def run_one(name: str, full: bool, log_dir: str) -> tuple[list, str]:
    script, quick_flags, full_flags = BENCHES[name]
    path = osp.join(BENCH, script)
    if not osp.isfile(path):
        return [], 'skipped (script not present)'
    cmd = [sys.executable, path, *(full_flags if full else quick_flags)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    with open(osp.join(log_dir, f'{name}.log'), 'w') as f:
        f.write(' '.join(cmd) + '\n' + proc.stdout + proc.stderr)
    if proc.returncode != 0:
        return [], f'FAILED (exit {proc.returncode}, {seconds:.0f} s; see {log_dir}/{name}.log)'
    try:
        rows = PARSERS[name](proc.stdout)
    except (ValueError, IndexError, KeyError) as err:
        return [], f'output not understood ({err}); see {log_dir}/{name}.log'
    return rows, f'ok, {seconds:.0f} s' if rows else f'no ratios found; see {log_dir}/{name}.log'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--full', action='store_true', help="each script's default flags")
    parser.add_argument('--only', default=None, help='comma-separated from ' + ', '.join(BENCHES))
    parser.add_argument('--log', default=None, help='folder for each script\'s full output')
    args = parser.parse_args()
    names = args.only.split(',') if args.only else list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        raise SystemExit(f'unknown bench {unknown}; choose from {", ".join(BENCHES)}')
    log_dir = args.log or tempfile.mkdtemp(prefix='mmaction_ext_bench_')
    os.makedirs(log_dir, exist_ok=True)
    table, status = [], {}
    for name in names:
        print(f'running {name} ...', flush=True)
        rows, status[name] = run_one(name, args.full, log_dir)
        table += rows
    print('\n| bench | measure | ours / stock |\n|---|---|---|')
    for bench, measure, ratio in table:
        print(f'| {bench} | {measure} | {ratio:.2f} |')
    print('\n' + '\n'.join(f'{name}: {s}' for name, s in status.items()))
    print(f'logs: {log_dir}; OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS", "unset")}, '
          f'{os.cpu_count()} CPUs')
    if any(s.startswith(('FAILED', 'output not', 'no ratios')) for s in status.values()):
        sys.exit(1)


if __name__ == '__main__':
    main()
