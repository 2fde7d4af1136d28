"""Read a video once, front to back, in chunks (no per-window re-opening or seeking)."""
from __future__ import annotations

import os
import re
from typing import Iterator

import numpy as np


class VideoDecodeError(RuntimeError):
    """A video cannot be opened or holds no decodable frame."""


class SequentialFrames:
    """Decode a local video front to back with decord, ``chunk`` frames at a time.

    decord is what the configs' ``DecordInit``/``SafeDecordInit`` + ``DecordDecode``
    use, so frames are bit-identical to those ``tools/test.py`` feeds the model.
    Consecutive indices are decoded in stream order, so each frame is decoded once.

    A damaged tail (the reader counts N frames, but decoding fails from frame k on) ends
    the video at frame k: :attr:`num_frames` becomes k, :attr:`declared_frames` keeps
    N, and the frames before k are all delivered.

    Args:
        path: local video file.
        chunk: frames per decode call.
    """

    def __init__(self, path: str, chunk: int = 32) -> None:
        if not os.path.isfile(path):
            raise VideoDecodeError(f'{path}: no such file')
        import decord
        try:
            self._reader = decord.VideoReader(path, num_threads=1)
        except Exception as err:  # decord raises RuntimeError/DECORDError with C++ text
            raise VideoDecodeError(f'{path}: cannot open the video ({_first_line(err)}); '
                                   'is it a complete video file?') from err
        self.path = path
        self.chunk = chunk
        self.declared_frames = len(self._reader)
        self.num_frames = self.declared_frames
        if self.declared_frames <= 0:
            raise VideoDecodeError(f'{path}: the reader finds no frames')
        try:
            self.fps = float(self._reader.get_avg_fps()) or 25.0
        except Exception:  # noqa: BLE001  a missing rate only affects the time column
            self.fps = 25.0
        self.error: str | None = None

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first_index, frames (n, H, W, 3) uint8 RGB)`` chunks in order."""
        start = 0
        while start < self.num_frames:
            stop = min(start + self.chunk, self.num_frames)
            try:
                frames = self._reader.get_batch(list(range(start, stop))).asnumpy()
            except Exception as err:  # noqa: BLE001  decord's DECORDError is not exported
                frames = self._salvage(start, stop, err)
                if len(frames):
                    yield start, frames
                return
            yield start, frames
            start = stop

    def _salvage(self, start: int, stop: int, err: Exception) -> np.ndarray:
        """Decode ``start..stop`` frame by frame after a failed chunk; end at the first bad one."""
        import decord
        good = []
        for index in range(start, stop):
            try:  # a fresh reader: decord's state after a decode error is not reliable
                reader = decord.VideoReader(self.path, num_threads=1)
                good.append(reader.get_batch([index]).asnumpy()[0])
            except Exception:  # noqa: BLE001
                break
        self.num_frames = start + len(good)
        self.error = (f'{self.path}: frames {self.num_frames}-{self.declared_frames - 1} of '
                      f'{self.declared_frames} cannot be decoded ({_first_line(err)}); '
                      f'the timeline covers frames 0-{self.num_frames - 1}')
        if self.num_frames == 0:
            raise VideoDecodeError(f'{self.path}: no frame can be decoded ({_first_line(err)})')
        return np.stack(good) if good else np.zeros((0,), np.uint8)


def _first_line(err: Exception) -> str:
    """decord's message without its C++ source locations and stack trace."""
    text = re.sub(r'\[[\d:]+\] \S+:\d+: ', '', str(err).strip().splitlines()[0]
                  if str(err).strip() else type(err).__name__)
    return text[:200]
