"""Record which hand every rank trained on at every iteration."""
from __future__ import annotations

import os.path as osp

from mmaction.registry import HOOKS
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmaction_ext.fileio import append_text


@HOOKS.register_module()
class HandTraceHook(Hook):
    """Append ``<iter> <hand> <sample_idx,...>`` per training iteration to a file per rank.

    The hand is read from the batch's own data samples, not from the schedule, so the
    trace shows what each rank really trained on (used to check DDP lockstep).

    Args:
        filename: file name in the work dir; ``{rank}`` is replaced by the rank.
    """

    priority = 'LOW'

    def __init__(self, filename: str = 'hand_trace_rank{rank}.txt') -> None:
        self.filename = filename
        self.path: str | None = None

    def before_train(self, runner) -> None:
        self.path = osp.join(runner.work_dir, self.filename.format(rank=get_rank()))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        samples = data_batch['data_samples']
        hands = sorted({s.metainfo.get('hand') for s in samples}, key=str)
        ids = ','.join(str(s.metainfo.get('sample_idx')) for s in samples)
        append_text(self.path, f"{runner.iter} {'+'.join(map(str, hands))} {ids}\n")
