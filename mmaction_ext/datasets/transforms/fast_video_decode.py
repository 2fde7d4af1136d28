"""Decode only the sampled frames, straight at the size the pipeline resizes them to."""
from __future__ import annotations

import os.path as osp

import mmcv
import numpy as np
from mmaction.datasets.transforms import DecordDecode, Resize
from mmaction.registry import TRANSFORMS


@TRANSFORMS.register_module()
class FastVideoDecode(Resize):
    """``DecordDecode`` + ``Resize`` in one step, for ``FastVideoInit``'s readers.

    A 720p/1080p H.264 source resized to a 256 short side spends most of its time in
    decoding and colour conversion; a KTH-size AVI in decord's per-frame seeks. For a
    PyAV reader (``FastVideoInit``'s, or a local file that ``FastVideoInit`` gave to
    decord, e.g. an AVI whose frames decord counted) this transform

    - seeks to the keyframe before the first sampled frame and stops after the last;
    - tells the decoder to skip non-reference frames that were not sampled (no other
      frame depends on them, so the sampled frames are bit-identical to a full decode);
      with an intra-only codec (MJPEG) unsampled packets are not decoded at all;
    - converts only the sampled frames, from YUV directly to RGB at the resized size
      (one single-threaded libswscale context per clip instead of a full-size RGB frame
      plus ``mmcv.imresize``).

    Frames and all result keys (``original_shape``, ``img_shape``, ``scale_factor``,
    ``keep_ratio``, boxes) match ``DecordDecode`` followed by ``Resize(scale,
    keep_ratio)``; pixels differ only by the resize filter (``decode_interpolation``,
    a libswscale name; ``'AREA'`` is anti-aliased and closest to ``mmcv.imresize``'s
    bilinear at 2-4x reduction). When upscaling (KTH's 160x120 to a 256 short side),
    frames are decoded at full size, bit-identical to decord's, and resized by the
    stock ``Resize``. Remote files and a file whose timestamps do not give every
    sampled frame are decoded by decord the stock way.

    ``skip_loop_filter=True`` also skips H.264's deblocking filter: about 1.4x faster
    decoding, but no longer exact: the error builds up from each keyframe (mean 0.1 at
    keyframe interval 12, about 1 of 255 150 frames after a keyframe in our tests) and
    grows with coarser quantisation. Off by default.

    Args:
        scale: as ``Resize``, e.g. ``(-1, 256)`` for a short side of 256.
        keep_ratio: as ``Resize``.
        interpolation: ``mmcv.imresize`` interpolation for the fallback path.
        decode_interpolation: libswscale filter for the fast path.
        skip_loop_filter: trade exactness for speed as described above.
    """

    def __init__(self, scale=(-1, 256), keep_ratio: bool = True,
                 interpolation: str = 'bilinear', decode_interpolation: str = 'AREA',
                 skip_loop_filter: bool = False) -> None:
        super().__init__(scale, keep_ratio=keep_ratio, interpolation=interpolation)
        self.decode_interpolation = decode_interpolation
        self.skip_loop_filter = skip_loop_filter
        self._decord = DecordDecode()

    def transform(self, results: dict) -> dict:
        if results['frame_inds'].ndim != 1:
            results['frame_inds'] = np.squeeze(results['frame_inds'])
        reader = results['video_reader']
        container = reader if _is_pyav(reader) else _open_local(results.get('filename'))
        if container is not None and reader is not container:
            # Release decord's reader now: its threads keep using CPU while it lives.
            results['video_reader'] = reader = None
        imgs = None
        if container is not None:
            import av
            try:
                imgs, shape = self._decode_pyav(container, results['frame_inds'])
            except av.FFmpegError:
                imgs = None  # damaged data: decord decodes (or reports) it the stock way
            finally:
                container.close()
        if imgs is None:  # no PyAV reader, frames not all found by timestamp, or damage
            if reader is None or _is_pyav(reader):
                import decord
                reader = decord.VideoReader(results['filename'], num_threads=1)
            results['video_reader'] = reader
            try:
                results = self._decord.transform(results)
            except Exception as err:  # decord's errors name neither the file nor a remedy
                raise RuntimeError(
                    f"{results.get('filename')}: cannot decode frames "
                    f"{results['frame_inds'].tolist()} ({err}). The file looks damaged: "
                    're-encode it (e.g. ffmpeg -i IN -c:v libx264 OUT.mp4) or drop it from '
                    'the list.') from err
        else:
            results.update(imgs=imgs, original_shape=shape, img_shape=shape, video_reader=None)
        # Release the reader before resizing, as DecordDecode does: a live decord reader's
        # threads keep using CPU (KTH-size clips: +10 % CPU time while Resize ran).
        del reader, container
        return super().transform(results)

    def _target_size(self, width: int, height: int) -> tuple[int, int]:
        if self.keep_ratio:
            return mmcv.rescale_size((width, height), self.scale)
        return tuple(self.scale)

    def _decode_pyav(self, container, frame_inds: np.ndarray):
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if self.skip_loop_filter:
            ctx.options = dict(ctx.options, skip_loop_filter='all')  # before the codec opens
        full = (ctx.height, ctx.width)
        new_w, new_h = self._target_size(ctx.width, ctx.height)
        upscale = new_w > ctx.width or new_h > ctx.height
        size = {} if upscale else dict(width=new_w, height=new_h,
                                         interpolation=self.decode_interpolation)
        per_frame = float(stream.time_base * stream.average_rate)  # pts unit -> frames
        start = stream.start_time or 0

        def index(pts):
            return None if pts is None else int(round((pts - start) * per_frame))

        # Intra-only codecs (MJPEG, as in KTH-size AVIs): no frame depends on another, so
        # unsampled packets are not decoded at all.
        intra_only = ctx.codec.intra_only
        wanted = {int(i) for i in frame_inds}
        # One single-threaded libswscale context for the clip: ``frame.to_ndarray`` builds
        # a new, multi-threaded one per frame (about 4x the conversion time at 160x120).
        from av.video.reformatter import VideoReformatter
        reformatter = VideoReformatter()
        container.seek(start + int(min(wanted) / per_frame), stream=stream, backward=True)
        found = {}
        for packet in container.demux(stream):
            # Skipping applies to the frame this packet holds; reference frames are kept.
            sampled = index(packet.pts) in wanted
            if intra_only and not sampled and packet.size:
                continue
            if packet.is_corrupt:  # e.g. cut short: decoders conceal the damage differently
                return None, full
            ctx.skip_frame = 'DEFAULT' if sampled else 'NONREF'
            for frame in ctx.decode(packet):
                i = index(frame.pts)
                if i in wanted and i not in found:
                    found[i] = reformatter.reformat(frame, format='rgb24', threads=1,
                                                    **size).to_ndarray()
            if len(found) == len(wanted):
                break
        if len(found) < len(wanted):
            return None, full
        return [found[int(i)] for i in frame_inds], full

    def _resize_imgs(self, imgs, new_w, new_h):
        """Frames decoded at the target size are already done."""
        if all(img.shape[:2] == (new_h, new_w) for img in imgs):
            return imgs
        return super()._resize_imgs(imgs, new_w, new_h)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, keep_ratio={self.keep_ratio}, '
                f'decode_interpolation={self.decode_interpolation!r}, '
                f'skip_loop_filter={self.skip_loop_filter})')


def _open_local(filename: str | None):
    """A PyAV container for a local file whose frames decord counted (e.g. KTH's AVIs)."""
    import av
    if not filename or not osp.isfile(filename):
        return None
    try:
        container = av.open(filename)
    except av.FFmpegError:
        return None
    streams = container.streams.video
    if not streams or not streams[0].average_rate:
        container.close()
        return None
    streams[0].codec_context.thread_count = 1  # tiny frames: threads cost more than they save
    return container


def _is_pyav(reader) -> bool:
    import av
    return isinstance(reader, av.container.InputContainer)
