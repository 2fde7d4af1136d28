"""A sliding window placed where tools/test.py samples a clip scores exactly like it.

tools/test.py (its own ``merge_args`` and the MMEngine Runner) tests a few clips and
dumps each clip's scores; the inferencer, given one window at the start the config's
``SampleFrames`` picks for that clip, must return the same scores, for a dual-hand
model (each clip's hand's head) and a one-head model (Resize + CenterCrop, frame
interval 2).

Equal means equal up to float32 rounding (differences ~1e-8, atol 1e-6): the same input
tensors go through the same weights, but a batch of another size or composition picks
other matrix-kernel blockings, as tools/test.py with another batch_size does too.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import pickle

import numpy as np
import pytest
import torch
from infer_helpers import DUAL_CFG, ONE_CFG, REPO, random_checkpoint
from mmengine.config import Config
from mmengine.runner import Runner

from mmaction_ext.apis import VideoInferencer
from mmaction_ext.synthetic import make_classification_dataset, make_havid_dataset


def _test_tool():
    spec = importlib.util.spec_from_file_location('test_tool', os.path.join(REPO, 'tools/test.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_test_py(config: str, checkpoint: str, work_dir: str,
                 options: dict) -> list[tuple[str, dict]]:
    """tools/test.py CONFIG CHECKPOINT --dump ... --cfg-options ... (in this process).

    Returns ``(video file, dumped result)`` per clip (the unshuffled test set's order).
    """
    dump = os.path.join(work_dir, 'results.pkl')
    args = argparse.Namespace(show=False, show_dir=None, dump=dump, launcher='none',
                              cfg_options=options, work_dir=work_dir, config=config,
                              checkpoint=checkpoint, ema=False,
                              allow_partial_checkpoint=False)
    cfg = _test_tool().merge_args(Config.fromfile(config), args)
    runner = Runner.from_cfg(cfg)
    runner.test()
    with open(dump, 'rb') as f:  # our own file, written just above
        results = pickle.load(f)
    dataset = runner.test_dataloader.dataset
    assert len(results) == len(dataset)
    return [(dataset.get_data_info(i)['filename'], r) for i, r in enumerate(results)]


LOADER = {'test_dataloader.num_workers': 0, 'test_dataloader.persistent_workers': False}


@pytest.mark.slow
def test_window_at_test_clip_gives_test_py_scores_dual_hand(tmp_path):
    root = str(tmp_path / 'havid')
    # 13-frame clips: test.py samples frames 2..9 (not the start), so position matters
    make_havid_dataset(root, per_class={'val': {'lh': 1, 'rh': 1}}, num_frames=13)
    ckpt = random_checkpoint(DUAL_CFG, str(tmp_path / 'dual.pth'))
    results = _run_test_py(DUAL_CFG, ckpt, str(tmp_path / 'work'),
                           dict(LOADER, **{'test_dataloader.dataset.data_root': root}))
    assert len(results) == 7 and {r['hand'] for _, r in results} == {'lh', 'rh'}
    inferencer = VideoInferencer(DUAL_CFG, ckpt, batch_size=3)
    assert inferencer.pipeline.test_clip_start(13) == 2
    for path, r in results:
        scores = inferencer(path, starts=[inferencer.pipeline.test_clip_start(13)])
        ours = torch.from_numpy(scores.window_scores[r['hand']][0])
        torch.testing.assert_close(ours, r['pred_score'].float(), rtol=0, atol=1e-6)


@pytest.mark.slow
def test_window_at_test_clip_gives_test_py_scores_one_head(tmp_path):
    root = str(tmp_path / 'motion')
    # 80x64 clips of 19 frames: Resize(-1, 72) + CenterCrop(64) act, test.py takes
    # frames 2, 4, ..., 16 (span 15)
    make_classification_dataset(root, num_classes=4, videos_per_class={'test': 1},
                                num_frames=19, size=(64, 80))
    ckpt = random_checkpoint(ONE_CFG, str(tmp_path / 'one.pth'))
    results = _run_test_py(ONE_CFG, ckpt, str(tmp_path / 'work'), dict(LOADER, **{
        'test_dataloader.dataset.ann_file': f'{root}/test_list.txt',
        'test_dataloader.dataset.data_prefix.video': f'{root}/videos'}))
    assert len(results) == 4
    inferencer = VideoInferencer(ONE_CFG, ckpt, batch_size=4)
    start = inferencer.pipeline.test_clip_start(19)
    assert start == 2 and inferencer.pipeline.span == 15
    for path, r in results:
        scores = inferencer(path, starts=[start])
        torch.testing.assert_close(torch.from_numpy(scores.window_scores['label'][0]),
                                   r['pred_score'].float(), rtol=0, atol=1e-6)
        np.testing.assert_array_equal(inferencer.pipeline.indices(start, 19),
                                      np.arange(2, 17, 2))
