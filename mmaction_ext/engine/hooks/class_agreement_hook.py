"""Labels, class counts and class names must agree between lists, heads and checkpoints.

A list line with label 7 read by a 4-class model trains into an index error deep in the
loss, and tests with exit 0: ``AccMetric`` counts the sample as wrong (top-5 of 4 classes
even rises) and the per-class mean averages over a class the head does not have. A
checkpoint trained on other class names evaluates as if its outputs meant this dataset's
classes. This hook checks, before anything runs, every label of every built dataset
against the model's head (per hand for dual-hand models), the dataset's class names or
counts against the head, and, when testing or resuming, the class names the checkpoint
was trained with against the dataset's. Each disagreement names both sides.
"""
from __future__ import annotations

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop

SPLITS = (('train', '_train_loop'), ('val', '_val_loop'), ('test', '_test_loop'))


class ClassMismatchError(ValueError):
    """A label, class count or class name disagrees between two sources."""


def head_classes(model) -> dict | None:
    """``{hand or None: num_classes}`` of the model's classification head(s)."""
    model = getattr(model, 'module', model)
    counts = getattr(model, 'num_classes', None)
    if isinstance(counts, dict):
        return dict(counts)
    head = getattr(model, 'cls_head', None)
    count = getattr(head, 'num_classes', None)
    return {None: int(count)} if isinstance(count, int) else None


def _labels(label) -> list[int]:
    if hasattr(label, 'tolist'):
        label = label.tolist()
    if isinstance(label, (list, tuple)):
        return [int(x) for x in label]
    return [] if label is None else [int(label)]


def _source(dataset) -> str:
    ann = getattr(dataset, 'ann_file', None) or getattr(dataset, 'ann_files', None)
    return f' ({ann})' if ann else ''


def check_labels_fit_head(split: str, dataset, heads: dict) -> None:
    """Every label of ``dataset`` is a class of the head for its hand."""
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        hand = info.get('hand') if None not in heads else None
        count = heads.get(hand)
        if count is None:
            continue
        bad = [x for x in _labels(info.get('label')) if not 0 <= x < count]
        if bad:
            where = f'{hand}_head' if hand else 'cls_head'
            raise ClassMismatchError(
                f"{split} list{_source(dataset)}: {info.get('filename', f'sample {idx}')} has "
                f'label {bad[0]}, but the model\'s {where} has {count} classes (labels 0-'
                f'{count - 1}). Fix the list, or set the head\'s num_classes to the dataset\'s.')


def check_metainfo_fits_head(split: str, dataset, heads: dict) -> None:
    """The dataset's own class names / counts match the head's class count."""
    meta = getattr(dataset, 'metainfo', None) or {}
    declared = {}
    classes, counts = meta.get('classes'), meta.get('num_classes')
    if isinstance(classes, dict):
        declared.update({hand: len(names) for hand, names in classes.items()})
    elif classes is not None:
        declared[None] = len(classes)
    if isinstance(counts, dict):
        declared.update(counts)
    elif isinstance(counts, int):
        declared[None] = counts
    for hand, count in declared.items():
        hand_head = hand if hand in heads else None
        if hand_head in heads and heads[hand_head] != count:
            where = f'{hand_head}_head' if hand_head else 'cls_head'
            raise ClassMismatchError(
                f'{split} dataset{_source(dataset)} has {count} classes'
                f"{f' for hand {hand}' if hand else ''}, the model's {where} has "
                f'{heads[hand_head]}. Make num_classes agree.')


def _names(meta) -> object:
    classes = (meta or {}).get('classes')
    if isinstance(classes, dict):
        return {hand: tuple(names) for hand, names in classes.items()}
    return tuple(classes) if classes is not None else None


def check_checkpoint_classes(checkpoint: dict, split: str, dataset) -> None:
    """The class names the checkpoint was trained with are the dataset's (when both say)."""
    trained = _names((checkpoint.get('meta') or {}).get('dataset_meta'))
    now = _names(getattr(dataset, 'metainfo', None))
    if trained is None or now is None or trained == now:
        return
    raise ClassMismatchError(
        f'the checkpoint was trained with classes {trained!r}, the {split} dataset'
        f'{_source(dataset)} has {now!r}: its outputs would be read as other classes. Use '
        'the checkpoint trained for these classes (or the same class list).')


def built_datasets(runner):
    for split, attribute in SPLITS:
        loop = getattr(runner, attribute, None)
        if isinstance(loop, BaseLoop) and getattr(loop, 'dataloader', None) is not None:
            yield split, loop.dataloader.dataset


@HOOKS.register_module()
class ClassAgreementHook(Hook):
    """Refuse labels outside the head, class counts and names that disagree."""

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        heads = head_classes(runner.model)
        if not heads:
            return
        for split, dataset in built_datasets(runner):
            check_metainfo_fits_head(split, dataset, heads)
            check_labels_fit_head(split, dataset, heads)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        training = isinstance(getattr(runner, '_train_loop', None), BaseLoop)
        if training and not getattr(runner, '_resume', False):
            return  # load_from to fine-tune onto other classes is legitimate
        for split, dataset in built_datasets(runner):
            if split == 'train' or not training:
                check_checkpoint_classes(checkpoint, split, dataset)
