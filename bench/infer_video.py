"""Sliding-window inference over a whole video: tools/infer_video.py's API vs the naive way.

    OMP_NUM_THREADS=1 python bench/infer_video.py [--duration 20] [--reps 3] [--json]
        [--config CFG] [--checkpoint CKPT] [--device cpu] [--batch-size 8] [--amp]

The naive way is what MMAction2 offers: every window run on its own through the
config's stock test pipeline and ``mmaction.apis.inference_recognizer`` (the file
opened, read and decoded per window; ``ConfineFrameRange`` makes the stock
``SampleFrames`` take the window's frames). Ours is ``VideoInferencer``: one sequential
decode, per-frame resize/crop once, windows batched. Both score the same windows (the
tool's default placement, stride half a window) of a synthetic dual-hand video
(``make_long_havid_video``, 25 fps, cached in ``--cache``); the model is the config's
with random weights unless ``--checkpoint`` is given (speed does not depend on them).

Each repetition runs both, in alternating order, so a shared machine's load hits both
alike. Reported: videos/s and windows/s per side (median over repetitions, and the
range), the speed-up on wall-clock and on process CPU time, and the largest absolute
difference between the two sides' per-window scores (and whether every window's top
class agrees).
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import statistics
import tempfile
import time

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

DEFAULT_CFG = osp.join(REPO, 'configs/demo/dual-hand_vit-tiny_synthetic-havid.py')


def naive_scores(inferencer, video: str, starts: list[int]) -> dict[str, np.ndarray]:
    """Each window through the stock test pipeline and inference_recognizer."""
    from mmaction.apis import inference_recognizer
    from mmengine.dataset import Compose
    steps = list(inferencer.cfg.test_pipeline)
    at = next(i for i, s in enumerate(steps) if s['type'] == 'SampleFrames')
    pipeline = Compose(steps[:at] + [dict(type='ConfineFrameRange')] + steps[at:])
    span = inferencer.pipeline.span
    out: dict[str, list] = {t: [] for t in inferencer.tracks}
    for s in starts:
        data = dict(filename=video, label=-1, start_index=0, modality='RGB',
                    frame_range=(s + 1, s + span))
        result = inference_recognizer(inferencer.model, data, pipeline)
        for t in inferencer.tracks:
            key = 'pred_score' if t == 'label' else f'{t}_pred_score'
            out[t].append(result.get(key).float().cpu().numpy())
    return {t: np.stack(v) for t, v in out.items()}


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CFG)
    parser.add_argument('--checkpoint', default=None)
    parser.add_argument('--duration', type=float, default=20.0, help='video seconds')
    parser.add_argument('--reps', type=int, default=3)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--amp', action='store_true')
    parser.add_argument('--skip-naive', action='store_true', help='ours only (GPU sweeps)')
    parser.add_argument('--cache', default=osp.join(tempfile.gettempdir(),
                                                    'mmaction_ext_bench_infer'))
    parser.add_argument('--json', action='store_true', help='also print one JSON line')
    args = parser.parse_args()

    import torch

    from mmaction_ext.apis import VideoInferencer
    from mmaction_ext.synthetic import make_long_havid_video
    video = osp.join(args.cache, f'long_{args.duration:g}s.mp4')
    if not osp.isfile(video):
        make_long_havid_video(video, duration_s=args.duration, seed=0)
    inferencer = VideoInferencer(args.config, args.checkpoint, device=args.device,
                                 batch_size=args.batch_size, amp=args.amp)
    if args.checkpoint is None:
        torch.manual_seed(0)
        inferencer.model.init_weights()
    ours_result = inferencer(video)                               # warm-up, and the plan
    starts = ours_result.starts.tolist()
    runs: dict[str, list] = {'ours': [], 'naive': []}
    naive = None
    for rep in range(args.reps):
        order = ['ours', 'naive'] if rep % 2 == 0 else ['naive', 'ours']
        for side in order:
            if side == 'naive' and args.skip_naive:
                continue
            if side == 'ours':
                ours_result, wall, cpu = timed(lambda: inferencer(video))
            else:
                naive, wall, cpu = timed(lambda: naive_scores(inferencer, video, starts))
            runs[side].append((wall, cpu))
            print(f'rep {rep} {side}: {wall:.2f} s wall, {cpu:.2f} s CPU', flush=True)
    frames, windows = ours_result.num_frames, len(starts)
    report = dict(video=video, frames=frames, windows=windows, duration_s=args.duration,
                  batch_size=args.batch_size, device=args.device, amp=args.amp,
                  threads=torch.get_num_threads(), loadavg=_loadavg())
    print(f'\n{osp.basename(video)}: {frames} frames, {windows} windows; '
          f'{report["threads"]} torch threads; loadavg {report["loadavg"]}')
    print('| side | videos/s | windows/s (median, range) | s/video wall | s/video CPU |')
    print('|---|---|---|---|---|')
    for side, rows in runs.items():
        if not rows:
            continue
        walls, cpus = [r[0] for r in rows], [r[1] for r in rows]
        med = statistics.median(walls)
        report[side] = dict(wall=walls, cpu=cpus, videos_per_s=1 / med,
                            windows_per_s=windows / med)
        print(f'| {side} | {1 / med:.3f} | {windows / med:.1f} '
              f'({windows / max(walls):.1f}-{windows / min(walls):.1f}) | {med:.2f} | '
              f'{statistics.median(cpus):.2f} |')
    if runs['naive']:
        ratio = [n[0] / o[0] for o, n in zip(runs['ours'], runs['naive'])]
        cpu_ratio = [n[1] / o[1] for o, n in zip(runs['ours'], runs['naive'])]
        diff = max(float(np.abs(ours_result.window_scores[t] - naive[t]).max())
                   for t in inferencer.tracks)
        agree = all(bool((ours_result.window_scores[t].argmax(1) == naive[t].argmax(1)).all())
                    for t in inferencer.tracks)
        report.update(speedup=statistics.median(ratio), speedup_range=[min(ratio), max(ratio)],
                      cpu_speedup=statistics.median(cpu_ratio), max_abs_diff=diff,
                      top1_agree=agree)
        print(f'speed-up ours vs naive: {report["speedup"]:.2f}x wall '
              f'(range {min(ratio):.2f}-{max(ratio):.2f}), {report["cpu_speedup"]:.2f}x CPU; '
              f'per-window scores max |diff| {diff:.2e}, top-1 agree: {agree}')
    if args.json:
        print(json.dumps(report))


def _loadavg() -> str:
    try:
        with open('/proc/loadavg') as f:
            return ' '.join(f.read().split()[:3])
    except OSError:
        return 'n/a'


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    main()
