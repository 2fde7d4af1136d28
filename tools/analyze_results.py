"""Error analysis of ``tools/test.py --dump`` predictions: tables, confusion PNG, errors.

    python tools/test.py CFG CKPT --dump work_dirs/x/results.pkl
    python tools/analyze_results.py work_dirs/x/results.pkl --config CFG \
        --out-dir work_dirs/x/analysis [--group-by person scenario]

With ``--config`` the test dataset is rebuilt (no decoding) to give class names and each
sample's metadata (file, person, scenario, frame range) in test order; without it only
the metadata kept by ``PackActionInputs(meta_keys=...)`` is available. Writes
``summary.md``, ``per_class.csv``, ``per_<key>.csv``, ``confusion_matrix.{csv,png}`` and
``misclassified.csv`` (with top-k predictions). A dual-hand dump (samples with a
``hand``) gets one per-class table and confusion matrix per hand (``per_class_lh.csv``,
``confusion_matrix_lh.{csv,png}``, ...) and the mean class top-1 that ``tools/test.py``
prints (``HandAccMetric``: the mean over hands of each hand's mean class top-1).
"""
from __future__ import annotations

import argparse
import sys

from mmengine.config import Config, DictAction

import mmaction_ext  # noqa: F401
from mmaction_ext.evaluation.error_analysis import analyze
from mmaction_ext.evaluation.safe_results import UnsafeResultsError, load_results
from mmaction_ext.fileio.list_reader import path_problem
from mmaction_ext.utils.cli import run_tool


def dataset_infos(config: str, cfg_options: dict | None = None
                  ) -> tuple[list[dict], list | dict]:
    """The test dataset's per-sample infos and class names, built without a pipeline."""
    from mmaction.registry import DATASETS
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    dataset_cfg = cfg.test_dataloader.dataset.copy()
    dataset_cfg['pipeline'] = []
    dataset = DATASETS.build(dataset_cfg)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    classes = dataset.metainfo.get('classes') or []
    # HAViDDataset: {hand: names}, each hand its own classes
    return infos, dict(classes) if isinstance(classes, dict) else list(classes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('results', help='.pkl written by tools/test.py --dump')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--config', help='the test config (adds names and metadata)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides for --config, as given to tools/test.py')
    parser.add_argument('--classes', nargs='+', help='class names (else from the config)')
    parser.add_argument('--group-by', nargs='+',
                        help='metadata keys to tabulate (default: person/scenario/hand '
                             'when present)')
    parser.add_argument('--topk', type=int, default=3)
    parser.add_argument('--aggregate-by', metavar='KEY',
                        help='average scores over samples sharing KEY first, e.g. video_id '
                             '(per-video accuracy from KTH sub-sequences)')
    parser.add_argument('--verbose', action='store_true', help='tracebacks of errors')
    args = parser.parse_args(argv)
    problem = path_problem(args.results)
    if problem:
        raise SystemExit(f'error: results {args.results}: {problem}; run tools/test.py '
                         'CONFIG CHECKPOINT --dump FILE')
    try:
        results = load_results(args.results)  # never unpickles code
    except UnsafeResultsError as err:
        raise SystemExit(f'error: {err}') from None
    infos, names = (dataset_infos(args.config, args.cfg_options) if args.config
                    else (None, None))
    names = args.classes or names or None
    summary = analyze(results, args.out_dir, names, args.group_by, infos, args.topk,
                      args.aggregate_by)
    print(f'{summary["samples"]} samples, top-1 {summary["top1"]:.4f}, mean class top-1 '
          f'{summary["mean_class_top1"]:.4f}{" (mean over hands)" if "hands" in summary else ""}'
          f', {summary["misclassified"]} misclassified')
    for hand, numbers in summary.get('hands', {}).items():
        print(f'  {hand}: {numbers["samples"]} samples, top-1 {numbers["top1"]:.4f}, '
              f'mean class top-1 {numbers["mean_class_top1"]:.4f}')
    for name, path in summary['paths'].items():
        print(f'{name}: {path}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
