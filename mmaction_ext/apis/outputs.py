"""Per-video output files of sliding-window inference, each written atomically.

``DIR/<video stem>/``: ``frames.csv``, ``segments.csv``, ``timeline.png``, with
features ``features.npy`` + ``features.json``, and ``summary.json`` last: its presence
(with the files it lists) marks the outputs complete, and it records what they were made
from (:mod:`.output_reuse`), so a rerun skips a finished video only when its inputs and
options are the same; a crash leaves whole files or none. Times are the frames' own
timestamps (a variable-frame-rate video is timed as it plays), ``i / fps`` without them.
"""
from __future__ import annotations

import json
import os

import numpy as np

from mmaction_ext.fileio import write_csv, write_figure_png, write_json, write_npy

from .output_reuse import input_differences
from .sliding_window import VideoScores
from .timeline import label_runs

SUMMARY = 'summary.json'
# the ``hand`` column of a one-head model's segments.csv
ONE_HEAD_TRACK = 'label'
KNOWN_OUTPUTS = ('frames.csv', 'segments.csv', 'timeline.png', 'features.npy',
                 'features.json')


def frame_table(scores: VideoScores, smooth: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{track: (labels (T,), score of that label (T,))}`` from smoothed frame scores."""
    out = {}
    for track, s in scores.frame_scores(smooth).items():
        labels = s.argmax(1)
        out[track] = (labels, s[np.arange(len(s)), labels])
    return out


def write_frames_csv(path: str, scores: VideoScores,
                     table: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    """``frame,time_s,lh_label,lh_score,rh_label,rh_score`` (or ``label,score``)."""
    tracks = scores.tracks
    if tracks == (ONE_HEAD_TRACK,):
        header = ['frame', 'time_s', 'label', 'score']
    else:
        header = ['frame', 'time_s'] + [f'{t}_{k}' for t in tracks for k in ('label', 'score')]
    starts, _ = scores.times()
    rows = []
    for i in range(scores.num_frames):
        row = [i, f'{starts[i]:.3f}']
        for t in tracks:
            row += [int(table[t][0][i]), f'{table[t][1][i]:.4f}']
        rows.append(row)
    return write_csv(path, header, rows)


def segment_rows(scores: VideoScores, table: dict) -> list[list]:
    """Rows of segments.csv: one per run of equal labels per track."""
    starts, ends = scores.times()
    rows = []
    for t in scores.tracks:
        labels, label_scores = table[t]
        for label, first, last in label_runs(labels):
            rows.append([t, first, last, f'{starts[first]:.3f}', f'{ends[last]:.3f}', label,
                         scores.class_names[t][label],
                         f'{label_scores[first:last + 1].mean():.4f}'])
    return rows


def write_segments_csv(path: str, scores: VideoScores, table: dict) -> str:
    header = ['hand', 'start_frame', 'end_frame', 'start_s', 'end_s', 'label',
              'class_name', 'mean_score']
    return write_csv(path, header, segment_rows(scores, table))


def write_features(out_dir: str, scores: VideoScores) -> list[str]:
    """``features.npy`` ``(D, W)`` float32 and ``features.json`` (window centres)."""
    starts, _ = scores.times()
    meta = dict(window_centres=scores.centres.tolist(), window_starts=scores.starts.tolist(),
                window_ends=(scores.spans[:, 1] - 1).tolist(),
                window_centre_times_s=[round(float(starts[c]), 6) for c in scores.centres],
                fps=scores.fps, num_frames=scores.num_frames,
                layout='(feature_dim, num_windows)')
    return [write_npy(os.path.join(out_dir, 'features.npy'),
                      np.ascontiguousarray(scores.features.T.astype(np.float32))),
            write_json(os.path.join(out_dir, 'features.json'), meta)]


def write_timeline_png(path: str, scores: VideoScores, table: dict) -> str:
    """One colour strip per track over time (minutes:seconds), class names in a legend."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter
    tracks = scores.tracks
    starts, ends = scores.times()
    edges = np.append(starts, ends[-1])  # frame i drawn from its start to the next one's
    fig, axes = plt.subplots(len(tracks), 1, figsize=(16, 1.2 + 1.1 * len(tracks)),
                             squeeze=False, sharex=True)
    for ax, t in zip(axes[:, 0], tracks):
        names = scores.class_names[t]
        cmap = plt.get_cmap('tab20' if len(names) > 10 else 'tab10')
        labels = table[t][0]
        # one row of cells at the frames' own times: exact at any length and frame rate
        ax.pcolormesh(edges, [0, 1], labels[None, :], cmap=cmap, vmin=-0.5,
                      vmax=cmap.N - 0.5, shading='flat')
        ax.set_xlim(edges[0], edges[-1])
        ax.set_yticks([])
        ax.set_ylabel(t, rotation=0, ha='right', va='center')
        present = sorted(set(int(v) for v in labels))
        ax.legend(handles=[Patch(color=cmap(c % cmap.N), label=names[c]) for c in present],
                  loc='upper left', bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False,
                  ncol=1 + len(present) // 8)
    axes[-1, 0].xaxis.set_major_formatter(
        FuncFormatter(lambda x, _: f'{int(x // 60)}:{int(x % 60):02d}'))
    axes[-1, 0].set_xlabel('time (min:s)')
    axes[0, 0].set_title(os.path.basename(scores.path), fontsize=10, loc='left')
    fig.tight_layout()
    return write_figure_png(path, fig, dpi=100)


def write_outputs(out_dir: str, scores: VideoScores, smooth: int = 0,
                  options: dict | None = None, inputs: dict | None = None) -> dict:
    """Write every output of one video, ``summary.json`` last; return the summary.

    ``inputs`` (:func:`.output_reuse.run_inputs`) is recorded for the next run's reuse
    check. An earlier run's ``summary.json`` is removed first (a crash now leaves no
    summary, so nothing is taken as complete), and its outputs this run does not
    write again (``features.*``) after.
    """
    old_files = _listed_files(out_dir)
    summary_path = os.path.join(out_dir, SUMMARY)
    if os.path.lexists(summary_path):
        os.remove(summary_path)
    table = frame_table(scores, smooth)
    files = [write_frames_csv(os.path.join(out_dir, 'frames.csv'), scores, table),
             write_segments_csv(os.path.join(out_dir, 'segments.csv'), scores, table),
             write_timeline_png(os.path.join(out_dir, 'timeline.png'), scores, table)]
    if scores.features is not None:
        files += write_features(out_dir, scores)
    summary = dict(video=os.path.abspath(scores.path), num_frames=scores.num_frames,
                   declared_frames=scores.declared_frames, decode_error=scores.decode_error,
                   fps=scores.fps, windows=len(scores.starts), tracks=list(scores.tracks),
                   files=[os.path.basename(f) for f in files], options=options or {},
                   time_source='timestamps' if scores.frame_times is not None else 'fps',
                   inputs=inputs)
    write_json(summary_path, summary)
    for name in set(old_files) - set(summary['files']):
        if name in KNOWN_OUTPUTS and os.path.isfile(os.path.join(out_dir, name)):
            os.remove(os.path.join(out_dir, name))
    return summary


def read_summary(out_dir: str) -> dict | None:
    """The summary of complete outputs (it and every file it lists exist), else None."""
    try:
        with open(os.path.join(out_dir, SUMMARY)) as f:
            summary = json.load(f)
        files = summary['files']
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all(os.path.isfile(os.path.join(out_dir, name)) for name in files):
        return None
    return summary


def _listed_files(out_dir: str) -> list[str]:
    try:
        with open(os.path.join(out_dir, SUMMARY)) as f:
            return [str(n) for n in json.load(f)['files']]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def outputs_complete(out_dir: str, features: bool = False) -> bool:
    """True when ``summary.json`` and every file it lists exist (and features if asked)."""
    summary = read_summary(out_dir)
    return summary is not None and (not features or 'features.npy' in summary['files'])


def reuse_check(out_dir: str, inputs: dict) -> tuple[bool, list[str]]:
    """``(reusable, why not)``: complete outputs made from the same ``inputs``."""
    summary = read_summary(out_dir)
    if summary is None:
        return False, []
    differences = input_differences(summary.get('inputs'), inputs)
    return not differences, differences
