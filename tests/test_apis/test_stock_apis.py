"""MMAction2's stock inference APIs with the project's configs and checkpoints.

``init_recognizer`` / ``inference_recognizer`` / ``MMAction2Inferencer`` are used as an
MMAction2 user would; the dual-hand model answers with per-hand labels, scores and
class names (``mmaction_ext.apis``).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from mmaction.apis import inference_recognizer, init_recognizer
from mmengine.config import Config

from mmaction_ext.apis import hand_classes, hand_predictions
from mmaction_ext.synthetic import write_video

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
MOTION = os.path.join(REPO, 'configs/demo/vit-tiny_synthetic-motion.py')
DUAL = os.path.join(REPO, 'configs/demo/dual-hand_vit-tiny_synthetic-havid.py')
HAND_CLASSES = {'lh': ['grasp', 'hold', 'release'], 'rh': ['screw', 'insert', 'push', 'pull']}


@pytest.fixture(scope='module')
def video(tmp_path_factory) -> str:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (24, 64, 128, 3), dtype=np.uint8)
    return write_video(str(tmp_path_factory.mktemp('clip') / 'clip.mp4'), frames)


def _checkpoint(config: str, path: str, classes) -> dict:
    """An MMEngine checkpoint of the config's model (as the Runner saves one)."""
    torch.manual_seed(0)
    model = init_recognizer(config, None, device='cpu')
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    state = model.state_dict()
    torch.save(dict(state_dict=state, meta=dict(dataset_meta=dict(classes=classes))), path)
    return state


def test_init_and_inference_recognizer_single_label(tmp_path, video):
    ckpt = str(tmp_path / 'motion.pth')
    state = _checkpoint(MOTION, ckpt, ['a', 'b', 'c', 'd'])
    model = init_recognizer(MOTION, ckpt, device='cpu')
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    result = inference_recognizer(model, video)
    num_classes = Config.fromfile(MOTION).model.cls_head.num_classes
    assert result.pred_score.shape == (num_classes,)
    assert int(result.pred_label) == int(result.pred_score.argmax())
    assert torch.isclose(result.pred_score.sum(), torch.tensor(1.0), atol=1e-5)


def test_dual_hand_inference_recognizer_per_hand(tmp_path, video):
    ckpt = str(tmp_path / 'dual.pth')
    _checkpoint(DUAL, ckpt, HAND_CLASSES)
    for hand, names in HAND_CLASSES.items():
        (tmp_path / f'{hand}.txt').write_text('\n'.join(names) + '\n')
    cfg = Config.fromfile(DUAL)
    cfg.merge_from_dict({'test_dataloader.dataset.label_map': {
        h: str(tmp_path / f'{h}.txt') for h in HAND_CLASSES}})
    model = init_recognizer(cfg, ckpt, device='cpu')
    result = inference_recognizer(model, video)
    hands = hand_predictions(result, hand_classes(model))
    assert set(hands) == {'lh', 'rh'}
    for hand, names in HAND_CLASSES.items():
        score = torch.tensor(hands[hand]['score'])
        assert score.shape == (len(names),)
        assert hands[hand]['label'] == int(score.argmax())
        assert hands[hand]['class_name'] == names[hands[hand]['label']]
    # MMAction2's readers: pred_label = [lh, rh], pred_score = lh scores + rh scores.
    assert result.pred_label.tolist() == [hands['lh']['label'], hands['rh']['label']]
    assert torch.allclose(result.pred_score, torch.cat([result.lh_pred_score,
                                                        result.rh_pred_score]))


@pytest.mark.slow
def test_mmaction2_inferencer_with_project_checkpoints(tmp_path, video):
    from mmaction.apis import MMAction2Inferencer
    ckpt = str(tmp_path / 'dual.pth')
    _checkpoint(DUAL, ckpt, HAND_CLASSES)
    inferencer = MMAction2Inferencer(rec=DUAL, rec_weights=ckpt, device='cpu')
    out = inferencer(video)
    labels = out['predictions'][0]['rec_labels'][0]
    scores = out['predictions'][0]['rec_scores'][0]
    assert len(labels) == 2 and len(scores) == 3 + 4
    model = inferencer.actionrecog_inferencer.model
    classes = hand_classes(model, ckpt)  # from the checkpoint's dataset_meta
    assert classes == HAND_CLASSES
    assert labels == [int(np.argmax(scores[:3])), int(np.argmax(scores[3:]))]
    assert [classes['lh'][labels[0]], classes['rh'][labels[1]]] == [
        HAND_CLASSES['lh'][labels[0]], HAND_CLASSES['rh'][labels[1]]]

    ckpt = str(tmp_path / 'motion.pth')
    _checkpoint(MOTION, ckpt, ['a', 'b', 'c', 'd'])
    out = MMAction2Inferencer(rec=MOTION, rec_weights=ckpt, device='cpu')(video)
    scores = out['predictions'][0]['rec_scores'][0]
    assert out['predictions'][0]['rec_labels'][0] == [int(np.argmax(scores))]
