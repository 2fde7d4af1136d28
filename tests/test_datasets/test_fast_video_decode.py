"""FastVideoInit + FastVideoDecode give the stock DecordInit + DecordDecode + Resize output."""
from __future__ import annotations

import random

import numpy as np
import pytest
from mmaction.registry import TRANSFORMS
from mmcv.transforms import Compose

import mmaction_ext  # noqa: F401
from mmaction_ext.synthetic.video_io import write_video


def _frames(num: int, height: int, width: int) -> np.ndarray:
    """Smooth frames whose brightness and square position tell the frame index."""
    yy, xx = np.mgrid[0:height, 0:width]
    out = np.empty((num, height, width, 3), np.uint8)
    for t in range(num):
        frame = np.stack([xx * 150 // width, yy * 150 // height, np.full_like(xx, 4 * t)], -1)
        x0 = (t * 7) % (width - height // 3)
        frame[height // 3:2 * height // 3, x0:x0 + height // 3] = 230
        out[t] = frame
    return out


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp('fast_decode')
    frames = _frames(48, 144, 256)
    return dict(gop4=write_video(str(root / 'gop4.mp4'), frames, gop=4),
                gop250=write_video(str(root / 'gop250.mp4'), frames, gop=250),
                avi=write_video(str(root / 'kth.avi'), frames[:, :120, :160]),
                xvid=write_video(str(root / 'kth_xvid.avi'), frames[:, :120, :160],
                                 codec='xvid'))


def _run(init: str, decode: list[dict], path: str, seed: int = 0) -> dict:
    pipeline = Compose([TRANSFORMS.build(t) for t in [
        dict(type=init), dict(type='SampleFrames', clip_len=6, frame_interval=3, num_clips=1),
        *decode, dict(type='RandomResizedCrop'), dict(type='Resize', scale=(64, 64),
                                                       keep_ratio=False)]])
    np.random.seed(seed)
    random.seed(seed)
    return pipeline(dict(filename=path, start_index=0, modality='RGB'))


def _pair(path: str, scale: tuple, seed: int = 0) -> tuple[dict, dict]:
    stock = _run('DecordInit', [dict(type='DecordDecode'), dict(type='Resize', scale=scale)],
                 path, seed)
    ours = _run('FastVideoInit', [dict(type='FastVideoDecode', scale=scale)], path, seed)
    return stock, ours


@pytest.mark.parametrize('name', ['gop4', 'gop250', 'avi', 'xvid'])
@pytest.mark.parametrize('seed', [0, 1])
def test_downscaled_decode_matches_stock(videos, name, seed):
    stock, ours = _pair(videos[name], (-1, 72), seed)
    assert ours['total_frames'] == stock['total_frames'] == 48
    np.testing.assert_array_equal(ours['frame_inds'], stock['frame_inds'])
    assert ours['original_shape'] == stock['original_shape']
    for key in ('original_shape', 'img_shape', 'crop_bbox'):
        assert tuple(ours[key]) == tuple(stock[key]), key
    np.testing.assert_allclose(ours['scale_factor'], stock['scale_factor'])
    a, b = np.stack(ours['imgs']).astype(np.float32), np.stack(stock['imgs'])
    assert a.shape == b.shape == (6, 64, 64, 3)
    assert np.abs(a - b).mean() < 2.0  # resize filter only
    # a neighbouring frame would be far off: the tolerance really checks the frame index
    assert np.abs(a[1:] - b[:-1]).mean() > 4 * np.abs(a - b).mean()


def test_upscale_and_avi_take_the_stock_path_exactly(videos):
    for path, scale in ((videos['gop4'], (-1, 200)), (videos['avi'], (-1, 256))):
        stock, ours = _pair(path, scale)
        np.testing.assert_array_equal(np.stack(ours['imgs']), np.stack(stock['imgs']))
        assert ours['original_shape'] == stock['original_shape']


def test_full_size_frames_are_bit_identical_to_decord(videos):
    """Skipping unsampled non-reference frames must not change the sampled ones."""
    import decord

    from mmaction_ext.datasets import FastVideoDecode, FastVideoInit
    inds = np.array([5, 9, 30, 31, 47])
    for path in (videos['gop4'], videos['gop250']):
        results = FastVideoInit()(dict(filename=path))
        results['frame_inds'] = inds
        ours = FastVideoDecode(scale=(256, 144), keep_ratio=False,
                               decode_interpolation='POINT')(results)
        ref = decord.VideoReader(path, num_threads=1).get_batch(inds).asnumpy()
        np.testing.assert_array_equal(np.stack(ours['imgs']), ref)


def test_truncated_avi_matches_safe_decord_init(videos, tmp_path):
    """A cut-short AVI (like KTH's person01_boxing_d4): decord's frame count rules."""
    data = open(videos['avi'], 'rb').read()
    cut = tmp_path / 'cut.avi'
    cut.write_bytes(data[:len(data) * 2 // 3])
    stock = _run('SafeDecordInit', [dict(type='DecordDecode'), dict(type='Resize',
                                                                    scale=(-1, 256))], str(cut))
    ours = _run('FastVideoInit', [dict(type='FastVideoDecode', scale=(-1, 256))], str(cut))
    assert ours['total_frames'] == stock['total_frames'] < 48
    np.testing.assert_array_equal(np.stack(ours['imgs']), np.stack(stock['imgs']))


@pytest.mark.parametrize('name', ['avi', 'xvid'])
def test_avi_cut_anywhere_gives_decords_frames_or_its_error(videos, name, tmp_path):
    """A file cut inside a frame: the half-present frame is concealed differently by
    PyAV and decord, so a corrupt packet sends the clip back to decord (tested at 12 cuts)."""
    from mmaction.datasets.transforms import DecordDecode

    from mmaction_ext.datasets import FastVideoDecode, FastVideoInit, SafeDecordInit
    data = open(videos[name], 'rb').read()
    for k, frac in enumerate(np.linspace(0.3, 0.97, 12)):
        cut = tmp_path / f'cut{k}.avi'
        cut.write_bytes(data[:int(len(data) * frac)])
        outputs = []
        for init, decode in ((FastVideoInit(), FastVideoDecode(scale=(160, 120))),
                             (SafeDecordInit(), DecordDecode())):
            results = init(dict(filename=str(cut)))
            results['frame_inds'] = np.arange(results['total_frames'])
            try:
                outputs.append(np.stack(decode(results)['imgs']))
            except Exception:  # noqa: BLE001  both must fail alike
                outputs.append(None)
        ours, stock = outputs
        assert (ours is None) == (stock is None), (frac, ours is None)
        if ours is not None:
            np.testing.assert_array_equal(ours, stock, err_msg=f'cut at {frac:.2f}')


def test_clip_longer_than_video_wraps_like_stock(videos):
    """16x4 on 48 frames: SampleFrames wraps indices round (unsorted, repeated)."""
    import decord

    from mmaction_ext.datasets import FastVideoDecode, FastVideoInit
    inds = np.array([40, 44, 0, 4, 8, 0, 40])
    for path in (videos['gop4'], videos['gop250']):
        results = FastVideoInit()(dict(filename=path))
        results['frame_inds'] = inds
        ours = np.stack(FastVideoDecode(scale=(256, 144), keep_ratio=False,
                                        decode_interpolation='POINT')(results)['imgs'])
        ref = decord.VideoReader(path, num_threads=1).get_batch(inds).asnumpy()
        np.testing.assert_array_equal(ours, ref)


def test_damaged_video_error_names_the_file(videos, tmp_path):
    data = bytearray(open(videos['gop4'], 'rb').read())
    for offset in range(len(data) // 8, len(data) // 2, len(data) // 8):  # frames, not index
        data[offset:offset + 2000] = bytes(2000)
    bad = tmp_path / 'damaged.mp4'
    bad.write_bytes(bytes(data))
    from mmaction_ext.datasets import FastVideoDecode, FastVideoInit
    results = FastVideoInit()(dict(filename=str(bad)))
    results['frame_inds'] = np.arange(0, results['total_frames'], 2)
    with pytest.raises(RuntimeError, match=r'damaged\.mp4: cannot decode .* re-encode'):
        FastVideoDecode(scale=(-1, 72))(results)


@pytest.mark.parametrize('name', ['avi', 'xvid'])
def test_avi_is_decoded_by_pyav_bit_identical_to_decord(videos, name, monkeypatch):
    """KTH-size AVIs (MJPEG: intra-only, unsampled packets skipped; XVID: inter frames)
    go through PyAV, not decord, and give decord's frames exactly, wrapped indices too."""
    import decord

    from mmaction_ext.datasets import FastVideoDecode, FastVideoInit
    inds = np.array([40, 44, 0, 4, 8, 0, 40, 47])
    ref = decord.VideoReader(videos[name], num_threads=1).get_batch(inds).asnumpy()
    stock, _ = _pair(videos[name], (-1, 256))

    def refuse(*args, **kwargs):
        raise AssertionError('decord decoded the clip')
    monkeypatch.setattr('mmaction.datasets.transforms.DecordDecode.transform', refuse)
    results = FastVideoInit()(dict(filename=videos[name]))
    results['frame_inds'] = inds
    ours = FastVideoDecode(scale=(160, 120), keep_ratio=False)(results)
    np.testing.assert_array_equal(np.stack(ours['imgs']), ref)
    assert ours['video_reader'] is None  # decord's reader released, like DecordDecode does
    upscaled = _run('FastVideoInit', [dict(type='FastVideoDecode', scale=(-1, 256))],
                    videos[name])
    np.testing.assert_array_equal(np.stack(upscaled['imgs']), np.stack(stock['imgs']))
