"""Compare a segmenter's test predictions with the sliding-window timeline, per hand.

    python tools/compare_segmentation.py FEATURES_ROOT SPLIT_BUNDLE RESULTS_PKL
        [--smooth 0 13 25 50] [--plot-dir DIR] [--out table.json]

FEATURES_ROOT is what tools/extract_features.py wrote: each hand's feature rows end
with the window scores averaged per frame, so the sliding-window timeline of
``tools/infer_video.py --smooth S`` is the argmax of their S-frame moving average
(same windows, same stride). RESULTS_PKL is ``tools/test.py ... --dump`` of the
segmenter on SPLIT_BUNDLE, read with the project's safe loader. Prints frame accuracy,
edit and F1@{10,25,50} per hand for the windows at each --smooth and for the
segmenter; --plot-dir writes one PNG per video: truth, windows (best smoothing by
edit + F1@50), segmenter, per hand.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys

import numpy as np

import mmaction_ext  # noqa: F401
from mmaction_ext.apis.segmentation_features import read_extraction_record
from mmaction_ext.apis.timeline import moving_average
from mmaction_ext.datasets.segmentation_layout import (
    feature_path,
    load_features,
    read_bundle,
    read_truth,
    truth_path,
)
from mmaction_ext.evaluation.functional.segmentation import segmentation_scores
from mmaction_ext.evaluation.safe_results import load_results
from mmaction_ext.fileio import write_figure_png, write_json
from mmaction_ext.utils.cli import run_tool


def window_labels(features: np.ndarray, num_classes: int, smooth: int) -> np.ndarray:
    """The sliding-window timeline from a feature file's trailing class-score rows."""
    return moving_average(features[-num_classes:].T.astype(np.float64), smooth).argmax(1)


def segmenter_labels(results: list, tracks: list[str]) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for r in results:
        video = str(r.get('video'))
        out[video] = {t: np.asarray(r[f'{t}_pred_labels']) for t in tracks}
    return out


def plot(path: str, video: str, strips: dict[str, dict[str, np.ndarray]],
         classes: dict[str, list[str]], fps: float) -> None:
    """Per hand three colour strips (truth, windows, segmenter) over time."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    rows = [(t, name, labels) for t, per in strips.items() for name, labels in per.items()]
    fig, axes = plt.subplots(len(rows), 1, figsize=(14, 0.55 * len(rows) + 1.2), sharex=True)
    cmap = plt.get_cmap('tab10')
    for ax, (t, name, labels) in zip(axes, rows):
        duration = len(labels) / fps
        ax.imshow(labels[None, :], aspect='auto', cmap=cmap, vmin=-0.5, vmax=9.5,
                  interpolation='nearest', extent=(0, duration, 0, 1))
        ax.set_yticks([])
        ax.set_ylabel(f'{t} {name}', rotation=0, ha='right', va='center', fontsize=9)
    for t in strips:
        first = [ax for ax, (track, _, _) in zip(axes, rows) if track == t][0]
        first.legend(handles=[Patch(color=cmap(i), label=n) for i, n in enumerate(classes[t])],
                     loc='upper left', bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)
    axes[-1].set_xlabel('time (s)')
    axes[0].set_title(video, fontsize=10, loc='left')
    fig.tight_layout()
    write_figure_png(path, fig, dpi=90)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root')
    parser.add_argument('bundle')
    parser.add_argument('results')
    parser.add_argument('--smooth', type=int, nargs='+', default=[0, 13, 25, 50])
    parser.add_argument('--plot-dir')
    parser.add_argument('--out')
    args = parser.parse_args(argv)
    meta = read_extraction_record(args.root, remedy='FEATURES_ROOT must come from '
                                  'tools/extract_features.py (its rows end with the window scores)')
    tracks, classes = meta['tracks'], meta['classes']
    videos = read_bundle(args.bundle)
    predicted = segmenter_labels(load_results(args.results), tracks)
    missing = [v for v in videos if v not in predicted]
    if missing:
        raise SystemExit(f'{args.results}: no predictions for {missing[:5]} of {args.bundle}')
    truth, windows = {}, {}
    for v in videos:
        truth[v] = {t: read_truth(truth_path(args.root, t, v), classes[t]) for t in tracks}
        feats = {t: load_features(feature_path(args.root, t, v)) for t in tracks}
        windows[v] = {s: {t: window_labels(feats[t], len(classes[t]), s) for t in tracks}
                      for s in args.smooth}
    table = {}
    for t in tracks:
        gts = [truth[v][t] for v in videos]
        for s in args.smooth:
            table[f'{t}/windows smooth {s}'] = segmentation_scores(
                [windows[v][s][t] for v in videos], gts, names=videos)
        table[f'{t}/segmenter'] = segmentation_scores([predicted[v][t] for v in videos], gts,
                                                      names=videos)
    cols = list(next(iter(table.values())))
    print(f'{len(videos)} video(s) of {args.bundle}, percent')
    print(f"{'hand':<5}{'method':<20}" + ''.join(f'{c:>9}' for c in cols))
    for key, scores in table.items():
        t, method = key.split('/', 1)
        print(f'{t:<5}{method:<20}' + ''.join(f'{scores[c]:9.2f}' for c in cols))
    if args.out:
        write_json(args.out, table)
    if args.plot_dir:
        for v in videos:
            strips = {}
            for t in tracks:
                best = max(args.smooth, key=lambda s: table[f'{t}/windows smooth {s}']['edit']
                           + table[f'{t}/windows smooth {s}']['F1@50'])
                strips[t] = {'truth': truth[v][t], f'windows (smooth {best})': windows[v][best][t],
                             'segmenter': predicted[v][t]}
            plot(osp.join(args.plot_dir, f'{v}.png'), v, strips, classes, meta.get('fps', 25.0))
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
