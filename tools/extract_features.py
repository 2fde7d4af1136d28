"""Per-frame features per hand of long videos, in MS-TCN's / the ADH-ViT authors' layout.

    python tools/extract_features.py CONFIG CHECKPOINT --out-root DIR
        [VIDEO ...] [--list FILE] [--split NAME=LIST ...]
        [--stride FRAMES] [--batch-size B] [--device cpu|cuda] [--amp] [--no-truth]

Writes DIR/features/{left_hand,right_hand}/<video>.npy ((D, T) float32: the shared
backbone feature and the hand's class scores, each averaged over the sliding windows
covering the frame), DIR/groundTruth/{left_hand,right_hand}/<video>.txt (one class name
per frame) from ``<video>.gt.csv`` beside a video (``frame,lh,rh`` as
``make_synthetic_data.py havid-long`` writes; skipped when absent or with --no-truth),
DIR/mapping.txt (plus each hand's own mapping_<hand>.txt) and DIR/splits/NAME.bundle
for each ``--split NAME=LIST`` (LIST: one video path per line). A one-head model writes
features/<video>.npy and groundTruth/<video>.txt (one stream, as Breakfast).
Each list file is given once, and a video once per list (command line and --list
count as one); a video may be in several splits (cross-validation) and is extracted once.
Every file is written atomically; videos whose files all exist are skipped, so an
interrupted run is resumed by running it again. Exit status 1 if any video failed.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
import traceback

import numpy as np

import mmaction_ext  # noqa: F401
from mmaction_ext.apis import VideoInferencer
from mmaction_ext.apis.segmentation_features import (
    extraction_record_path,
    frame_features,
    read_extraction_record,
    video_files,
    write_bundle,
    write_extraction_record,
    write_mappings,
    write_video,
)
from mmaction_ext.fileio.list_reader import (
    DuplicateGuard,
    ListFileError,
    file_identity,
    read_csv_table,
    read_list,
)
from mmaction_ext.utils.cli import run_tool
from mmaction_ext.utils.env import env_text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('videos', nargs='*', help='video files')
    parser.add_argument('--out-root', required=True, help='dataset root to write')
    parser.add_argument('--list', help='file with one video path per line (# comments)')
    parser.add_argument('--split', action='append', default=[], metavar='NAME=LIST',
                        help='videos of LIST, also written to splits/NAME.bundle '
                             '(e.g. train.split1=train.txt); repeatable')
    parser.add_argument('--stride', type=int, help='frames between windows (default: half)')
    parser.add_argument('--batch-size', type=int, default=8, help='windows per forward pass')
    parser.add_argument('--device', default='cpu', help='cpu, cuda, cuda:1, ...')
    parser.add_argument('--amp', action='store_true', help='autocast (bf16 CPU, fp16 CUDA)')
    parser.add_argument('--no-truth', action='store_true', help='do not write groundTruth/')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    args = parser.parse_args(argv)
    if not (args.videos or args.list or args.split):
        parser.error('give VIDEO paths, --list FILE and/or --split NAME=LIST')
    if args.stride is not None and args.stride < 1:
        parser.error(f'--stride must be >= 1, got {args.stride}')
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    names = set()
    for item in args.split:
        name, _, path = item.partition('=')
        if not name or not path or '/' in name:
            parser.error(f'--split {item!r}: expected NAME=LIST, e.g. train.split1=train.txt')
        if name in names:
            parser.error(f'--split {name} is given twice (splits/{name}.bundle would be '
                         'written twice); give each split once')
        names.add(name)
    return args


def read_video_list(path: str, what: str) -> list[tuple[str, str]]:
    """``(video, where)`` per non-empty, non-comment line; relative paths from the list's folder.

    The whole line is the path; the same real file twice in one list is an error (a
    bundle would score it twice).
    """
    base = osp.dirname(osp.abspath(path))
    lines = read_list(path, what, remedy='give a text file with one video path per line')
    out, seen = [], DuplicateGuard()
    for line in lines:
        video = line.text if osp.isabs(line.text) else osp.join(base, line.text)
        seen.add(video, line.where, shown=line.text)
        out.append((video, line.where))
    return out


def collect(args: argparse.Namespace) -> tuple[dict[str, tuple[str, str]], dict[str, list[str]]]:
    """``{stem: (video, where)}`` in order, and ``{split: [stem, ...]}``.

    Each list file is given once; a video is given once on the command line and
    ``--list`` together, and once in each split, but may be in several splits (and in
    ``--list``), as cross-validation splits share videos: it is extracted once.
    """
    lists = DuplicateGuard()
    given = [(v, 'command line') for v in args.videos]
    if args.list:
        lists.add(args.list, '--list')
        given += read_video_list(args.list, '--list')
    extract = DuplicateGuard()
    for video, where in given:
        extract.add(video, where)
    entries = list(given)
    splits: dict[str, list[str]] = {}
    for item in args.split:
        name, _, path = item.partition('=')
        lists.add(path, f'--split {name}')
        listed = read_video_list(path, f'--split {name}')
        entries += listed
        splits[name] = [osp.splitext(osp.basename(v))[0] for v, _ in listed]
    videos: dict[str, tuple[str, str]] = {}
    for video, where in entries:
        stem = osp.splitext(osp.basename(video))[0]
        if stem in videos and file_identity(videos[stem][0]) != file_identity(video):
            raise ListFileError(f'{video} ({where}) and {videos[stem][0]} ({videos[stem][1]}) '
                                f'both become <{stem}>: video names must be unique')
        videos.setdefault(stem, (video, where))
    return videos, splits


def read_truth_csv(path: str, tracks: tuple[str, ...], classes: dict[str, list[str]]
                   ) -> dict[str, np.ndarray]:
    """Per-frame labels per track from ``frame,lh,rh`` (or ``frame,label``) rows."""
    table = read_csv_table(path, 'ground-truth CSV', required=('frame', *tracks))
    out: dict[str, list[int]] = {t: [] for t in tracks}
    for expected, (lineno, row) in enumerate(table.rows):
        try:
            frame = int(row['frame'])
            values = {t: int(row[t]) for t in tracks}
        except ValueError:
            raise ValueError(f'{path}:{lineno}: not integer frame/labels: {row}') from None
        if frame != expected:
            raise ValueError(f'{path}:{lineno}: frame {frame}, expected {expected}')
        for t, v in values.items():
            if not 0 <= v < len(classes[t]):
                raise ValueError(f'{path}:{lineno}: {t} label {v} outside '
                                 f'[0, {len(classes[t])}) of the model\'s classes')
            out[t].append(v)
    return {t: np.asarray(v, dtype=np.int64) for t, v in out.items()}


def class_names(inferencer: VideoInferencer) -> dict[str, list[str]]:
    """The checkpoint's class names; bare indices become ``<track>_<index>``, so the
    hands' classes stay apart in the one shared ``mapping.txt``."""
    out = {}
    for track, names in inferencer.class_names.items():
        bare = names == [str(i) for i in range(len(names))]
        out[track] = [f'{track}_{i:02d}' for i in range(len(names))] if bare else names
    return out


