"""The original-checkpoint load hook converts names only: the caller's ``strict`` holds.

Before: the hook filled keys missing from the file with the model's current weights and
dropped tensors the model has no place for, so ``strict=True`` accepted incomplete files.
"""
from __future__ import annotations

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from reference_vit import RefViT

TINY = dict(embed_dims=48, depth=2, num_heads=4)


@pytest.fixture(autouse=True)
def mmaction_scope():
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


def build(kind: str, num_classes: int = 5):
    backbone = dict(type='MAEVisionTransformer', arch=TINY, img_size=32, num_frames=4)
    head = dict(type='TimeSformerHead', num_classes=num_classes, in_channels=48)
    if kind == 'backbone':
        return MODELS.build(backbone)
    return MODELS.build(dict(type=kind, backbone=backbone, cls_head=head))


def original(drop=(), add=None) -> dict:
    torch.manual_seed(3)
    sd = dict(RefViT().state_dict())
    for key in drop:
        sd.pop(key)
    sd.update(add or {})
    return {'model': sd}


FILES = {
    'backbone only (no head)': (original(drop=('head.weight', 'head.bias')),
                                'missing', 'cls_head.fc_cls.weight'),
    'a block tensor missing': (original(drop=('blocks.1.attn.proj.weight',)),
                               'missing', 'backbone.blocks.1.attn.proj.weight'),
    'an extra tensor': (original(add={'blocks.0.extra_gate': torch.ones(3)}),
                        'unexpected', 'blocks.0.extra_gate'),
}


@pytest.mark.parametrize('kind', ['ViTRecognizer3D', 'Recognizer3D'])
@pytest.mark.parametrize('name', list(FILES))
def test_strict_true_fails_on_incomplete_files(kind, name):
    """torch's and MMEngine's strict loading, also for the backbone inside stock Recognizer3D."""
    checkpoint, what, key = FILES[name]
    sd = dict(checkpoint['model'])
    if kind == 'Recognizer3D':  # stock recognizer: only the backbone's own hook converts
        sd = {('cls_head.fc_cls.' + k[5:] if k.startswith('head.') else 'backbone.' + k): v
              for k, v in sd.items()}
        key = key if key.startswith(('backbone.', 'cls_head.')) else 'backbone.' + key
    with pytest.raises(RuntimeError, match='Missing key' if what == 'missing' else
                       'Unexpected key') as err:
        build(kind).load_state_dict(sd, strict=True)
    assert key in str(err.value)
    result = build(kind).load_state_dict(sd, strict=False)
    assert key in (result.missing_keys if what == 'missing' else result.unexpected_keys)


@pytest.mark.parametrize('name', list(FILES))
def test_mmengine_load_checkpoint_strict(tmp_path, name):
    checkpoint, what, key = FILES[name]
    path = tmp_path / 'ckpt.pth'
    torch.save(checkpoint, path)
    with pytest.raises(RuntimeError, match='missing keys' if what == 'missing' else
                       'unexpected key') as err:
        load_checkpoint(build('ViTRecognizer3D'), str(path), strict=True)
    assert key in str(err.value)
    load_checkpoint(build('ViTRecognizer3D'), str(path), strict=False)  # reports, loads


def test_complete_file_loads_strictly_and_fresh_head_is_recorded(tmp_path):
    """Renaming and the two legitimate conversions (fresh head, rebuilt table) are kept."""
    path = tmp_path / 'ckpt.pth'
    torch.save(original(), path)
    model = build('ViTRecognizer3D')
    load_checkpoint(model, str(path), strict=True)
    assert model.last_load_report.fresh_heads == {}
    other = build('ViTRecognizer3D', num_classes=6)
    load_checkpoint(other, str(path), strict=True)
    assert other.last_load_report.fresh_heads == {'cls_head': (5, 6)}
    assert 'backbone.pos_embed' in other.last_load_report.generated


def test_backbone_missing_key_strict():
    checkpoint, _, _ = FILES['a block tensor missing']
    with pytest.raises(RuntimeError, match='blocks.1.attn.proj.weight'):
        build('backbone').load_state_dict(checkpoint['model'], strict=True)
