"""Check an extracted KTH tree and write list files for KTHDataset / VideoDataset.

    python tools/prepare_kth.py data/kth --sequences data/kth/00sequences.txt --check-decode
    python tools/prepare_kth.py data/kth --custom train=1-16 test=17-25   # disjoint

Prints counts per class x scenario and per person, the missing files (the known missing
person13_handclapping_d3 is expected) and, with ``--check-decode``, unreadable and
truncated files. Writes ``kth_<split>_videos.txt`` (``<action>/<file> <label>``) per
split and, with ``--sequences``, ``kth_<split>_subsequences.txt``
(``<action>/<file> <label> <start> <end>``, 1-based inclusive). Exit status 1 when an
expected file is missing or unreadable.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
from collections import Counter

from mmaction_ext.datasets.kth.kth_meta import (
    KTH_CLASSES,
    KTH_MISSING,
    KTH_PERSONS,
    KTH_SCENARIOS,
    KTH_SPLITS,
    KTHFormatError,
    parse_kth_name,
    parse_persons,
)
from mmaction_ext.datasets.kth.kth_sequences import load_sequences_file
from mmaction_ext.datasets.kth.kth_tree import missing_videos, scan_kth_tree
from mmaction_ext.fileio import FileWriteError, write_json, write_lines
from mmaction_ext.utils.cli import run_tool

OFFICIAL = ('train', 'val', 'test', 'trainval')


def count_videos(found: dict[str, str]) -> dict[str, Counter]:
    """Counts of found videos per class, person, scenario and class x scenario."""
    counts = {'class': Counter(), 'person': Counter(), 'scenario': Counter(),
              'class_scenario': Counter()}
    for video_id in found:
        video = parse_kth_name(video_id)
        counts['class'][video.action] += 1
        counts['person'][video.person] += 1
        counts['scenario'][video.scenario] += 1
        counts['class_scenario'][(video.action, video.scenario)] += 1
    return counts


def probe_video(path: str) -> dict:
    """Frames a decoder can read vs the count the file's header declares.

    ``decodable`` is decord's count (it re-indexes a cut file) after reading the last
    frame; ``declared`` is OpenCV's header count. ``error`` is set when nothing decodes.
    """
    import cv2
    import decord
    result = {'declared': None, 'decodable': 0, 'error': None}
    capture = cv2.VideoCapture(path)
    if capture.isOpened():
        result['declared'] = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    try:
        reader = decord.VideoReader(path)
        count = len(reader)
        if count == 0:
            raise RuntimeError('no frames')
        reader[count - 1].asnumpy()
        result['decodable'] = count
    except Exception as exc:  # decord raises its own DECORDError and RuntimeError
        result['error'] = f'{type(exc).__name__}: {str(exc).splitlines()[0][:200]}'
    return result


def check_decoding(root: str, found: dict[str, str], progress: bool = True) -> dict:
    """Probe every found video (with a progress bar); returns per-video probe results."""
    from tqdm import tqdm
    items = sorted(found.items())
    results = {}
    for video_id, relpath in tqdm(items, desc='decoding check', unit='video',
                                  disable=not progress):
        results[video_id] = probe_video(osp.join(root, relpath))
    return results


def split_persons(custom: list[str] | None) -> dict[str, tuple[int, ...]]:
    """Official splits, or ``name=persons`` pairs such as ``train=1-16``.

    Custom splits must not share a person: a person in two splits puts the same videos
    in both lists (a test set that was trained on).
    """
    if not custom:
        return {name: KTH_SPLITS[name] for name in OFFICIAL}
    splits: dict[str, tuple[int, ...]] = {}
    for item in custom:
        name, sep, spec = item.partition('=')
        if not sep or not name:
            raise KTHFormatError(f'--custom {item!r}: expected name=persons, e.g. train=1-16')
        if name in splits:
            raise KTHFormatError(f'--custom: split {name!r} is given twice; give each split '
                                 'once (e.g. train=1-8,11)')
        splits[name] = parse_persons(spec)
    owner: dict[int, str] = {}
    for name, persons in splits.items():
        for person in persons:
            if person in owner:
                shared = sorted(set(persons) & set(splits[owner[person]]))
                raise KTHFormatError(
                    f'--custom: persons {format_persons(shared)} are in both '
                    f'{owner[person]!r} and {name!r}; give each person to one split')
            owner[person] = name
    return splits


def format_persons(persons: list[int]) -> str:
    """``[10, 11, 12, 16]`` as ``10-12,16`` (the form --custom takes)."""
    runs: list[list[int]] = []
    for person in sorted(persons):
        if runs and person == runs[-1][-1] + 1:
            runs[-1].append(person)
        else:
            runs.append([person])
    return ','.join(f'{r[0]}-{r[-1]}' if len(r) > 1 else str(r[0]) for r in runs)


def write_lists(out_dir: str, found: dict[str, str], splits: dict[str, tuple[int, ...]],
                sequences: dict | None = None) -> dict[str, str]:
    """Write one video list (and one sub-sequence list) per split; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for name, persons in splits.items():
        videos, subs = [], []
        for video_id, relpath in sorted(found.items()):
            video = parse_kth_name(video_id)
            if video.person not in persons:
                continue
            videos.append(f'{relpath} {video.label}')
            if sequences is not None:
                for start, end in sequences.get(video_id) or []:
                    subs.append(f'{relpath} {video.label} {start} {end}')
        written[name] = _write(osp.join(out_dir, f'kth_{name}_videos.txt'), videos)
        if sequences is not None:
            written[f'{name}_subsequences'] = _write(
                osp.join(out_dir, f'kth_{name}_subsequences.txt'), subs)
    return written


