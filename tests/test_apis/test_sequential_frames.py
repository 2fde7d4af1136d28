"""SequentialFrames: decord's frames in order; a damaged tail ends at the same frame every run."""
from __future__ import annotations

import decord
import numpy as np
import pytest

from mmaction_ext.apis import SequentialFrames, VideoDecodeError
from mmaction_ext.synthetic import write_video


def _video(path, frames: int = 60, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    suffix = str(path).rsplit('.', 1)[-1]
    size = (64, 128) if suffix == 'mp4' else (60, 80)
    return write_video(str(path), rng.integers(0, 256, (frames,) + size + (3,), dtype=np.uint8))


def _damage_tail(path: str) -> str:
    data = bytearray(open(path, 'rb').read())
    n = len(data)
    data[int(n * 0.85):int(n * 0.97)] = bytes(int(n * 0.97) - int(n * 0.85))
    open(path, 'wb').write(bytes(data))
    return path


def _decord_frames(path: str) -> np.ndarray:
    reader = decord.VideoReader(path, num_threads=1)
    return reader.get_batch(list(range(len(reader)))).asnumpy()


class _RacingReader:
    """decord's reader as it behaves near damaged data on a loaded machine: its read-ahead
    thread hits the bad packets before a good frame from ``fail_from`` on is returned."""

    fail_from = 0

    def __init__(self, path, **kwargs):
        self._reader = _REAL_READER(path, **kwargs)

    def __len__(self):
        return len(self._reader)

    def get_avg_fps(self):
        return self._reader.get_avg_fps()

    def get_batch(self, indices):
        if max(indices) >= self.fail_from:
            raise RuntimeError('Thread worker: Error sending packet.')
        return self._reader.get_batch(indices)


_REAL_READER = decord.VideoReader


@pytest.mark.parametrize('name', ['clip.mp4', 'clip.avi'])
@pytest.mark.parametrize('fail_from', [0, 13, 59])
def test_frames_after_a_decord_failure_are_decords_bit_for_bit(tmp_path, monkeypatch, name,
                                                               fail_from):
    path = _video(tmp_path / name)
    reference = _decord_frames(path)
    monkeypatch.setattr(_RacingReader, 'fail_from', fail_from)
    monkeypatch.setattr(decord, 'VideoReader', _RacingReader)
    source = SequentialFrames(path, chunk=8)
    chunks = list(source)
    starts = [first for first, _ in chunks]
    assert starts == sorted(starts) and starts[0] == 0
    frames = np.concatenate([f for _, f in chunks])
    assert source.num_frames == source.declared_frames == len(reference)
    assert source.error is None
    assert np.array_equal(frames, reference)


def test_damaged_tail_ends_at_the_same_frame_whatever_decord_does(tmp_path, monkeypatch):
    path = _damage_tail(_video(tmp_path / 'damaged.mp4'))
    calm = SequentialFrames(path)
    calm_frames = np.concatenate([f for _, f in calm])
    assert 8 <= calm.num_frames < calm.declared_frames == 60
    assert 'cannot be decoded' in calm.error and 'damaged.mp4' in calm.error
    # decord failing early on good frames (its read-ahead thread losing the race) must not
    # shorten the video: the old per-frame decord salvage lost 1-8 frames under load
    monkeypatch.setattr(decord, 'VideoReader', _RacingReader)
    for fail_from in (calm.num_frames - 8, calm.num_frames - 1):
        monkeypatch.setattr(_RacingReader, 'fail_from', fail_from)
        raced = SequentialFrames(path)
        frames = np.concatenate([f for _, f in raced])
        assert raced.num_frames == calm.num_frames, fail_from
        assert np.array_equal(frames, calm_frames)


def test_no_decodable_frame_after_a_decord_failure_is_an_error(tmp_path, monkeypatch):
    path = _video(tmp_path / 'clip.mp4', 12)
    monkeypatch.setattr(_RacingReader, 'fail_from', 0)
    monkeypatch.setattr(decord, 'VideoReader', _RacingReader)
    source = SequentialFrames(path)           # opened and counted while the file was whole
    data = bytearray(open(path, 'rb').read())
    first, moov = data.find(b'mdat') + 4, data.find(b'moov') - 4
    assert 0 < first < moov                   # libx264 via PyAV: frames first, index last
    data[first:moov] = bytes(moov - first)    # then every frame's bytes are lost
    open(path, 'wb').write(bytes(data))
    with pytest.raises(VideoDecodeError, match='clip.mp4: no frame can be decoded'):
        list(source)
