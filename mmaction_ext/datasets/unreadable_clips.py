"""What to do with a clip that cannot be decoded: skip and count in training, fail in tests.

Week-long fine-tunes should survive one corrupt file in a folder of thousands, but never
silently: each skip is logged with the file, counted, and the run stops once skips pass
``max_skip_fraction`` of the dataset (then the data, not luck, needs fixing). Evaluation
never skips: an unreadable test clip is an error naming the file, so a reported accuracy
always covers every listed sample.
"""
from __future__ import annotations

import logging
import os

from mmengine.logging import print_log

from .worker_marks import mark_reading, new_mark_dir


class UnreadableClipError(RuntimeError):
    """A clip could not be read (the message names the file and what to do)."""


class PipelineConfigError(RuntimeError):
    """A pipeline step failed for a reason that is the config's, not the file's."""


# Decoding steps end in Init/Decode (DecordInit, SafeDecordInit, PyAVDecode, ...). Errors
# of these types mean a step is missing, misplaced or misconfigured, not a bad file.
_DECODER_SUFFIXES = ('Init', 'Decode')
_CONFIG_ERRORS = (KeyError, TypeError, AttributeError, NameError, ImportError)


def failing_step(err: BaseException, pipeline) -> object | None:
    """The pipeline transform in whose code ``err`` was raised (deepest one), if any."""
    steps = {id(t) for t in getattr(pipeline, 'transforms', [])}
    found, tb = None, err.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get('self')
        if owner is not None and id(owner) in steps:
            found = owner
        tb = tb.tb_next
    return found


def is_decoding_error(err: BaseException, pipeline) -> bool:
    """True when a decoding step raised, with an error that is not a config mistake."""
    step = failing_step(err, pipeline)
    return (step is not None and type(step).__name__.endswith(_DECODER_SUFFIXES)
            and not isinstance(err, _CONFIG_ERRORS))


class SkipUnreadableClipsMixin:
    """Mixin for ``BaseActionDataset`` subclasses (put it first in the bases).

    Args:
        skip_unreadable (bool): in training, replace an unreadable clip by another random
            one (MMEngine's refetch) instead of failing. Defaults to True.
        max_skip_fraction (float): fail once more than this fraction of the dataset's
            distinct files proved unreadable (counted per data-loading process).
            Defaults to 0.01.
    """

    def __init__(self, *args, skip_unreadable: bool = True, max_skip_fraction: float = 0.01,
                 **kwargs) -> None:
        self.skip_unreadable = skip_unreadable
        self.max_skip_fraction = max_skip_fraction
        self.skipped_clips: list[str] = []  # distinct files, in the order first seen
        self._mark_dir = new_mark_dir()  # a crashed worker's file can then be named
        super().__init__(*args, **kwargs)

    def prepare_data(self, idx: int):
        mark_reading(self._mark_dir, self.get_data_info(idx).get('filename', ''))
        try:
            return super().prepare_data(idx)
        except Exception as err:  # noqa: BLE001 - decoders raise many unrelated types
            info = self.get_data_info(idx)
            filename = info.get('filename', f'sample {idx}')
            reason = f'{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err) else ""}'
            if not is_decoding_error(err, getattr(self, 'pipeline', None)):
                step = failing_step(err, getattr(self, 'pipeline', None))
                where = f'pipeline step {type(step).__name__}' if step else 'the pipeline'
                raise PipelineConfigError(
                    f'{filename}: {where} failed ({reason}). This is not an unreadable '
                    f'clip (those are skipped in training) but a configuration problem: '
                    f'check the pipeline order (e.g. DecordInit, SampleFrames, DecordDecode, '
                    f'Resize, ..., PackActionInputs) and the step\'s arguments.') from err
            if self.test_mode or not self.skip_unreadable:
                raise UnreadableClipError(
                    f'cannot read {filename} ({reason}). Re-encode or replace the file, or '
                    f'remove it from the list; evaluation never skips clips.') from err
            if filename not in self.skipped_clips:
                self.skipped_clips.append(filename)
            limit = max(1, int(self.max_skip_fraction * len(self)))
            print_log(f'skipping unreadable training clip {filename} ({reason}); '
                      f'{len(self.skipped_clips)} skipped in this loader process '
                      f'(pid {os.getpid()}), limit {limit}', logger='current',
                      level=logging.WARNING)
            if len(self.skipped_clips) > limit:
                raise UnreadableClipError(
                    f'{len(self.skipped_clips)} unreadable training clips (more than '
                    f'{self.max_skip_fraction:.1%} of {len(self)}), e.g. '
                    f'{self.skipped_clips[:3]}. Check the videos (tools/prepare_kth.py '
                    f'validates a KTH tree) or raise max_skip_fraction.') from err
            return None  # BaseDataset.__getitem__ fetches another sample