def check_meta(root: str, meta: dict) -> None:
    """Refuse to mix files of another model or stride into ``root``; record ours."""
    path = extraction_record_path(root)
    if osp.isfile(path):
        old = read_extraction_record(root)
        changed = [k for k in ('config', 'checkpoint', 'stride', 'tracks', 'classes')
                   if old.get(k) != meta[k]]
        if changed:
            raise SystemExit(f'{path}: {root} holds features written with other {changed} '
                             f'({ {k: old.get(k) for k in changed} }); use another --out-root '
                             'or delete it')
    os.makedirs(root, exist_ok=True)
    write_extraction_record(root, meta)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    videos, splits = collect(args)
    inferencer = VideoInferencer(args.config, args.checkpoint, device=args.device,
                                 batch_size=args.batch_size, stride=args.stride,
                                 amp=args.amp, features=True)
    tracks, classes = inferencer.tracks, class_names(inferencer)
    check_meta(args.out_root, dict(
        config=osp.abspath(args.config), checkpoint=osp.abspath(args.checkpoint),
        stride=inferencer.stride, window_span=inferencer.pipeline.span, tracks=list(tracks),
        classes=classes, layout='(feature_dim, num_frames) per hand: [shared feature; '
        'hand class probabilities], window means'))
    from tqdm import tqdm
    failed, done, skipped = [], 0, 0
    bar = tqdm(videos.items(), unit='video', disable=args.no_progress, desc='videos')
    for stem, (video, where) in bar:
        truth_csv = osp.splitext(video)[0] + '.gt.csv'
        with_truth = not args.no_truth and osp.isfile(truth_csv)
        if all(osp.isfile(p) for p in video_files(args.out_root, stem, tracks, with_truth)):
            skipped += 1
            continue
        if not osp.isfile(video):
            failed.append(video)
            bar.write(f'FAILED {video} ({where}): no such file', file=sys.stderr)
            continue
        try:
            truth = read_truth_csv(truth_csv, tracks, classes) if with_truth else None
            scores = inferencer(video, progress=not args.no_progress)
            if scores.decode_error:
                raise ValueError(scores.decode_error)
            write_video(args.out_root, stem, frame_features(scores), truth, classes)
        except Exception as err:  # noqa: BLE001  report by name, go on with the others
            failed.append(video)
            bar.write(f'FAILED {video} ({where}): {type(err).__name__}: {err}', file=sys.stderr)
            if env_text('MMACTION_EXT_DEBUG'):
                traceback.print_exc()
            continue
        done += 1
    bar.close()
    write_mappings(args.out_root, classes)
    for name, stems in splits.items():
        write_bundle(osp.join(args.out_root, 'splits', f'{name}.bundle'), stems)
    print(f'{done} done, {skipped} skipped (complete), {len(failed)} failed -> {args.out_root}')
    for video in failed:
        print(f'  failed: {video}', file=sys.stderr)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
