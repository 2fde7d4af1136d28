"""``DecordInit`` that opens local files by path, so a truncated video cannot crash a run."""
from __future__ import annotations

import os.path as osp

from mmaction.datasets.transforms import DecordInit
from mmaction.registry import TRANSFORMS


@TRANSFORMS.register_module()
class SafeDecordInit(DecordInit):
    """Drop-in ``DecordInit`` for videos on local disk.

    The stock transform hands decord the file's bytes (``io.BytesIO``); decord 0.6.0
    then dies with a segmentation fault on a truncated file (e.g. KTH's
    ``person01_boxing_d4``; tested on AVIs cut short), killing the dataloader worker
    and the run. Opened by path, decord re-indexes such a file and reports only the
    frames it can decode, which ``ConfineFrameRange``/``SampleFrames`` then respect.
    Other backends (``io_backend`` not ``'disk'``, or a file not found locally) keep the
    stock behaviour.
    """

    def _get_video_reader(self, filename: str) -> object:
        if self.io_backend != 'disk' or not osp.isfile(filename):
            return super()._get_video_reader(filename)
        import decord
        return decord.VideoReader(filename, num_threads=self.num_threads)
