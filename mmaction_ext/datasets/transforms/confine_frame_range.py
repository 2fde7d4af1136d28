"""Restrict frame sampling to one sub-sequence of a video (e.g. KTH's 00sequences.txt)."""
from __future__ import annotations

from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform
from mmengine.logging import MMLogger


@TRANSFORMS.register_module()
class ConfineFrameRange(BaseTransform):
    """Make ``SampleFrames`` sample inside ``results['frame_range']`` only.

    Place it after ``DecordInit``/``PyAVInit``/``OpenCVInit`` (they set ``total_frames``)
    and before ``SampleFrames``. ``SampleFrames`` picks indices in
    ``[0, total_frames)`` and adds ``start_index``, so the range becomes
    ``start_index = start - 1`` and ``total_frames = end - start + 1``; its
    ``out_of_bound_opt`` then loops/repeats within the range.

    A truncated video (fewer frames than the range needs) never fails here: the end is
    clipped to the frames the reader reports, and a range lying wholly past the end is
    replaced by the video's last frames of the same length. Either case is logged once
    per video (per process: each DataLoader worker says it once).

    Required keys: ``total_frames``; optional ``frame_range`` ((start, end), 1-based,
    inclusive; ``None`` or absent leaves the sample untouched) and ``start_index``.
    Modified keys: ``start_index``, ``total_frames``. Added key: ``frame_range_used``.
    """

    def __init__(self) -> None:
        self._warned: set = set()

    def transform(self, results: dict) -> dict:
        frame_range = results.get('frame_range')
        if frame_range is None:
            return results
        start, end = int(frame_range[0]), int(frame_range[1])
        available = int(results['total_frames'])
        if available <= 0:
            raise ValueError(f'{results.get("filename")}: the reader found no frames')
        first, last = start - 1, min(end, available) - 1
        if first > last:
            length = min(end - start + 1, available)
            first, last = available - length, available - 1
            self._warn_once(results.get('filename'),
                            f'frames {start}-{end} lie past the {available} decodable frames '
                            f'(truncated video?); using frames {first + 1}-{last + 1} instead')
        elif end > available:
            self._warn_once(results.get('filename'),
                            f'frames {start}-{end} reach past the {available} decodable '
                            f'frames (truncated video?); using frames {start}-{available}')
        results['start_index'] = int(results.get('start_index', 0)) + first
        results['total_frames'] = last - first + 1
        results['frame_range_used'] = (first + 1, last + 1)
        return results

    def _warn_once(self, filename: str | None, message: str) -> None:
        """Log ``message`` for ``filename`` the first time only (per process)."""
        if filename in self._warned:
            return
        self._warned.add(filename)
        MMLogger.get_current_instance().warning(f'{filename}: {message}')
