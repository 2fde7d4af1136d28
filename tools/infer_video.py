"""Per-hand (or per-video) action timelines of untrimmed videos by sliding windows.

    python tools/infer_video.py CONFIG CHECKPOINT VIDEO [VIDEO ...] --out-dir DIR
        [--stride FRAMES] [--batch-size B] [--device cpu|cuda] [--amp] [--features]
        [--smooth FRAMES] [--list FILE] [--backend pytorch|onnxruntime] [--threads N]
        [--allow-partial-checkpoint] [--verbose]

Each video is decoded once, front to back; windows are the config's test clip placed
every --stride frames (default: half a window). Writes DIR/<video stem>/frames.csv,
segments.csv, timeline.png (and features.npy/.json), summary.json last; times are the
frames' own timestamps (variable frame rate included). A video whose outputs are complete
and were made from the same video file, checkpoint file, config and options (--stride,
--smooth, --amp, --features) is skipped, so a crashed run can be rerun as is; otherwise
it is recomputed and the line says what differs. Exit status 1 if any video failed
(each is reported by name; the others go on).
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
import time
import traceback

import mmaction_ext  # noqa: F401
from mmaction_ext.apis import VideoInferencer
from mmaction_ext.apis.output_reuse import run_inputs
from mmaction_ext.apis.outputs import reuse_check, write_outputs
from mmaction_ext.checkpoint import CheckpointLoadError
from mmaction_ext.fileio.list_reader import (
    DuplicateGuard,
    ListFileError,
    path_problem,
    read_list,
)
from mmaction_ext.utils.cli import run_tool, wants_traceback


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('videos', nargs='*', help='video files')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--list', help='file with one video path per line (# comments)')
    parser.add_argument('--stride', type=int, help='frames between windows (default: half)')
    parser.add_argument('--batch-size', type=int, default=8, help='windows per forward pass')
    parser.add_argument('--device', default='cpu', help='cpu, cuda, cuda:1, ...')
    parser.add_argument('--amp', action='store_true', help='autocast (bf16 CPU, fp16 CUDA)')
    parser.add_argument('--features', action='store_true',
                        help='also write each window\'s pooled backbone feature')
    parser.add_argument('--smooth', type=int, default=0,
                        help='moving average of the frame scores over this many frames')
    parser.add_argument('--backend', choices=('pytorch', 'onnxruntime'), default='pytorch',
                        help='onnxruntime: CHECKPOINT is an .onnx file from '
                        'tools/export_onnx.py (CPU)')
    parser.add_argument('--threads', type=int, help='onnxruntime threads (default: all cores)')
    parser.add_argument('--pipeline', choices=('test', 'val'), default='test',
                        help="the config's pipeline that defines a window: val for configs "
                        'whose test view has several clips or crops (configs/havid_alternating.py)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    parser.add_argument('--allow-partial-checkpoint', action='store_true',
                        help='run even if some weights are not in the checkpoint (fresh '
                             'head, backbone-only file); NaN weights are always refused')
    parser.add_argument('--verbose', action='store_true',
                        help='tracebacks of errors (also MMACTION_EXT_DEBUG=1)')
    args = parser.parse_args(argv)
    if not args.videos and not args.list:
        parser.error('give VIDEO paths and/or --list FILE')
    if args.stride is not None and args.stride < 1:
        parser.error(f'--stride must be >= 1, got {args.stride}')
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    return args


def read_video_list(path: str) -> list[tuple[str, str]]:
    """``(video, where)`` per non-empty, non-comment line; relative paths from the list's folder.

    The whole line is the path (spaces inside it are kept); BOM, CRLF, blank lines and
    ``#`` comments are handled by the project's list reader.
    """
    base = osp.dirname(osp.abspath(path))
    lines = read_list(path, '--list', remedy='give a text file with one video path per line')
    return [(line.text if osp.isabs(line.text) else osp.join(base, line.text), line.where)
            for line in lines]


def collect_videos(args: argparse.Namespace) -> list[tuple[str, str]]:
    """Videos of the command line, then of ``--list``; the same real file twice is an error."""
    videos = [(v, 'command line') for v in args.videos]
    if args.list:
        videos += read_video_list(args.list)
    seen = DuplicateGuard()
    stems: dict[str, tuple[str, str]] = {}
    for video, where in videos:
        seen.add(video, where)
        stem = osp.splitext(osp.basename(video))[0]
        if stem in stems:
            other, other_where = stems[stem]
            raise ListFileError(
                f'{video} ({where}) and {other} ({other_where}) would both write '
                f'{args.out_dir}/{stem}/: rename one or run them with different --out-dir')
        stems[stem] = (video, where)
    return videos


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    videos = collect_videos(args)
    try:
        inferencer = VideoInferencer(args.config, args.checkpoint, device=args.device,
                                     batch_size=args.batch_size, stride=args.stride,
                                     amp=args.amp, features=args.features,
                                     allow_partial=args.allow_partial_checkpoint,
                                     backend=args.backend, threads=args.threads,
                                     pipeline=args.pipeline)
    except (ValueError, FileNotFoundError, CheckpointLoadError) as err:
        raise SystemExit(f'error: {type(err).__name__}: {err}') from err
    options = dict(config=osp.abspath(args.config), checkpoint=osp.abspath(args.checkpoint),
                   stride=inferencer.stride, window_span=inferencer.pipeline.span,
                   smooth=args.smooth, amp=args.amp, features=args.features,
                   pipeline=args.pipeline)
    failed, done, skipped = [], 0, 0
    for video, where in videos:
        out_dir = osp.join(args.out_dir, osp.splitext(osp.basename(video))[0])
        problem = path_problem(video)
        if problem:
            failed.append(video)
            print(f'FAILED {video} ({where}): {problem}', file=sys.stderr)
            continue
        inputs = run_inputs(video, args.checkpoint, inferencer.cfg, options)
        reusable, differences = reuse_check(out_dir, inputs)
        if reusable:
            skipped += 1
            print(f'skip {video}: outputs in {out_dir} are complete (same video, '
                  'checkpoint, config and options)')
            continue
        if differences:
            print(f'recompute {video}: the outputs in {out_dir} were made differently: '
                  + '; '.join(differences))
        start = time.perf_counter()
        try:
            scores = inferencer(video, progress=not args.no_progress)
            summary = write_outputs(out_dir, scores, args.smooth, options, inputs)
        except Exception as err:  # noqa: BLE001  report by name, go on with the others
            failed.append(video)
            print(f'FAILED {video} ({where}): {type(err).__name__}: {err}', file=sys.stderr)
            if wants_traceback(argv):
                traceback.print_exc()
            continue
        done += 1
        if scores.decode_error:
            print(f'WARNING {scores.decode_error}', file=sys.stderr)
        print(f'{video}: {summary["num_frames"]} frames, {summary["windows"]} windows, '
              f'{time.perf_counter() - start:.1f} s -> {out_dir}')
    print(f'{done} done, {skipped} skipped (complete), {len(failed)} failed')
    for video in failed:
        print(f'  failed: {video}', file=sys.stderr)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
