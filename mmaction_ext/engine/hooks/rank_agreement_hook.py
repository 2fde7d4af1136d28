"""Every rank of a distributed run must see the same dataset and (when testing) weights.

Each rank builds its own dataset from its own copy of the list files. If one copy differs
(a relabelled line, a missing clip, another class list), DDP trains and evaluates over
mixed labels and exits 0: nothing upstream compares what the ranks read. This hook
compares a fingerprint of every built dataset across ranks before anything runs, and of
the loaded weights before testing, and refuses a disagreement, naming the samples.
"""
from __future__ import annotations

import hashlib

import torch
from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop

from mmaction_ext.utils.dist import first_disagreement, gather_from_ranks

from .run_identity import describe_sample_changes, records_digest, sample_records

SPLITS = (('train', '_train_loop'), ('val', '_val_loop'), ('test', '_test_loop'))


class RankDisagreementError(RuntimeError):
    """Ranks of one distributed run read different data or hold different weights."""


def _source(dataset) -> str:
    ann = getattr(dataset, 'ann_file', None) or getattr(dataset, 'ann_files', None)
    return f' (list {ann})' if ann else ''


def _classes(dataset):
    meta = getattr(dataset, 'metainfo', None) or {}
    classes = meta.get('classes')
    return (tuple(classes) if classes is not None else None, repr(meta.get('num_classes')))


def weights_digest(model) -> str:
    """Hash of every parameter and buffer, bit for bit, in state-dict order."""
    digest = hashlib.sha1()
    for key, tensor in model.state_dict().items():
        digest.update(key.encode())
        if tensor.numel():
            raw = tensor.detach().cpu().contiguous().view(-1).view(torch.uint8)
            digest.update(raw.numpy().tobytes())
    return digest.hexdigest()[:16]


def check_dataset_agrees(split: str, dataset) -> None:
    """Raise :class:`RankDisagreementError` unless every rank built the same samples."""
    records = sample_records(dataset)
    summary = (len(records), records_digest(records), _classes(dataset))
    summaries = gather_from_ranks(summary)
    rank = first_disagreement(summaries)
    if rank is None:
        return
    everyone = gather_from_ranks(records)  # every rank saw the same mismatch: all gather
    ours, theirs = summaries[0], summaries[rank]
    if ours[0] != theirs[0]:
        head = (f'the {split} dataset has {ours[0]} samples on rank 0 but {theirs[0]} on '
                f'rank {rank}{_source(dataset)}; each rank read a different list (this is not '
                'a sampler problem)')
    elif ours[2] != theirs[2]:
        head = (f'the {split} dataset has other classes on rank {rank} than on rank 0: '
                f'{theirs[2]} vs {ours[2]}{_source(dataset)}')
    else:
        head = f'the {split} dataset differs between rank 0 and rank {rank}{_source(dataset)}'
    detail = describe_sample_changes(everyone[0], everyone[rank], 'on rank 0', f'on rank {rank}')
    raise RankDisagreementError(
        f'{head}: {detail}. Every rank must read identical lists and videos (a shared '
        'folder, or copies checked with sha256sum); otherwise the ranks train and score '
        'on mixed labels.')


@HOOKS.register_module()
class RankAgreementHook(Hook):
    """Compare datasets across ranks before the run, and weights before testing."""

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        if runner.world_size == 1:
            return
        for split, attribute in SPLITS:
            loop = getattr(runner, attribute, None)
            if isinstance(loop, BaseLoop) and getattr(loop, 'dataloader', None) is not None:
                check_dataset_agrees(split, loop.dataloader.dataset)

    def before_test(self, runner) -> None:
        if runner.world_size == 1:
            return
        model = getattr(runner.model, 'module', runner.model)
        digests = gather_from_ranks(weights_digest(model))
        rank = first_disagreement(digests)
        if rank is not None:
            raise RankDisagreementError(
                f'rank {rank} tests other weights than rank 0 (digest {digests[rank]} vs '
                f'{digests[0]}): each rank loaded a different checkpoint file, so the scores '
                'would mix two models. Give every rank the same checkpoint.')
