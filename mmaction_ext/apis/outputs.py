"""Per-video output files of sliding-window inference, each written atomically.

``DIR/<video stem>/``: ``frames.csv``, ``segments.csv``, ``timeline.png``, with
features ``features.npy`` + ``features.json``, and ``summary.json`` last: its presence
(with the files it lists) marks the outputs complete, so a rerun after a crash skips
finished videos and redoes the rest; a crash leaves whole files or none.
"""
from __future__ import annotations

import csv
import io
import json
import os

import numpy as np

from mmaction_ext.fileio.atomic_local_backend import atomic_write_bytes

from .sliding_window import VideoScores
from .timeline import label_runs

SUMMARY = 'summary.json'
# the ``hand`` column of a one-head model's segments.csv
ONE_HEAD_TRACK = 'label'


def _write(path: str, data: bytes) -> str:
    atomic_write_bytes(data, path)
    os.chmod(path, 0o644)  # mkstemp's 0600 would hide results from other users
    return path


def _csv_bytes(header: list[str], rows) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode()


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
    rows = []
    for i in range(scores.num_frames):
        row = [i, f'{i / scores.fps:.3f}']
        for t in tracks:
            row += [int(table[t][0][i]), f'{table[t][1][i]:.4f}']
        rows.append(row)
    return _write(path, _csv_bytes(header, rows))


def segment_rows(scores: VideoScores, table: dict) -> list[list]:
    """Rows of segments.csv: one per run of equal labels per track."""
    rows = []
    for t in scores.tracks:
        labels, label_scores = table[t]
        for label, first, last in label_runs(labels):
            rows.append([t, first, last, f'{first / scores.fps:.3f}',
                         f'{(last + 1) / scores.fps:.3f}', label,
                         scores.class_names[t][label],
                         f'{label_scores[first:last + 1].mean():.4f}'])
    return rows


def write_segments_csv(path: str, scores: VideoScores, table: dict) -> str:
    header = ['hand', 'start_frame', 'end_frame', 'start_s', 'end_s', 'label',
              'class_name', 'mean_score']
    return _write(path, _csv_bytes(header, segment_rows(scores, table)))


def write_features(out_dir: str, scores: VideoScores) -> list[str]:
    """``features.npy`` ``(D, W)`` float32 and ``features.json`` (window centres)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(scores.features.T.astype(np.float32)))
    meta = dict(window_centres=scores.centres.tolist(), window_starts=scores.starts.tolist(),
                window_ends=(scores.spans[:, 1] - 1).tolist(), fps=scores.fps,
                num_frames=scores.num_frames, layout='(feature_dim, num_windows)')
    return [_write(os.path.join(out_dir, 'features.npy'), buf.getvalue()),
            _write(os.path.join(out_dir, 'features.json'),
                   json.dumps(meta, indent=1).encode())]


def write_timeline_png(path: str, scores: VideoScores, table: dict) -> str:
    """One colour strip per track over time (minutes:seconds), class names in a legend."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter
    tracks = scores.tracks
    duration = scores.num_frames / scores.fps
    fig, axes = plt.subplots(len(tracks), 1, figsize=(16, 1.2 + 1.1 * len(tracks)),
                             squeeze=False, sharex=True)
    for ax, t in zip(axes[:, 0], tracks):
        names = scores.class_names[t]
        cmap = plt.get_cmap('tab20' if len(names) > 10 else 'tab10')
        labels = table[t][0]
        # one image row: exact at any length, cheap for thousands of segments
        ax.imshow(labels[None, :], aspect='auto', cmap=cmap, vmin=-0.5,
                  vmax=cmap.N - 0.5, interpolation='nearest',
                  extent=(0, duration, 0, 1))
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
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=100)
    plt.close(fig)
    return _write(path, buf.getvalue())


def write_outputs(out_dir: str, scores: VideoScores, smooth: int = 0,
                  options: dict | None = None) -> dict:
    """Write every output of one video, ``summary.json`` last; return the summary."""
    os.makedirs(out_dir, exist_ok=True)
    table = frame_table(scores, smooth)
    files = [write_frames_csv(os.path.join(out_dir, 'frames.csv'), scores, table),
             write_segments_csv(os.path.join(out_dir, 'segments.csv'), scores, table),
             write_timeline_png(os.path.join(out_dir, 'timeline.png'), scores, table)]
    if scores.features is not None:
        files += write_features(out_dir, scores)
    summary = dict(video=os.path.abspath(scores.path), num_frames=scores.num_frames,
                   declared_frames=scores.declared_frames, decode_error=scores.decode_error,
                   fps=scores.fps, windows=len(scores.starts), tracks=list(scores.tracks),
                   files=[os.path.basename(f) for f in files], options=options or {})
    _write(os.path.join(out_dir, SUMMARY), json.dumps(summary, indent=1).encode())
    return summary


def outputs_complete(out_dir: str, features: bool = False) -> bool:
    """True when ``summary.json`` and every file it lists exist (and features if asked)."""
    try:
        with open(os.path.join(out_dir, SUMMARY)) as f:
            files = json.load(f)['files']
    except (OSError, ValueError, KeyError):
        return False
    if features and 'features.npy' not in files:
        return False
    return all(os.path.isfile(os.path.join(out_dir, name)) for name in files)