def _write(path: str, lines: list[str]) -> str:
    """Replace ``path`` atomically: a crash leaves the previous list, never half of one."""
    return write_lines(path, lines)


def format_tables(counts: dict[str, Counter]) -> str:
    """Class x scenario table and a per-person line, as plain text."""
    head = f'{"class":<14}' + ''.join(f'{s:>5}' for s in KTH_SCENARIOS) + f'{"total":>7}'
    rows = [head]
    for action in KTH_CLASSES:
        cells = ''.join(f'{counts["class_scenario"][(action, s)]:>5}' for s in KTH_SCENARIOS)
        rows.append(f'{action:<14}{cells}{counts["class"][action]:>7}')
    total = sum(counts['class'].values())
    cells = ''.join(f'{counts["scenario"][s]:>5}' for s in KTH_SCENARIOS)
    rows.append(f'{"total":<14}{cells}{total:>7}')
    rows.append('per person: ' + ', '.join(
        f'{p:02d}:{counts["person"][p]}' for p in KTH_PERSONS if counts['person'][p]))
    return '\n'.join(rows)


def build_report(root: str, sequences_file: str | None, decode: bool,
                 progress: bool = True) -> dict:
    """Everything the tool checks, as a JSON-able dict (raises on malformed names)."""
    notes: list[str] = []
    found = scan_kth_tree(root, notes)
    counts = count_videos(found)
    report = {
        'root': root, 'videos': len(found), 'notes': notes,
        'counts': {k: {str(key): v for key, v in c.items()} for k, c in counts.items()},
        'missing': [v.relpath for v in missing_videos(found)],
        'known_missing_absent': sorted(KTH_MISSING - set(found)),
        'unreadable': {}, 'truncated': {}, 'sequences': None,
    }
    probes = check_decoding(root, found, progress) if decode else {}
    for video_id, probe in probes.items():
        if probe['error']:
            report['unreadable'][found[video_id]] = probe['error']
        elif probe['declared'] and probe['decodable'] < probe['declared']:
            report['truncated'][found[video_id]] = dict(
                declared=probe['declared'], decodable=probe['decodable'])
    if sequences_file:
        table = load_sequences_file(sequences_file)
        no_line = sorted(v for v in found if v not in table)
        past_end = {}
        for video_id, probe in probes.items():
            ranges = table.get(video_id) or []
            if probe['decodable'] and ranges and max(e for _, e in ranges) > probe['decodable']:
                past_end[found[video_id]] = dict(
                    last_range_frame=max(e for _, e in ranges), decodable=probe['decodable'])
        report['sequences'] = dict(
            file=sequences_file, videos=len(table),
            subsequences=sum(len(table.get(v) or []) for v in found),
            videos_without_line=no_line, ranges_past_decodable_end=past_end)
    report['counts_text'] = format_tables(counts)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help='extracted KTH tree: <root>/<action>/*.avi')
    parser.add_argument('--out-dir', help='where list files go (default: root)')
    parser.add_argument('--sequences', help='00sequences.txt: also write sub-sequence lists')
    parser.add_argument('--custom', nargs='+', metavar='NAME=PERSONS',
                        help='custom person splits, e.g. train=1-16 test=17-25 '
                             '(default: the official train/val/test/trainval)')
    parser.add_argument('--check-decode', action='store_true',
                        help='open every video: report unreadable and truncated files')
    parser.add_argument('--report', help='also write the report as JSON here')
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument('--verbose', action='store_true', help='tracebacks of errors')
    args = parser.parse_args(argv)
    try:
        splits = split_persons(args.custom)  # before the (slow) scan: fail fast
        report = build_report(args.root, args.sequences, args.check_decode,
                              progress=not args.no_progress)
    except (KTHFormatError, FileNotFoundError) as exc:
        if args.verbose:
            raise
        print(f'error: {exc}', file=sys.stderr)
        return 1
    sequences = load_sequences_file(args.sequences) if args.sequences else None
    # Unreadable files stay out of the lists: training on them would crash.
    usable = {k: v for k, v in scan_kth_tree(args.root).items()
              if v not in report['unreadable']}
    written = write_lists(args.out_dir or args.root, usable, splits, sequences)
    for note in report['notes']:
        print(f'note: {note}')
    print(f'{report["videos"]} videos under {args.root}')
    print(report['counts_text'])
    print(f'known missing (expected): {", ".join(report["known_missing_absent"]) or "none"}')
    for key in ('missing', 'unreadable', 'truncated'):
        items = report[key]
        print(f'{key}: {len(items)}')
        for item in (items if isinstance(items, list) else items.items()):
            print(f'  {item}')
    if report['sequences']:
        seq = report['sequences']
        print(f'sub-sequences: {seq["subsequences"]} (from {seq["file"]})')
        for item in seq['videos_without_line']:
            print(f'  no sequences line: {item}')
        for path, info in seq['ranges_past_decodable_end'].items():
            print(f'  ranges past the decodable end (clipped at load time): {path} {info}')
    for path in written.values():
        print(f'wrote {path}')
    if args.report:
        try:
            write_json(args.report, report)
        except FileWriteError as err:
            raise SystemExit(f'error: {err}') from err
    return 1 if report['missing'] or report['unreadable'] else 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
