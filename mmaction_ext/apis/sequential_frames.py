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
    N, and the frames before k are all delivered (from the failed chunk on, by one
    single-threaded PyAV decoder: the same k on every run, the same pixels as decord).

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
        self.frame_times = self._timestamps()
        self.error: str | None = None

    def _timestamps(self) -> np.ndarray | None:
        """``(declared_frames, 2)`` start and end of each frame in seconds, or None.

        The stream's own presentation times (``pts * time_base``, as PyAV gives them),
        from the index decord builds when it opens the file: a variable-frame-rate video
        shows frame ``i`` at its pts, not at ``i / average fps``. None (callers fall back
        to ``i / fps``) when the container gives no usable times (missing, not finite or
        going backwards).
        """
        try:
            times = np.asarray(self._reader.get_frame_timestamp(
                list(range(self.declared_frames))), dtype=np.float64).reshape(-1, 2)
        except Exception:  # noqa: BLE001  decord raises its own error types
            return None
        starts, ends = times[:, 0], times[:, 1]
        if (len(times) != self.declared_frames or not np.isfinite(times).all()
                or (np.diff(starts) <= 0).any() or (ends < starts).any()):
            return None
        return times

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first_index, frames (n, H, W, 3) uint8 RGB)`` chunks in order."""
        start = 0
        while start < self.num_frames:
            stop = min(start + self.chunk, self.num_frames)
            try:
                frames = self._reader.get_batch(list(range(start, stop))).asnumpy()
            except Exception as err:  # noqa: BLE001  decord's DECORDError is not exported
                yield from self._salvage(start, err)
                return
            yield start, frames
            start = stop

    def _salvage(self, start: int, err: Exception) -> Iterator[tuple[int, np.ndarray]]:
        """Frames ``start..`` up to the first undecodable packet, decoded without threads.

        decord's reader decodes in a background thread that reads ahead: near damaged data
        it may fail on a good frame, depending on timing (a loaded machine lost 1-8 of a
        test video's last good frames). One single-threaded PyAV decoder, front to back,
        stops at the same frame on every run; its RGB frames are decord's, bit for bit.
        It decodes from frame 0 (frames before ``start`` are not converted): a damaged
        file is rare, and counting from the first frame needs no timestamp arithmetic.
        """
        import av
        from av.video.reformatter import VideoReformatter
        self._reader = None  # release decord's threads
        index, chunk = 0, []
        try:
            with av.open(self.path) as container:
                stream = container.streams.video[0]
                stream.codec_context.thread_count = 1
                reformatter = VideoReformatter()
                for packet in container.demux(stream):
                    if packet.is_corrupt:
                        break
                    for frame in stream.codec_context.decode(packet):
                        if start <= index < self.declared_frames:
                            chunk.append(reformatter.reformat(frame, format='rgb24',
                                                              threads=1).to_ndarray())
                        index += 1
                        if len(chunk) == self.chunk:
                            yield index - len(chunk), np.stack(chunk)
                            chunk = []
                    if index >= self.declared_frames:
                        break
        except av.FFmpegError:
            pass  # the first undecodable packet ends the video
        if chunk:
            yield index - len(chunk), np.stack(chunk)
        self.num_frames = min(index, self.declared_frames)
        if self.num_frames >= self.declared_frames:
            return
        self.error = (f'{self.path}: frames {self.num_frames}-{self.declared_frames - 1} of '
                      f'{self.declared_frames} cannot be decoded ({_first_line(err)}); '
                      f'the timeline covers frames 0-{self.num_frames - 1}')
        if self.num_frames == 0:
            raise VideoDecodeError(f'{self.path}: no frame can be decoded ({_first_line(err)})')


def _first_line(err: Exception) -> str:
    """decord's message without its C++ source locations and stack trace."""
    text = re.sub(r'\[[\d:]+\] \S+:\d+: ', '', str(err).strip().splitlines()[0]
                  if str(err).strip() else type(err).__name__)
    return text[:200]
