"""Score per-frame predictions (frames.csv) against per-frame ground truth (gt.csv).

    python tools/eval_segmentation.py FRAMES_CSV GT_CSV [FRAMES_CSV GT_CSV ...] \
        [--out metrics.json] [--bg-class LABEL ...]
    python tools/eval_segmentation.py out/*/frames.csv data/*.gt.csv   # any order

frames.csv is infer_video.py's output (``frame,time_s,lh_label,...`` or
``frame,time_s,label,score``); gt.csv is ``frame,lh,rh`` or ``frame,label``. Per hand:
frame-wise accuracy, segmental edit score and F1@{10,25,50} (MS-TCN's definitions,
``TemporalSegmentationMetric``), pooled over all given videos; a table on stdout, JSON
with ``--out``. ``--bg-class`` leaves those labels' segments out of edit and F1 (not
of accuracy), as MS-TCN's ``bg_class``.

Files are paired by video name, never by position: ``DIR/long_000/frames.csv`` (or
``long_000.frames.csv``) goes with ``long_000.gt.csv`` (or ``long_000/gt.csv``); a
predictions file is told from ground truth by its ``time_s`` column. A file given twice,
or without its partner, is an error naming it.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys

import numpy as np

from mmaction_ext.evaluation import TemporalSegmentationMetric
from mmaction_ext.fileio import FileWriteError, write_json
from mmaction_ext.fileio.list_reader import (
    DuplicateGuard,
    ListFileError,
    read_csv_header,
    read_csv_table,
    require_file,
)
from mmaction_ext.utils.cli import run_tool


def read_label_columns(path: str, columns: dict[str, str]) -> dict[str, np.ndarray]:
    """``{track: labels}`` from the CSV columns ``columns[track]``; rows must be frames 0..N-1."""
    table = read_csv_table(path, 'CSV file', required=['frame', *columns.values()])
    out: dict[str, list[int]] = {t: [] for t in columns}
    for index, (lineno, row) in enumerate(table.rows):
        try:
            frame = int(row['frame'])
            values = {t: int(row[c]) for t, c in columns.items()}
        except ValueError:
            raise ListFileError(f'{path}:{lineno}: not integer frame/labels: {row}') from None
        if frame != index:
            raise ListFileError(f'{path}:{lineno}: frame {frame}, expected {index} '
                                '(one row per frame, in order, from 0)')
        for t, v in values.items():
            out[t].append(v)
    return {t: np.asarray(v, dtype=np.int64) for t, v in out.items()}


def tracks_of(gt_path: str) -> tuple[str, ...]:
    header = read_csv_header(gt_path, 'ground-truth CSV')
    if 'lh' in header and 'rh' in header:
        return ('lh', 'rh')
    if 'label' in header:
        return ('label',)
    raise ListFileError(f'{gt_path}:1: header {list(header)}: expected frame,lh,rh or '
                        'frame,label')


def is_predictions(path: str) -> bool:
    """infer_video.py's frames.csv has ``time_s``; a ground-truth CSV has not."""
    return 'time_s' in read_csv_header(path, 'CSV file',
                                       remedy='give frames.csv and gt.csv files')


def video_stem(path: str) -> str:
    """The video a CSV belongs to: ``long_000.gt.csv`` and ``long_000/frames.csv`` are
    both ``long_000`` (a generic name such as ``frames.csv`` takes its folder's)."""
    name = osp.basename(path)
    for suffix in ('.frames.csv', '_frames.csv', '.gt.csv', '_gt.csv', '.csv'):
        if name.lower().endswith(suffix):
            name = name[:-len(suffix)]
            break
    if name.lower() in ('frames', 'gt', ''):
        return osp.basename(osp.dirname(osp.abspath(path)))
    return name


