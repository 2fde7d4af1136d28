"""Writing through the tools as a user runs them: convert_checkpoint refuses to replace its
input or write a folder; infer_video reuses outputs only when made from the same inputs;
variable-frame-rate videos are timed by their frames' timestamps (issues #19, #21)."""
from __future__ import annotations

import csv
import fractions
import importlib.util
import io
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from infer_helpers import DUAL_CFG, REPO, random_checkpoint

from mmaction_ext.apis import outputs as outputs_module
from mmaction_ext.synthetic import write_video

CONVERT = os.path.join(REPO, 'tools', 'convert_checkpoint.py')


def _run(args, cwd, umask=None):
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300,
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def _original_checkpoint(path) -> bytes:
    from reference_vit import RefViT
    torch.manual_seed(0)
    state = RefViT().state_dict()
    torch.save({'model': state, 'optimizer': {'step': 7}, 'epoch': 3}, path)
    return open(path, 'rb').read()


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, 'tools', name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def convert(tmp_path, monkeypatch):
    """``main()`` of tools/convert_checkpoint.py run in ``tmp_path`` with these arguments."""
    tool = _load_tool('convert_checkpoint')
    monkeypatch.chdir(tmp_path)

    def run(*argv):
        monkeypatch.setattr(sys, 'argv', ['convert_checkpoint.py', *argv])
        tool.main()
    return run


def test_convert_refuses_to_overwrite_its_input(tmp_path, convert):
    before = _original_checkpoint(tmp_path / 'ckpt.pth')
    os.symlink('ckpt.pth', tmp_path / 'alias.pth')
    os.link(tmp_path / 'ckpt.pth', tmp_path / 'hard.pth')
    for dst in ('./ckpt.pth', str(tmp_path / 'ckpt.pth'), 'alias.pth', 'hard.pth'):
        with pytest.raises(SystemExit) as err:
            convert('ckpt.pth', dst, '--num-heads', '4')
        assert str(err.value).startswith(
            f'error: refusing to write {dst}: it is the same file as the input ckpt.pth')
    assert open(tmp_path / 'ckpt.pth', 'rb').read() == before  # optimizer state kept
    assert sorted(os.listdir(tmp_path)) == ['alias.pth', 'ckpt.pth', 'hard.pth']


def test_convert_to_an_existing_folder_is_a_clear_error(tmp_path, convert):
    _original_checkpoint(tmp_path / 'ckpt.pth')
    (tmp_path / 'converted').mkdir()
    with pytest.raises(SystemExit, match='error: cannot write converted: it is a folder; '
                       'give a file name'):
        convert('ckpt.pth', 'converted', '--num-heads', '4')
    assert os.listdir(tmp_path / 'converted') == []


@pytest.mark.slow
def test_convert_cli_exit_status_and_message(tmp_path):
    """As a user runs it: a non-zero exit, one line naming both paths, no traceback."""
    before = _original_checkpoint(tmp_path / 'ckpt.pth')
    res = _run([CONVERT, 'ckpt.pth', './ckpt.pth'], cwd=tmp_path)
    assert res.returncode == 1 and 'Traceback' not in res.stderr
    assert res.stderr.strip() == (
        'error: refusing to write ./ckpt.pth: it is the same file as the input ckpt.pth; '
        'writing it would replace what is being read. Give another output path.')
    assert open(tmp_path / 'ckpt.pth', 'rb').read() == before


@pytest.mark.slow
@pytest.mark.parametrize('umask', [0o022, 0o077])
def test_converted_file_mode_follows_the_umask(tmp_path, umask):
    _original_checkpoint(tmp_path / 'ckpt.pth')
    res = _run([CONVERT, 'ckpt.pth', 'out/converted.pth', '--num-heads', '4'],
               cwd=tmp_path, umask=umask)
    assert res.returncode == 0, res.stderr
    assert os.stat(tmp_path / 'out' / 'converted.pth').st_mode & 0o777 == 0o666 & ~umask
    assert sorted(os.listdir(tmp_path / 'out')) == ['converted.pth']


