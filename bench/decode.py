"""Training-clip decoding speed per worker: MMAction2's stock pipelines vs FastVideoInit/Decode.

    OMP_NUM_THREADS=1 python bench/decode.py [--quick] [--reps 7] [--cache DIR] [--json]

Each pipeline is SampleFrames 16x4 + Resize(-1, 256) + RandomResizedCrop + Resize(224, 224)
behind a decoder: ``decord`` (DecordInit/DecordDecode, the stock default), ``pyav``
(PyAVInit/PyAVDecode), ``opencv`` (OpenCVInit/OpenCVDecode) and ``ours``
(FastVideoInit/FastVideoDecode, which replaces the decoder and the first Resize) and
``ours+lf`` (the same with ``skip_loop_filter=True``: faster, not exact); ``decord-t2``
and ``ours-t2`` give the decoder two threads (``num_threads=2``: one worker on 2 cores).
Videos are generated once into ``--cache`` (textured background, moving squares, light
noise; H.264 CRF 18 via PyAV, about 2 Mbit/s at 720p): 720p and 1080p .mp4 with keyframe
intervals 12 and 250, and a KTH-size 160x120 MJPG .avi.

One process, one clip at a time. Each repetition draws one seed and runs every pipeline
once with it (same frame indices and crop), in rotating order, so a shared machine's load
hits all sides alike. clips/s = 1 / median wall time; ratios = median over repetitions of
stock-decord time / pipeline time, on wall-clock time and on the process's CPU time
(all its threads: what a dataloader worker costs on a busy machine; less disturbed by
other tenants than wall time). ``diff`` is the mean absolute difference (0-255) of
ours' (ours-t2's, ours+lf's) 224x224 output from stock decord's on the same seed.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import random
import statistics
import time

import numpy as np

from mmaction_ext.utils.env import env_text

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

DECODERS = {
    'decord': [dict(type='DecordInit'), dict(type='SampleFrames', clip_len=16,
               frame_interval=4, num_clips=1), dict(type='DecordDecode'),
               dict(type='Resize', scale=(-1, 256))],
    'pyav': [dict(type='PyAVInit'), dict(type='SampleFrames', clip_len=16, frame_interval=4,
             num_clips=1), dict(type='PyAVDecode'), dict(type='Resize', scale=(-1, 256))],
    'opencv': [dict(type='OpenCVInit'), dict(type='SampleFrames', clip_len=16,
               frame_interval=4, num_clips=1), dict(type='OpenCVDecode'),
               dict(type='Resize', scale=(-1, 256))],
    'ours': [dict(type='FastVideoInit'), dict(type='SampleFrames', clip_len=16,
             frame_interval=4, num_clips=1), dict(type='FastVideoDecode', scale=(-1, 256))],
    # One worker on a 2-core machine may give libavcodec a second thread (num_threads).
    'decord-t2': [dict(type='DecordInit', num_threads=2), dict(type='SampleFrames',
                  clip_len=16, frame_interval=4, num_clips=1), dict(type='DecordDecode'),
                  dict(type='Resize', scale=(-1, 256))],
    'ours-t2': [dict(type='FastVideoInit', num_threads=2), dict(type='SampleFrames',
                clip_len=16, frame_interval=4, num_clips=1),
                dict(type='FastVideoDecode', scale=(-1, 256))],
    'ours+lf': [dict(type='FastVideoInit'), dict(type='SampleFrames', clip_len=16,
                frame_interval=4, num_clips=1),
                dict(type='FastVideoDecode', scale=(-1, 256), skip_loop_filter=True)],
}
AUGMENT = [dict(type='RandomResizedCrop'), dict(type='Resize', scale=(224, 224),
                                                 keep_ratio=False)]
# (name, width, height, frames, keyframe interval); the first is the 2x target's video.
VIDEOS = [('h264_720p_gop12', 1280, 720, 150, 12), ('h264_720p_gop250', 1280, 720, 150, 250),
          ('h264_1080p_gop12', 1920, 1080, 150, 12), ('h264_1080p_gop250', 1920, 1080, 300, 250),
          ('kth_160x120', 160, 120, 100, None)]
QUICK = ('h264_720p_gop12', 'h264_720p_gop250', 'kth_160x120')


def render(frames: int, width: int, height: int, seed: int = 0) -> np.ndarray:
    """Camera-like content that compresses like real footage, not like pure noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 200 // width, yy * 200 // height,
                     (xx + yy) * 100 // (width + height) + 50], -1).astype(np.int16)
    side = height // 4
    texture = rng.integers(0, 255, size=(side // 8 + 1, side // 8 + 1, 3))
    texture = texture.repeat(8, 0).repeat(8, 1)[:side, :side]
    out = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        frame = base + rng.integers(-1, 2, size=(height, width, 1))
        for k in range(3):
            x = int((width - side) * (0.5 + 0.5 * np.sin(0.05 * t * (k + 1) + k)))
            y = int((height - side) * (0.5 + 0.5 * np.cos(0.03 * t * (k + 2) + k)))
            frame[y:y + side, x:x + side] = texture // (k + 1)
        out[t] = np.clip(frame, 0, 255)
    return out


def video_path(cache: str, name: str, width: int, height: int, frames: int,
               gop: int | None) -> str:
    """The cached video, written on first use."""
    from mmaction_ext.synthetic.video_io import write_video
    path = osp.join(cache, f'{name}_{frames}f' + ('.avi' if gop is None else '.mp4'))
    if not osp.isfile(path):
        tmp = path + '.part' + osp.splitext(path)[1]
        write_video(tmp, render(frames, width, height), fps=25, gop=gop)
        os.replace(tmp, path)
    return path


def run_video(path: str, decoders: list[str], reps: int) -> dict:
    from mmaction.registry import TRANSFORMS
    from mmcv.transforms import Compose
    pipes = {d: Compose([TRANSFORMS.build(t) for t in DECODERS[d] + AUGMENT])
             for d in decoders}

    def once(decoder: str, seed: int):
        np.random.seed(seed)  # SampleFrames
        random.seed(seed)  # RandomResizedCrop
        start, cpu = time.perf_counter(), time.process_time()
        out = pipes[decoder](dict(filename=path, start_index=0, modality='RGB'))
        return (time.perf_counter() - start, time.process_time() - cpu), np.stack(out['imgs'])

    for d in decoders:
        once(d, 0)  # warm-up: imports, codec set-up
    times = {d: [] for d in decoders}
    cpu_times = {d: [] for d in decoders}
    diffs = {'ours': [], 'ours-t2': [], 'ours+lf': []}
    for r in range(reps):
        outs = {}
        for d in decoders[r % len(decoders):] + decoders[:r % len(decoders)]:
            (seconds, cpu), outs[d] = once(d, 1000 + r)
            times[d].append(seconds)
            cpu_times[d].append(cpu)
        for d in diffs:
            if d not in outs:
                continue
            if outs[d].shape != outs['decord'].shape:
                raise AssertionError(f'{path}: shapes differ {outs[d].shape} '
                                     f'{outs["decord"].shape}')
            diffs[d].append(float(np.abs(outs[d].astype(np.float32) - outs['decord']).mean()))
    result = {}
    for d in decoders:
        ratio = statistics.median(s / t for s, t in zip(times['decord'], times[d]))
        cpu_ratio = statistics.median(s / t for s, t in zip(cpu_times['decord'], cpu_times[d]))
        result[d] = dict(clips_per_s=1 / statistics.median(times[d]), ratio=ratio,
                         cpu_ratio=cpu_ratio, times=times[d], cpu_times=cpu_times[d])
    result['diff'] = {d: statistics.median(v) for d, v in diffs.items() if v}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true',
                        help='720p and KTH-size videos only, no PyAV pipeline, 5 repetitions')
    parser.add_argument('--reps', type=int, default=None, help='timed repetitions per video')
    parser.add_argument('--videos', default=None, help='comma-separated names (see VIDEOS)')
    parser.add_argument('--decoders', default=None, help='comma-separated, from ' +
                        ', '.join(DECODERS))
    parser.add_argument('--cache', default=env_text('MMACTION_EXT_BENCH_CACHE',
                                                    '/tmp/mmaction_ext_bench_videos'))
    parser.add_argument('--json', action='store_true', help='also print one JSON line')
    args = parser.parse_args()
    import mmaction_ext  # noqa: F401  registers FastVideoInit/FastVideoDecode

    names = args.videos.split(',') if args.videos else [v[0] for v in VIDEOS
                                                          if not args.quick or v[0] in QUICK]
    quick = ['decord', 'decord-t2', 'opencv', 'ours', 'ours-t2', 'ours+lf']
    decoders = (args.decoders.split(',') if args.decoders else
                quick if args.quick else list(DECODERS))
    if 'decord' not in decoders:
        decoders.insert(0, 'decord')  # ratios are against it
    reps = args.reps or (5 if args.quick else 9)
    spec = {v[0]: v for v in VIDEOS}
    results = {}
    print(f'{"video":22s} ' + ' '.join(f'{d + " clips/s (x, cpu x)":>30s}' for d in decoders)
          + '  diff from decord (ours, ours-t2, ours+lf)', flush=True)
    for name in names:
        if name not in spec:
            raise SystemExit(f'unknown video {name!r}; choose from {", ".join(spec)}')
        path = video_path(args.cache, *spec[name])
        res = results[name] = run_video(path, decoders, reps)
        cells = ' '.join(f'{res[d]["clips_per_s"]:15.2f} ({res[d]["ratio"]:4.2f}x, '
                         f'{res[d]["cpu_ratio"]:4.2f}x)' for d in decoders)
        diff = ', '.join(f'{v:.2f}' for v in res['diff'].values())
        print(f'{name:22s} {cells}  {diff}', flush=True)
    print(f'(1 process, OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS", "unset")}, '
          f'{reps} interleaved repetitions; x = median ratio of stock-decord time / time, '
          f'wall clock, then process CPU time)')
    if args.json:
        print(json.dumps(results))


if __name__ == '__main__':
    main()
