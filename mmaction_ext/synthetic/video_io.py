"""Write videos that decord, PyAV and OpenCV all read back (through the atomic writer)."""
from __future__ import annotations

import io
import os
import tempfile

import numpy as np

from mmaction_ext.fileio import atomic_write_bytes

_AVI_FOURCC = {'mjpg': 'MJPG', 'xvid': 'XVID'}


def write_video(path: str, frames: np.ndarray, fps: int = 25, codec: str | None = None,
                gop: int | None = None) -> str:
    """Write ``frames`` (T, H, W, 3) RGB uint8 to ``path``; the suffix picks the format.

    ``.avi`` is written by OpenCV (MJPG by default, or XVID), like KTH's files;
    ``.mp4`` by PyAV with H.264 (``libx264``, keyframe every ``gop`` frames), like
    HA-ViD's. H.264 needs even width and height.
    """
    ext = os.path.splitext(path)[1].lower()
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f'frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}')
    if ext == '.avi':
        _write_avi(path, frames, fps, codec or 'mjpg')
    elif ext == '.mp4':
        _write_mp4(path, frames, fps, codec or 'libx264', gop)
    else:
        raise ValueError(f'{path}: unsupported video suffix {ext!r} (use .avi or .mp4)')
    return path


def _write_avi(path: str, frames: np.ndarray, fps: int, codec: str) -> None:
    """OpenCV writes only to a named file: a scratch one, whose bytes the writer places."""
    import cv2
    h, w = frames.shape[1:3]
    fourcc = cv2.VideoWriter_fourcc(*_AVI_FOURCC.get(codec.lower(), codec))
    with tempfile.TemporaryDirectory() as scratch:
        tmp = os.path.join(scratch, 'video.avi')
        writer = cv2.VideoWriter(tmp, fourcc, fps, (w, h))
        if not writer.isOpened():
            raise RuntimeError(f'OpenCV cannot open a {codec} writer for {path}')
        try:
            for frame in frames:
                writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
        finally:
            writer.release()
        with open(tmp, 'rb') as f:
            atomic_write_bytes(f.read(), path)


def _write_mp4(path: str, frames: np.ndarray, fps: int, codec: str, gop: int | None) -> None:
    import av
    buf = io.BytesIO()
    with av.open(buf, mode='w', format='mp4') as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = 'yuv420p'
        if gop:
            stream.codec_context.gop_size = gop
        stream.options = {'crf': '18'} if codec == 'libx264' else {}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format='rgb24')):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    atomic_write_bytes(buf.getvalue(), path)
