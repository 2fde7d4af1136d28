"""Score per-frame predictions (frames.csv) against per-frame ground truth (gt.csv).

    python tools/eval_segmentation.py FRAMES_CSV GT_CSV [FRAMES_CSV GT_CSV ...] \
        [--out metrics.json] [--bg-class LABEL ...]

frames.csv is infer_video.py's output (``frame,time_s,lh_label,...`` or
``frame,time_s,label,score``); gt.csv is ``frame,lh,rh`` or ``frame,label``. Per hand:
frame-wise accuracy, segmental edit score and F1@{10,25,50} (MS-TCN's definitions,
``TemporalSegmentationMetric``), pooled over all given videos; a table on stdout, JSON
with ``--out``. ``--bg-class`` leaves those labels' segments out of edit and F1 (not
of accuracy), as MS-TCN's ``bg_class``.
"""
from __future__ import annotations

import argparse
import csv
import json
import os.path as osp
import sys

import numpy as np

from mmaction_ext.evaluation import TemporalSegmentationMetric
from mmaction_ext.fileio.atomic_local_backend import atomic_write_bytes


def read_label_columns(path: str, columns: dict[str, str]) -> dict[str, np.ndarray]:
    """``{track: labels}`` from the CSV columns ``columns[track]``; rows must be frames 0..N-1."""
    if not osp.isfile(path):
        raise SystemExit(f'{path}: no such file')
    with open(path, newline='') as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in columns.values() if c not in header]
        if missing or 'frame' not in header:
            raise SystemExit(f'{path}: header {header} lacks {missing or ["frame"]}')
        out: dict[str, list[int]] = {t: [] for t in columns}
        for lineno, row in enumerate(reader, 2):
            try:
                frame = int(row['frame'])
                values = {t: int(row[c]) for t, c in columns.items()}
            except (TypeError, ValueError):
                raise SystemExit(f'{path}:{lineno}: not integer frame/labels: {row}') from None
            if frame != lineno - 2:
                raise SystemExit(f'{path}:{lineno}: frame {frame}, expected {lineno - 2} '
                                 '(one row per frame, in order, from 0)')
            for t, v in values.items():
                out[t].append(v)
    return {t: np.asarray(v, dtype=np.int64) for t, v in out.items()}


def tracks_of(gt_path: str) -> tuple[str, ...]:
    with open(gt_path, newline='') as f:
        header = next(csv.reader(f), [])
    if 'lh' in header and 'rh' in header:
        return ('lh', 'rh')
    if 'label' in header:
        return ('label',)
    raise SystemExit(f'{gt_path}: header {header}: expected frame,lh,rh or frame,label')


def evaluate(pairs: list[tuple[str, str]], bg_class: list[int] | None = None
             ) -> dict[str, float]:
    """Run ``TemporalSegmentationMetric`` over ``(frames.csv, gt.csv)`` pairs."""
    tracks = tracks_of(pairs[0][1])
    metric = TemporalSegmentationMetric(tracks=tracks, bg_class=bg_class or ())
    for pred_path, gt_path in pairs:
        if tracks_of(gt_path) != tracks:
            raise SystemExit(f'{gt_path}: tracks differ from {pairs[0][1]}\'s {tracks}')
        pred_cols = {t: 'label' if t == 'label' else f'{t}_label' for t in tracks}
        gt = read_label_columns(gt_path, {t: t for t in tracks})
        pred = read_label_columns(pred_path, pred_cols)
        n_gt, n_pred = len(gt[tracks[0]]), len(pred[tracks[0]])
        if n_gt != n_pred:
            raise SystemExit(
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
    parser.add_argument('files', nargs='+', help='FRAMES_CSV GT_CSV pairs')
    parser.add_argument('--out', help='write the metrics as JSON here')
    parser.add_argument('--bg-class', type=int, nargs='+', default=[], metavar='LABEL',
                        help='background labels: left out of edit and F1 (MS-TCN bg_class)')
    args = parser.parse_args(argv)
    if len(args.files) % 2:
        parser.error('give FRAMES_CSV GT_CSV pairs (an even number of files)')
    pairs = list(zip(args.files[::2], args.files[1::2]))
    try:
        metrics = evaluate(pairs, args.bg_class)
    except ValueError as err:
        raise SystemExit(f'error: {err}') from None
    print(f'temporal segmentation ({len(pairs)} video(s), percent):')
    print(format_table(metrics))
    if args.out:
        atomic_write_bytes(json.dumps(metrics, indent=1).encode(), args.out)
        print(f'written: {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
