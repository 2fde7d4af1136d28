"""A clip's score must not depend on its batch neighbours: refuse batches of mixed sizes.

MMAction2's ``ActionDataPreprocessor`` stacks a batch with MMEngine's ``stack_batch``,
which zero-pads every clip to the largest one. A test pipeline without a fixed-size crop
lets one 96x192 clip into a batch of 64x128 clips; the model (whose position embedding
interpolates) then scores the other clips with black borders and exits 0 with other
numbers than batch size 1 gives. This hook looks at the batch before the preprocessor
and refuses mixed sizes, naming the file whose clip differs.
"""
from __future__ import annotations

from collections import Counter

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop

from .sample_coverage_hook import expose_sample_idx

REMEDY = ('Give every clip the same size in the pipeline (a fixed Resize with '
          'keep_ratio=False, or a CenterCrop/ThreeCrop of a fixed size), or use batch_size=1.')


class MixedClipSizeError(RuntimeError):
    """One batch holds clips of different shapes, which the preprocessor would zero-pad."""


def _shape(tensor) -> str:
    return 'x'.join(str(n) for n in tensor.shape)


def _describe(dataset, sample, position: int) -> str:
    meta = getattr(sample, 'metainfo', {}) or {}
    idx = meta.get('sample_idx')
    if idx is None or dataset is None:
        return f'clip {position} of the batch'
    info = dataset.get_data_info(int(idx))
    return str(info.get('filename', info.get('frame_dir', f'sample {idx}')))


def check_uniform_batch(data_batch, dataset=None, where: str = 'batch') -> None:
    """Raise :class:`MixedClipSizeError` if the batch's input tensors differ in shape."""
    if not isinstance(data_batch, dict):
        return
    inputs = data_batch.get('inputs')
    if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
        return
    if not all(hasattr(x, 'shape') for x in inputs):
        return
    shapes = [_shape(x) for x in inputs]
    counts = Counter(shapes)
    if len(counts) == 1:
        return
    usual = counts.most_common(1)[0][0]
    samples = data_batch.get('data_samples') or [None] * len(inputs)
    odd = [f'{_describe(dataset, samples[i], i)} is {shape}'
           for i, shape in enumerate(shapes) if shape != usual]
    raise MixedClipSizeError(
        f'{where} mixes clip sizes: ' + '; '.join(odd[:3])
        + (f' (and {len(odd) - 3} more)' if len(odd) > 3 else '')
        + f', the other {counts[usual]} clips are {usual}. The data preprocessor would '
        'zero-pad every clip to the largest, so the scores of the others would depend on '
        f'their batch neighbours. {REMEDY}')


@HOOKS.register_module()
class UniformClipSizeHook(Hook):
    """Check every train/val/test batch holds clips of one shape before it is stacked."""

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._dataset = None

    def _start(self, loop) -> None:
        loader = getattr(loop, 'dataloader', None)
        self._dataset = getattr(loader, 'dataset', None)
        if self._dataset is not None:
            expose_sample_idx(self._dataset)  # so that the odd clip can be named

    def before_train(self, runner) -> None:
        self._start(runner.train_loop)

    def before_val_epoch(self, runner) -> None:
        self._start(runner.val_loop)

    def before_test_epoch(self, runner) -> None:
        self._start(runner.test_loop)

    def after_val_epoch(self, runner, metrics=None) -> None:
        train_loop = getattr(runner, '_train_loop', None)  # the property would build one
        if isinstance(train_loop, BaseLoop):
            self._start(train_loop)  # validation during training: back to its batches

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        check_uniform_batch(data_batch, self._dataset, f'training batch {batch_idx}')

    def before_val_iter(self, runner, batch_idx, data_batch=None) -> None:
        check_uniform_batch(data_batch, self._dataset, f'validation batch {batch_idx}')

    def before_test_iter(self, runner, batch_idx, data_batch=None) -> None:
        check_uniform_batch(data_batch, self._dataset, f'test batch {batch_idx}')