# ------------------------------------------------------------------ infer_video reuse

def _tool():
    return _load_tool('infer_video')


def _rows(path) -> list[dict]:
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_rerun_reuses_only_outputs_of_the_same_video_checkpoint_and_options(tmp_path,
                                                                           capsys):
    rng = np.random.default_rng(0)
    video = write_video(str(tmp_path / 'clip.mp4'),
                        rng.integers(0, 256, (16, 64, 128, 3), dtype=np.uint8))
    ck_a = random_checkpoint(DUAL_CFG, str(tmp_path / 'a.pth'), seed=0)
    ck_b = random_checkpoint(DUAL_CFG, str(tmp_path / 'b.pth'), seed=1)
    out = tmp_path / 'out'
    tool = _tool()

    def run(ckpt, *extra, out_dir=out):
        assert tool.main([DUAL_CFG, ckpt, video, '--out-dir', str(out_dir), '--no-progress',
                          *extra]) == 0
        text = capsys.readouterr().out
        return text, (out_dir / 'clip' / 'frames.csv').read_text()

    text, frames_a = run(ck_a)
    assert '1 done, 0 skipped' in text
    text, again = run(ck_a, '--batch-size', '2')      # batch size changes no number
    assert f'skip {video}' in text and again == frames_a
    text, frames_b = run(ck_b)                        # another checkpoint: recomputed
    assert 'recompute' in text and 'checkpoint' in text and '1 done' in text
    assert frames_b != frames_a
    reference = random_checkpoint(DUAL_CFG, str(tmp_path / 'ref.pth'), seed=1)
    _, ref_frames = run(reference, out_dir=tmp_path / 'ref_out')
    assert ref_frames == frames_b                     # the new scores are checkpoint b's
    random_checkpoint(DUAL_CFG, ck_b, seed=0)         # same name, new weights (new mtime)
    text, frames = run(ck_b)
    assert 'recompute' in text and f'checkpoint {os.path.realpath(ck_b)} changed' in text
    assert frames == frames_a
    text, _ = run(ck_b, '--smooth', '5')              # another option: recomputed
    assert 'recompute' in text and '--smooth: 0 then, 5 now' in text
    text, _ = run(ck_b, '--smooth', '5', '--features')
    assert 'recompute' in text and (out / 'clip' / 'features.npy').is_file()
    text, _ = run(ck_b, '--smooth', '5')              # features dropped: stale files go
    assert 'recompute' in text and not (out / 'clip' / 'features.npy').exists()
    os.utime(video, ns=(1, 1))                        # the video file changed
    text, _ = run(ck_b, '--smooth', '5')
    assert 'recompute' in text and f'video {os.path.realpath(video)} changed' in text


# ------------------------------------------------------------------ variable frame rate

# frames 0-9 every 40 ms, 10-20 every 160 ms (frame 20 at 2.000 s), then every 40 ms
VFR_TIMES = [i * 0.04 if i < 10 else 0.4 + (i - 10) * 0.16 if i <= 20 else
             2.0 + (i - 20) * 0.04 for i in range(40)]


def _write_vfr_video(path, times) -> None:
    """H.264 in MP4 whose frames carry the given presentation times (1 ms time base)."""
    import av
    rng = np.random.default_rng(3)
    buf = io.BytesIO()
    with av.open(buf, mode='w', format='mp4') as container:
        stream = container.add_stream('libx264', rate=1000)
        stream.height, stream.width = 64, 128
        stream.pix_fmt = 'yuv420p'
        stream.codec_context.time_base = fractions.Fraction(1, 1000)
        stream.options = {'bf': '0'}
        for t in times:
            frame = av.VideoFrame.from_ndarray(
                rng.integers(0, 256, (64, 128, 3), dtype=np.uint8), format='rgb24')
            frame.pts, frame.time_base = round(t * 1000), fractions.Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with open(path, 'wb') as f:
        f.write(buf.getvalue())


