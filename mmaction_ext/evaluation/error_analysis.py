"""Error analysis of a test run, measured from ``tools/test.py --dump`` predictions.

Accuracy per class and per any metadata key (person, scenario, hand, ...), the
confusion matrix (MMAction2's ``ConfusionMatrix``) and the misclassified samples with
their top-k predictions. Pure functions over a ``pandas.DataFrame`` so other datasets
(e.g. the dual-hand one, grouping by ``hand``) reuse them.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Any, Mapping, Sequence, Union

import numpy as np
import pandas as pd

from mmaction_ext.fileio import write_figure_png, write_text

PREDICTION_KEYS = ('pred_score', 'pred_label', 'gt_label')


class AnalysisInputError(ValueError):
    """The dump, the dataset or the class names do not fit together (a user error)."""


class UnknownMetadataKeyError(KeyError):
    """A ``--group-by``/``--aggregate-by`` key that the predictions do not carry."""
# Bookkeeping fields of MMAction2 samples that say nothing about an error.
NOISE_KEYS = ('label', 'sample_idx', 'modality', 'start_index', 'num_classes')


def _array(value: Any) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _scalar(value: Any) -> Any:
    """Plain Python value for a table cell (tensors/arrays of one element unwrapped)."""
    if hasattr(value, 'detach') or isinstance(value, np.ndarray):
        array = _array(value)
        return array.item() if array.size == 1 else tuple(array.tolist())
    if isinstance(value, list):
        return tuple(value)
    return value


def predictions_frame(results: Sequence[dict], infos: Sequence[dict] | None = None,
                      topk: int = 3) -> pd.DataFrame:
    """One row per sample: ``gt``, ``pred``, ``correct``, ``score``, ``top{k}``, metadata.

    Args:
        results: the dumped list (one dict per sample, test order), each with
            ``pred_score`` (C,) and ``gt_label``, plus whatever metadata the pipeline's
            ``PackActionInputs(meta_keys=...)`` kept.
        infos: the test dataset's ``get_data_info(i)`` dicts, in the same order, to add
            metadata the dump lacks (e.g. ``filename``, ``person``).
    """
    if infos is not None and len(infos) != len(results):
        raise AnalysisInputError(f'the dump has {len(results)} samples but the dataset has '
                         f'{len(infos)}: pass the config the predictions were made with')
    rows = []
    first_of: dict[Any, tuple[int, int]] = {}  # per hand: (dump position, class count)
    seen_idx: dict[int, int] = {}
    for index, result in enumerate(results):
        if 'pred_score' not in result or 'gt_label' not in result:
            raise AnalysisInputError(f'sample {index} of the dump has no pred_score/gt_label; '
                             'dump a single-label recognition test (tools/test.py --dump)')
        scores = _array(result['pred_score']).astype(float).reshape(-1)
        order = np.argsort(-scores, kind='stable')[:topk]
        gt = int(_array(result['gt_label']).reshape(-1)[0])
        _check_sample(index, result, scores.size, gt, first_of, seen_idx,
                      infos[index] if infos is not None else None)
        row = {'index': index, 'gt': gt, 'pred': int(order[0]), 'correct': gt == order[0],
               'score': float(scores[order[0]]), f'top{topk}': tuple(int(i) for i in order),
               f'top{topk}_scores': tuple(round(float(scores[i]), 4) for i in order),
               'num_classes': scores.size, 'scores': tuple(scores.tolist())}
        meta = dict(infos[index]) if infos is not None else {}
        meta.update({k: v for k, v in result.items() if k not in PREDICTION_KEYS})
        for key, value in meta.items():
            if key not in row and key not in NOISE_KEYS and not isinstance(value, dict):
                row[key] = _scalar(value)
        rows.append(row)
    return pd.DataFrame(rows)


def _check_sample(index: int, result: dict, num_scores: int, gt: int,
                  first_of: dict, seen_idx: dict, info: dict | None) -> None:
    """Refuse a dump that does not describe one test run: mixed class counts (per hand),
    a label beyond the scores, a sample scored twice, labels that disagree with the
    dataset the config builds."""
    hand = result.get('hand')
    where, count = first_of.setdefault(hand, (index, num_scores))
    side = f' of hand {hand}' if hand is not None else ''
    if count != num_scores:
        raise AnalysisInputError(
            f'sample {where}{side} has {count} class scores but sample {index} has '
            f'{num_scores}: the dump mixes models or runs; analyse one tools/test.py --dump')
    if not 0 <= gt < num_scores:
        raise AnalysisInputError(
            f'sample {index}{side}: label {gt} but only {num_scores} class scores; the '
            'dump does not come from one model on this label set')
    if 'sample_idx' in result:
        idx = int(_array(result['sample_idx']).reshape(-1)[0])
        if idx in seen_idx:
            raise AnalysisInputError(
                f'sample_idx {idx} is scored twice (dump positions {seen_idx[idx]} and '
                f'{index}): were two dumps joined? analyse one tools/test.py --dump')
        seen_idx[idx] = index
    if info is not None and 'label' in info and not isinstance(info['label'], dict):
        label = int(_array(info['label']).reshape(-1)[0])
        if label != gt:
            name = info.get('filename', f'sample {index}')
            raise AnalysisInputError(
                f'{name}: label {label} in the dataset of --config but {gt} in the dump '
                f'(position {index}): pass the config the predictions were made with')


def aggregate(frame: pd.DataFrame, key: str, topk: int = 3) -> pd.DataFrame:
    """One row per value of ``key`` (e.g. ``video_id``: all sub-sequences of a video),
    scores averaged, as in per-video KTH protocols; other columns keep the first value."""
    if key not in frame.columns:
        raise UnknownMetadataKeyError(f'no {key!r} in the predictions; available: '
                                      f'{sorted(frame.columns)}')
    rows = []
    for value, group in frame.groupby(key, sort=False):
        if group['gt'].nunique() != 1:
            raise AnalysisInputError(f'{key}={value!r} groups samples of different labels')
        scores = np.mean(np.stack([np.asarray(s) for s in group['scores']]), axis=0)
        order = np.argsort(-scores, kind='stable')[:topk]
        row = group.iloc[0].to_dict()
        row.update(index=int(group['index'].iloc[0]), pred=int(order[0]),
                   correct=bool(order[0] == row['gt']), score=float(scores[order[0]]),
                   scores=tuple(scores.tolist()), samples_merged=len(group))
        row[f'top{topk}'] = tuple(int(i) for i in order)
        row[f'top{topk}_scores'] = tuple(round(float(scores[i]), 4) for i in order)
        rows.append(row)
    return pd.DataFrame(rows)


def accuracy_by(frame: pd.DataFrame, key: str, names: Sequence[str] | None = None
                ) -> pd.DataFrame:
    """Samples, correct and top-1 accuracy per value of ``key`` (``names`` label ints)."""
    if key not in frame.columns:
        raise UnknownMetadataKeyError(f'no {key!r} in the predictions; available: '
                                      f'{sorted(frame.columns)}')
    table = frame.groupby(key, sort=True)['correct'].agg(samples='size', correct='sum')
    table['top1'] = table['correct'] / table['samples']
    table = table.reset_index()
    if names is not None:
        table.insert(1, 'name', [names[int(v)] for v in table[key]])
    return table


def confusion_matrix(frame: pd.DataFrame, num_classes: int) -> np.ndarray:
    """Rows: true class; columns: predicted class (MMAction2's ``ConfusionMatrix``)."""
    from mmaction.evaluation import ConfusionMatrix
    matrix = ConfusionMatrix.calculate(frame['pred'].to_numpy(), frame['gt'].to_numpy(),
                                       num_classes=num_classes)
    return _array(matrix)


def plot_confusion(matrix: np.ndarray, names: Sequence[str], path: str) -> str:
    """Save the confusion matrix (counts in the cells) as a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import torch
    from mmaction.evaluation import ConfusionMatrix
    fig = ConfusionMatrix.plot(torch.as_tensor(matrix), include_values=True,
                               classes=list(names), show=False)
    return write_figure_png(path, fig, dpi=100, bbox_inches='tight')


def misclassified(frame: pd.DataFrame, names: Sequence[str], topk: int = 3) -> pd.DataFrame:
    """The wrong predictions, most confident first, with their top-k class names."""
    wrong = frame[~frame['correct']].sort_values('score', ascending=False)
    top, top_scores = wrong[f'top{topk}'], wrong[f'top{topk}_scores']
    out = wrong.drop(columns=[f'top{topk}', f'top{topk}_scores', 'correct', 'num_classes',
                              'scores'])
    out.insert(1, 'true', [names[i] for i in wrong['gt']])
    out.insert(2, 'predicted', [names[i] for i in wrong['pred']])
    out[f'top{topk}'] = [', '.join(f'{names[c]} {s:.2f}' for c, s in zip(cs, ss))
                         for cs, ss in zip(top, top_scores)]
    return out.reset_index(drop=True)


def to_markdown(table: pd.DataFrame, float_format: str = '{:.4f}') -> str:
    """A GitHub-style markdown table (no extra dependency)."""
    def cell(value: Any) -> str:
        return float_format.format(value) if isinstance(value, float) else str(value)
    lines = ['| ' + ' | '.join(str(c) for c in table.columns) + ' |',
             '|' + '---|' * len(table.columns)]
    lines += ['| ' + ' | '.join(cell(v) for v in row) + ' |'
              for row in table.itertuples(index=False)]
    return '\n'.join(lines)


Names = Union[Sequence[str], Mapping[str, Sequence[str]], None]


def _hand_names(names: Names, hand: str | None, num_classes: int) -> list[str]:
    """Class names of one hand (``names`` per hand, shared, or absent: the indices)."""
    if isinstance(names, Mapping):
        if hand not in names:
            raise AnalysisInputError(f'class names given for hands {sorted(names)}, not {hand!r}')
        names = names[hand]
    names = list(names) if names is not None else [str(i) for i in range(num_classes)]
    if len(names) != num_classes:
        where = f' of hand {hand!r}' if hand else ''
        raise AnalysisInputError(f'{len(names)} class names for {num_classes}-class predictions'
                         f'{where}')
    return names


def _class_tables(frame: pd.DataFrame, names: list[str], out_dir: str, suffix: str,
                  title: str, paths: dict[str, str], sections: list[str]) -> float:
    """Per-class CSV and confusion matrix (CSV, PNG) of one hand; its mean class top-1.

    The mean is over the classes present in the ground truth, as ``HandAccMetric``'s
    ``mean_class_accuracy`` (``mean_class_recall``), so the figures agree with test.py.
    """
    per_class = accuracy_by(frame, 'gt', names).rename(columns={'gt': 'label'})
    paths[f'per_class{suffix}'] = osp.join(out_dir, f'per_class{suffix}.csv')
    write_text(paths[f'per_class{suffix}'], per_class.to_csv(index=False))
    sections.append(f'## Per class{title}\n\n' + to_markdown(per_class))
    matrix = confusion_matrix(frame, len(names))
    paths[f'confusion_csv{suffix}'] = osp.join(out_dir, f'confusion_matrix{suffix}.csv')
    write_text(paths[f'confusion_csv{suffix}'],
               pd.DataFrame(matrix, index=names, columns=names).to_csv())
    paths[f'confusion_png{suffix}'] = plot_confusion(
        matrix, names, osp.join(out_dir, f'confusion_matrix{suffix}.png'))
    sections.append(f'## Confusion matrix{title} (rows: true, columns: predicted)\n\n'
                    + to_markdown(pd.DataFrame(matrix, columns=names).assign(true=names)[
                        ['true', *names]]))
    return float(per_class['top1'].mean())


def analyze(results: Sequence[dict], out_dir: str, names: Names = None,
            group_by: Sequence[str] | None = None, infos: Sequence[dict] | None = None,
            topk: int = 3, aggregate_by: str | None = None) -> dict:
    """Write per-class / per-key tables (CSV + ``summary.md``), the confusion matrix
    (CSV + PNG) and ``misclassified.csv``; returns the summary numbers and paths.

    ``group_by`` defaults to whichever of ``person``, ``scenario``, ``hand`` the
    predictions carry. ``aggregate_by`` (e.g. ``video_id``) first merges the samples that
    share that key by averaging their scores (per-video accuracy from sub-sequences).

    Predictions with a ``hand`` (a dual-hand model: class k of the left hand is not class
    k of the right) get one per-class table and confusion matrix per hand
    (``per_class_lh.csv``, ``confusion_matrix_lh.csv``, ...), ``names`` may be per hand,
    and ``mean_class_top1`` is the mean over hands of each hand's mean class top-1, the
    figure ``HandAccMetric`` reports as ``hand_acc/mean_mean_class_accuracy``.
    """
    frame = predictions_frame(results, infos, topk)
    if aggregate_by:
        frame = aggregate(frame, aggregate_by, topk)
    hands = sorted(frame['hand'].unique()) if 'hand' in frame.columns else [None]
    parts = {hand: frame if hand is None else frame[frame['hand'] == hand] for hand in hands}
    hand_names = {hand: _hand_names(names, hand, int(part['num_classes'].max()))
                  for hand, part in parts.items()}
    if group_by is None:
        group_by = [k for k in ('person', 'scenario', 'hand') if k in frame.columns]
    os.makedirs(out_dir, exist_ok=True)
    paths: dict[str, str] = {}
    level = f' (scores averaged per {aggregate_by})' if aggregate_by else ''
    sections = [f'# Error analysis\n\nsamples: {len(frame)}{level}, top-1: '
                f'{frame["correct"].mean():.4f}\n']
    mean_class: dict[str | None, float] = {}
    for hand, part in parts.items():
        suffix, title = ('', '') if hand is None else (f'_{hand}', f' ({hand})')
        mean_class[hand] = _class_tables(part, hand_names[hand], out_dir, suffix, title,
                                         paths, sections)
    for key in group_by:
        table = accuracy_by(frame, key)
        paths[f'per_{key}'] = osp.join(out_dir, f'per_{key}.csv')
        write_text(paths[f'per_{key}'], table.to_csv(index=False))
        sections.append(f'## Per {key}\n\n' + to_markdown(table))

    wrong = pd.concat([misclassified(part, hand_names[hand], topk)
                       for hand, part in parts.items()], ignore_index=True)
    wrong = wrong.sort_values('score', ascending=False, kind='stable').reset_index(drop=True)
    paths['misclassified'] = osp.join(out_dir, 'misclassified.csv')
    write_text(paths['misclassified'], wrong.to_csv(index=False))
    shown = [c for c in ('index', 'hand', 'true', 'predicted', 'score', 'filename',
                         'frame_range', f'top{topk}') if c in wrong.columns]
    sections.append(f'## Misclassified ({len(wrong)})\n\n' + to_markdown(wrong[shown]))
    paths['summary'] = osp.join(out_dir, 'summary.md')
    write_text(paths['summary'], '\n\n'.join(sections) + '\n')
    summary = dict(samples=len(frame), top1=float(frame['correct'].mean()),
                   mean_class_top1=float(np.mean(list(mean_class.values()))),
                   misclassified=len(wrong), paths=paths)
    if hands != [None]:
        summary['hands'] = {hand: dict(samples=len(part), top1=float(part['correct'].mean()),
                                       mean_class_top1=mean_class[hand])
                            for hand, part in parts.items()}
    return summary