def pair_by_video(files: list[str]) -> list[tuple[str, str]]:
    """``(frames.csv, gt.csv)`` pairs matched by video name, never by position.

    A file given twice, two files of one kind for one video, or a file without its
    partner is an error naming it.
    """
    seen = DuplicateGuard()
    by_video: dict[str, dict[str, str]] = {}
    for number, path in enumerate(files, 1):
        require_file(path, 'CSV file')
        seen.add(path, f'argument {number}')
        kind = 'predictions' if is_predictions(path) else 'ground truth'
        slot = by_video.setdefault(video_stem(path), {})
        if kind in slot:
            raise ListFileError(f'{slot[kind]} and {path} are both {kind} of video '
                                f'{video_stem(path)!r}; give one of them')
        slot[kind] = path
    pairs = []
    for video, slot in sorted(by_video.items()):
        if len(slot) != 2:
            (kind, path), = slot.items()
            other = ('ground truth (e.g. {v}.gt.csv)' if kind == 'predictions'
                     else 'predictions (e.g. {v}/frames.csv)').format(v=video)
            raise ListFileError(f'{path}: {kind} of video {video!r} without its {other} '
                                'among the files given; add it or leave this file out')
        pairs.append((slot['predictions'], slot['ground truth']))
    return pairs


def evaluate(pairs: list[tuple[str, str]], bg_class: list[int] | None = None
             ) -> dict[str, float]:
    """Run ``TemporalSegmentationMetric`` over ``(frames.csv, gt.csv)`` pairs."""
    tracks = tracks_of(pairs[0][1])
    metric = TemporalSegmentationMetric(tracks=tracks, bg_class=bg_class or ())
    for pred_path, gt_path in pairs:
        if tracks_of(gt_path) != tracks:
            raise ListFileError(f'{gt_path}: tracks differ from {pairs[0][1]}\'s {tracks}')
        pred_cols = {t: 'label' if t == 'label' else f'{t}_label' for t in tracks}
        gt = read_label_columns(gt_path, {t: t for t in tracks})
        pred = read_label_columns(pred_path, pred_cols)
        n_gt, n_pred = len(gt[tracks[0]]), len(pred[tracks[0]])
        if n_gt != n_pred:
            raise ListFileError(
                f'{pred_path} has {n_pred} frames but {gt_path} has {n_gt}: '
                'wrong pair, or a damaged video whose tail did not decode '
                '(see summary.json decode_error)')
        sample = {'video': pred_path}
        for t in tracks:
            prefix = '' if t == 'label' else f'{t}_'
            sample[f'{prefix}pred_labels'], sample[f'{prefix}gt_labels'] = pred[t], gt[t]
        metric.process(None, [sample])
    return metric.compute_metrics(metric.results)


def format_table(metrics: dict[str, float]) -> str:
    rows = sorted({k.split('/')[0] for k in metrics}, key=lambda r: (r == 'mean', r))
    cols = [k.split('/', 1)[1] for k in metrics if k.startswith(rows[0] + '/')]
    lines = ['track  ' + ''.join(f'{c:>9}' for c in cols)]
    for r in rows:
        lines.append(f'{r:<7}' + ''.join(f'{metrics[f"{r}/{c}"]:9.2f}' for c in cols))
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('files', nargs='+',
                        help='frames.csv and gt.csv files, in any order (paired by video)')
    parser.add_argument('--out', help='write the metrics as JSON here')
    parser.add_argument('--bg-class', type=int, nargs='+', default=[], metavar='LABEL',
                        help='background labels: left out of edit and F1 (MS-TCN bg_class)')
    parser.add_argument('--verbose', action='store_true', help='tracebacks of errors')
    args = parser.parse_args(argv)
    pairs = pair_by_video(args.files)
    for pred_path, gt_path in pairs:
        print(f'pair: {pred_path} <-> {gt_path}')
    metrics = evaluate(pairs, args.bg_class)
    print(f'temporal segmentation ({len(pairs)} video(s), percent):')
    print(format_table(metrics))
    if args.out:
        try:
            write_json(args.out, metrics, inputs=args.files)
        except FileWriteError as err:
            raise SystemExit(f'error: {err}') from err
        print(f'written: {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