def _pyav_times(path) -> list[float]:
    """The reference: PyAV's ``frame.pts * time_base`` of every decoded frame."""
    import av
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [float(frame.pts * stream.time_base) for frame in container.decode(stream)]


@pytest.mark.slow
def test_variable_frame_rate_times_are_the_frames_timestamps(tmp_path, monkeypatch):
    video = tmp_path / 'vfr.mp4'
    _write_vfr_video(video, VFR_TIMES)
    pts = _pyav_times(video)
    assert pts == pytest.approx(VFR_TIMES, abs=1e-9) and len(pts) == 40
    ckpt = random_checkpoint(DUAL_CFG, str(tmp_path / 'a.pth'))
    meshes = []
    real_png = outputs_module.write_figure_png

    def keep_mesh_edges(path, fig, **kwargs):
        from matplotlib.collections import QuadMesh
        meshes.extend(c.get_coordinates()[0, :, 0] for ax in fig.axes
                      for c in ax.collections if isinstance(c, QuadMesh))
        return real_png(path, fig, **kwargs)
    monkeypatch.setattr(outputs_module, 'write_figure_png', keep_mesh_edges)
    out = tmp_path / 'out'
    assert _tool().main([DUAL_CFG, ckpt, str(video), '--out-dir', str(out),
                         '--no-progress']) == 0
    frames = _rows(out / 'vfr' / 'frames.csv')
    assert [float(r['time_s']) for r in frames] == pytest.approx(pts, abs=5e-4)
    assert frames[20]['time_s'] == '2.000'   # not 20 / average fps = 1.381
    for row in _rows(out / 'vfr' / 'segments.csv'):
        first, last = int(row['start_frame']), int(row['end_frame'])
        assert float(row['start_s']) == pytest.approx(pts[first], abs=5e-4)
        if last + 1 < len(pts):  # a segment ends where the next frame starts
            assert float(row['end_s']) == pytest.approx(pts[last + 1], abs=5e-4)
    assert len(meshes) == 2  # one strip per hand, its cells at the frames' times
    for edges in meshes:
        np.testing.assert_allclose(edges[:40], pts, atol=1e-4)
        assert edges[40] > pts[-1]


def test_constant_rate_times_and_the_fallback_without_timestamps(tmp_path):
    """A constant-rate video's timestamps are i / fps; a container without usable ones
    falls back to i / fps, as before."""
    from mmaction_ext.apis.sequential_frames import SequentialFrames
    from mmaction_ext.apis.sliding_window import VideoScores
    rng = np.random.default_rng(0)
    video = write_video(str(tmp_path / 'cfr.mp4'),
                        rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8), fps=25)
    source = SequentialFrames(video)
    np.testing.assert_allclose(source.frame_times[:, 0], np.arange(10) / 25, atol=1e-6)
    np.testing.assert_allclose(source.frame_times[:, 1], np.arange(1, 11) / 25, atol=1e-6)
    scores = VideoScores(path=video, fps=20.0, num_frames=4, declared_frames=4,
                         decode_error=None, tracks=('label',), class_names={},
                         starts=np.array([0]), spans=np.array([[0, 4]]), window_scores={})
    starts, ends = scores.times()
    assert starts.tolist() == [0, 0.05, 0.1, 0.15] and ends.tolist() == [0.05, 0.1, 0.15, 0.2]


def test_input_differences_name_what_changed():
    from mmaction_ext.apis.output_reuse import input_differences
    now = dict(video=dict(path='/v.mp4', size=10, mtime_ns=2),
               checkpoint=dict(path='/b.pth', size=5, mtime_ns=1), config='abc',
               options=dict(stride=4, smooth=0, amp=False, features=False))
    assert input_differences(now, now) == []
    then = dict(now, checkpoint=dict(path='/a.pth', size=5, mtime_ns=1),
                options=dict(now['options'], stride=8), config='abd')
    assert input_differences(then, now) == ['checkpoint: /a.pth then, /b.pth now',
                                            'config: its contents differ',
                                            '--stride: 8 then, 4 now']
    assert 'older version' in input_differences(None, now)[0]
