"""Decode only the sampled frames, straight at the size the pipeline resizes them to."""
from __future__ import annotations

import mmcv
import numpy as np
from mmaction.datasets.transforms import DecordDecode, Resize
from mmaction.registry import TRANSFORMS


@TRANSFORMS.register_module()
class FastVideoDecode(Resize):
    """``DecordDecode`` + ``Resize`` in one step, for ``FastVideoInit``'s readers.

    A 720p/1080p H.264 source resized to a 256 short side spends most of its time in
    decoding and colour conversion. For a PyAV reader this transform

    - seeks to the keyframe before the first sampled frame and stops after the last;
    - tells the decoder to skip non-reference frames that were not sampled (no other
      frame depends on them, so the sampled frames are bit-identical to a full decode);
    - converts only the sampled frames, from YUV directly to RGB at the resized size
      (one libswscale pass instead of a full-size RGB frame plus ``mmcv.imresize``).

    Frames and all result keys (``original_shape``, ``img_shape``, ``scale_factor``,
    ``keep_ratio``, boxes) match ``DecordDecode`` followed by ``Resize(scale,
    keep_ratio)``; pixels differ only by the resize filter (``decode_interpolation``,
    a libswscale name; ``'AREA'`` is anti-aliased and closest to ``mmcv.imresize``'s
    bilinear at 2-4x reduction). Upscaling, decord readers (``FastVideoInit`` gives one
    for AVI and remote files: the stock pipeline is the faster one there) and a file
    whose timestamps do not give every sampled frame fall back to decord and the stock
    ``Resize``.

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
        # A decord reader (AVI such as KTH's, remote files) is decoded the stock way: on
        # small AVIs PyAV's per-clip open and seek cost more than decoding saves (KTH
        # 160x120: 0.74x stock decord's clips/s when this path reopened them with PyAV).
        container = reader if _is_pyav(reader) else None
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
            if _is_pyav(reader):
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

        wanted = {int(i) for i in frame_inds}
        container.seek(start + int(min(wanted) / per_frame), stream=stream, backward=True)
        found = {}
        for packet in container.demux(stream):
            # Skipping applies to the frame this packet holds; reference frames are kept.
            ctx.skip_frame = 'DEFAULT' if index(packet.pts) in wanted else 'NONREF'
            for frame in ctx.decode(packet):
                i = index(frame.pts)
                if i in wanted and i not in found:
                    found[i] = frame.to_ndarray(format='rgb24', **size)
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


def _is_pyav(reader) -> bool:
    import av
    return isinstance(reader, av.container.InputContainer)
