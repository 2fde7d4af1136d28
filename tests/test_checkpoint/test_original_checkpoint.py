"""Original VideoMAEv2 / AMD / ADH-ViT checkpoints -> project models, logits vs a reference.

Checkpoints are written by ``reference_vit.RefViT`` (independent plain torch with the
original key names) and loaded the way users do: MMEngine ``load_checkpoint`` (what
``load_from`` and ``tools/test.py`` call), backbone ``pretrained=``, ``init_cfg``.
"""
from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
from unittest import mock

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from reference_vit import RefViT, pretrain_state_dict, reference_interpolate

from mmaction_ext.checkpoint import (
    CheckpointLoadError,
    UnsafeCheckpointError,
    install_original_checkpoint_hook,
)
from mmaction_ext.checkpoint.original import (
    ArchitectureMismatchError,
    NoRecognisedKeysError,
    convert_original_checkpoint,
)

TINY = dict(embed_dims=48, depth=2, num_heads=4)
TOL = 1e-5
# What VideoMAEv2's run_class_finetuning.py saves under 'args' (the fields that matter).
CLIP_ARGS = argparse.Namespace(num_frames=4, input_size=32, tubelet_size=2)


@pytest.fixture(autouse=True)
def mmaction_scope():
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


def recognizer(num_classes: int = 5, frames: int = 4, size: int = 32, **backbone):
    model = MODELS.build(dict(
        type='ViTRecognizer3D',
        backbone=dict(type='MAEVisionTransformer', arch=TINY, img_size=size,
                      num_frames=frames, **backbone),
        cls_head=dict(type='TimeSformerHead', num_classes=num_classes, in_channels=48)))
    model.init_weights()
    return model.eval()


def logits(model, x, head: str = 'cls_head'):
    with torch.no_grad():
        return getattr(model, head)(model.backbone(x))


def ref_model(**kw) -> RefViT:
    torch.manual_seed(3)
    return RefViT(**kw).eval()


def save(tmp_path, obj, name='ckpt.pth') -> str:
    path = str(tmp_path / name)
    torch.save(obj, path)
    return path


def wrap(sd, wrapper, prefix):
    sd = collections.OrderedDict((prefix + k, v) for k, v in sd.items())
    if wrapper is None:
        return sd
    extra = {'epoch': 3, 'args': __import__('argparse').Namespace(num_frames=4)}
    return {wrapper: sd, **extra}


@pytest.mark.parametrize('wrapper,prefix', [
    ('model', ''), ('module', ''), ('state_dict', ''), (None, ''),
    ('model', '_orig_mod.'), (None, 'module.'), ('module', 'module.'), ('model', 'encoder.'),
    ('state_dict', 'backbone.'), (None, 'module._orig_mod.'), ('model', 'module.encoder.')])
def test_fine_tuned_formats_give_reference_logits(tmp_path, wrapper, prefix):
    ref = ref_model()
    path = save(tmp_path, wrap(ref.state_dict(), wrapper, prefix))
    model = recognizer()
    load_checkpoint(model, path)
    x = torch.randn(2, 3, 4, 32, 32)
    assert (logits(model, x) - ref(x)).abs().max() < TOL
    report = model.last_load_report
    assert report.heads['cls_head'].startswith('kept')
    assert not report.missing
    assert len(report.converted) == 2 + 2 * 2 * 2 + 2  # patch_embed.proj, fc1/fc2, head


def test_report_goes_to_the_logger(tmp_path):
    path = save(tmp_path, {'model': ref_model().state_dict(), 'epoch': 1})
    model = recognizer()
    with mock.patch('mmaction_ext.checkpoint.convert_once.print_log') as log:
        load_checkpoint(model, path)
    text = log.call_args[0][0]
    assert 'VideoMAEv2/AMD fine-tuned' in text
    assert 'renamed (' in text and 'patch_embed.proj -> backbone.patch_embed.projection' in text
    assert 'cls_head' in text and 'kept from checkpoint (5 classes)' in text
    assert 'epoch' in text
    assert len(text.splitlines()) < 20


def test_other_class_count_gives_scaled_fresh_head(tmp_path):
    ref = ref_model(num_classes=400)
    path = save(tmp_path, {'model': ref.state_dict()})
    model = recognizer(num_classes=6)
    torch.manual_seed(0)
    load_checkpoint(model, path)
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        assert (model.backbone(x) - ref.features(x)).abs().max() < TOL
    w, b = model.cls_head.fc_cls.weight, model.cls_head.fc_cls.bias
    assert torch.count_nonzero(b) == 0
    assert 0.01 * 0.001 < w.std() < 0.03 * 0.001  # trunc_normal(0.02) x init_scale 0.001
    report = model.last_load_report
    assert 'new: checkpoint has 400 classes, config 6' in report.heads['cls_head']
    assert 'init_scale 0.001' in report.heads['cls_head']


def test_init_weights_scales_a_new_head():
    torch.manual_seed(0)
    model = recognizer(num_classes=6)
    w = model.cls_head.fc_cls.weight
    assert w.abs().max() <= 2 * 0.001 and 0.01 * 0.001 < w.std() < 0.03 * 0.001


@pytest.mark.parametrize('amd', [False, True])
def test_pre_training_checkpoint_loads_encoder_only(tmp_path, amd):
    ref = ref_model()
    path = save(tmp_path, {'model': pretrain_state_dict(ref, amd=amd)})
    model = recognizer()
    load_checkpoint(model, path)
    with torch.no_grad():
        ref.fc_norm.weight.fill_(1.0), ref.fc_norm.bias.zero_()
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        assert (model.backbone(x) - ref.features(x)).abs().max() < TOL
    report = model.last_load_report
    assert report.source_format == ('AMD pre-training' if amd else 'VideoMAE pre-training')
    dropped = [k for keys in report.dropped.values() for k in keys]
    assert 'decoder.head.weight' in dropped and 'mask_token' in dropped
    assert 'encoder_to_decoder.weight' in dropped
    assert any('norm.weight' in k for k in report.dropped['unused (the model mean-pools with '
                                                          'fc_norm)'])
    assert set(report.missing) == {'backbone.fc_norm.weight', 'backbone.fc_norm.bias',
                                   'cls_head.fc_cls.weight', 'cls_head.fc_cls.bias'}
    assert report.heads['cls_head'].startswith('not in the checkpoint')
    assert model.cls_head.fc_cls.weight.abs().max() <= 2 * 0.001  # init_weights' scaled head
    if amd:
        assert 'generators.0.head.weight' in dropped
        assert 'encoder.projection_heads.0.weight' in dropped


def test_layer_scale_and_cosine_attention(tmp_path):
    ref = ref_model(layer_scale=0.1, cos_attn=True)
    path = save(tmp_path, {'module': ref.state_dict()})
    model = recognizer(init_values=0.1, cos_attn=True)
    load_checkpoint(model, path)
    x = torch.randn(2, 3, 4, 32, 32)
    assert (logits(model, x) - ref(x)).abs().max() < TOL
    with pytest.raises(ArchitectureMismatchError, match='init_values'):
        load_checkpoint(recognizer(cos_attn=True), path)
    with pytest.raises(ArchitectureMismatchError, match='cos_attn=True'):
        load_checkpoint(recognizer(init_values=0.1), path)


def test_norm_of_a_no_mean_pooling_model(tmp_path):
    ref = ref_model(mean_pooling=False)
    path = save(tmp_path, ref.state_dict())
    model = recognizer(use_mean_pooling=False)
    load_checkpoint(model, path)
    x = torch.randn(2, 3, 4, 32, 32)
    assert (logits(model, x) - ref(x)).abs().max() < TOL


@pytest.mark.parametrize('learnable', [False, True])
def test_learned_pos_embed_interpolated(tmp_path, learnable):
    ref = ref_model(learned_pos=True)                       # grid 2x2x2
    # the originals save their CLI args: the grid of the table is read from them
    path = save(tmp_path, {'model': ref.state_dict(), 'args': CLIP_ARGS})
    model = recognizer(frames=8, size=48, use_learnable_pos_emb=learnable)  # grid 4x3x3
    load_checkpoint(model, path)
    table = reference_interpolate(ref.pos_embed.detach(), (2, 2, 2), (4, 3, 3))
    x = torch.randn(2, 3, 8, 48, 48)
    with torch.no_grad():
        assert (logits(model, x) - ref(x, pos_embed=table)).abs().max() < TOL
    assert '2x2x2 -> 4x3x3' in model.last_load_report.pos_embed


def test_learned_pos_embed_same_size_loads_as_is(tmp_path):
    ref = ref_model(learned_pos=True)
    path = save(tmp_path, {'model': ref.state_dict()})
    model = recognizer(use_learnable_pos_emb=True)
    load_checkpoint(model, path)
    x = torch.randn(2, 3, 4, 32, 32)
    assert (logits(model, x) - ref(x)).abs().max() < TOL


def test_fixed_sinusoid_rebuilt_for_more_frames(tmp_path):
    ref4 = ref_model()
    path = save(tmp_path, {'model': ref4.state_dict()})
    model = recognizer(frames=8, size=48)
    load_checkpoint(model, path)
    ref8 = RefViT(frames=8, size=48).eval()
    ref8.load_state_dict(ref4.state_dict())
    x = torch.randn(1, 3, 8, 48, 48)
    assert (logits(model, x) - ref8(x)).abs().max() < TOL


def _dual_model(lh=5, rh=7):
    try:
        from mmaction_ext.models.dual_hand import DualHandRecognizer  # noqa: F401
        model = MODELS.build(dict(
            type='DualHandRecognizer',
            backbone=dict(type='MAEVisionTransformer', arch=TINY, img_size=32, num_frames=4),
            lh_head=dict(num_classes=lh, in_channels=48),
            rh_head=dict(num_classes=rh, in_channels=48)))
    except ImportError:  # the dual-hand recognizer is another module's; test the hook alone
        model = torch.nn.Module()
        model.backbone = MODELS.build(dict(type='MAEVisionTransformer', arch=TINY,
                                           img_size=32, num_frames=4))
        model.lh_head = MODELS.build(dict(type='TimeSformerHead', num_classes=lh,
                                          in_channels=48))
        model.rh_head = MODELS.build(dict(type='TimeSformerHead', num_classes=rh,
                                          in_channels=48))
    install_original_checkpoint_hook(model)
    return model.eval()


@pytest.mark.parametrize('wrapper', ['model', 'module'])
def test_adh_vit_dual_head_checkpoint(tmp_path, wrapper):
    ref = ref_model(dual=True)
    path = save(tmp_path, {wrapper: ref.state_dict()})
    model = _dual_model()
    load_checkpoint(model, path)
    x = torch.randn(2, 3, 4, 32, 32)
    assert (logits(model, x, 'lh_head') - ref(x, 'lh')).abs().max() < TOL
    assert (logits(model, x, 'rh_head') - ref(x, 'rh')).abs().max() < TOL
    assert model.last_load_report.source_format == 'ADH-ViT dual-head'
    # a single-head recognizer drops both hands' heads and says so
    single = recognizer()
    load_checkpoint(single, path)
    assert 'heads the model does not have' in single.last_load_report.dropped


def test_dual_head_with_interpolation(tmp_path):
    ref = ref_model(dual=True, learned_pos=True)
    path = save(tmp_path, {'model': ref.state_dict(), 'args': CLIP_ARGS})
    model = _dual_model()
    model.backbone = MODELS.build(dict(type='MAEVisionTransformer', arch=TINY, img_size=48,
                                       num_frames=8))
    load_checkpoint(model, path)
    table = reference_interpolate(ref.pos_embed.detach(), (2, 2, 2), (4, 3, 3))
    x = torch.randn(2, 3, 8, 48, 48)
    with torch.no_grad():
        assert (logits(model.eval(), x, 'rh_head')
                - ref(x, 'rh', pos_embed=table)).abs().max() < TOL


def test_project_checkpoint_passes_through(tmp_path):
    a = recognizer()
    path = save(tmp_path, {'meta': {}, 'state_dict': a.state_dict()})
    b = recognizer()
    load_checkpoint(b, path)
    assert not hasattr(b, 'last_load_report')
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k


def test_backbone_pretrained_and_init_cfg(tmp_path):
    ref = ref_model()
    path = save(tmp_path, {'model': ref.state_dict()})
    x = torch.randn(2, 3, 4, 32, 32)
    for kw in (dict(pretrained=path), dict(init_cfg=dict(type='Pretrained', checkpoint=path))):
        backbone = MODELS.build(dict(type='MAEVisionTransformer', arch=TINY, img_size=32,
                                     num_frames=4, **kw))
        backbone.init_weights()
        with torch.no_grad():
            assert (backbone.eval()(x) - ref.features(x)).abs().max() < TOL
        assert 'a backbone loads no head' in ' '.join(backbone.last_load_report.dropped)


# ---- bad checkpoints: each one a clear error ----

def test_missing_file(tmp_path):
    with pytest.raises(CheckpointLoadError, match='checkpoint not found'):
        load_checkpoint(recognizer(), str(tmp_path / 'nope.pth'))
    backbone = MODELS.build(dict(type='MAEVisionTransformer', arch=TINY, img_size=32,
                                 num_frames=4, pretrained=str(tmp_path / 'nope.pth')))
    with pytest.raises(CheckpointLoadError, match='nope.pth'):
        backbone.init_weights()


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / 'notes.pth'
    path.write_text('this is not a checkpoint\n')
    with pytest.raises(CheckpointLoadError, match='not a readable torch checkpoint'):
        load_checkpoint(recognizer(), str(path))


def test_wrong_architecture_names_both_shapes(tmp_path):
    torch.manual_seed(0)
    bigger = RefViT(dim=64, depth=3, heads=4).state_dict()
    path = save(tmp_path, {'model': bigger})
    with pytest.raises(ArchitectureMismatchError,
                       match='checkpoint embed dim 64, depth 3; config 48, 2'):
        load_checkpoint(recognizer(), path)
    backbone = MODELS.build(dict(type='MAEVisionTransformer', arch=TINY, img_size=32,
                                 num_frames=4, pretrained=path))
    with pytest.raises(ArchitectureMismatchError, match='ckpt.pth: wrong architecture'):
        backbone.init_weights()
    vit_s = {'patch_embed.proj.weight': torch.zeros(384, 3, 2, 16, 16)}
    vit_s.update({f'blocks.{i}.norm1.weight': torch.zeros(384) for i in range(12)})
    with pytest.raises(ArchitectureMismatchError, match="ViT-S: use arch='s'"):
        convert_original_checkpoint(vit_s, recognizer().state_dict())


def test_wrong_tubelet_names_both_patch_shapes(tmp_path):
    ref = RefViT(tubelet=1).state_dict()
    with pytest.raises(ArchitectureMismatchError, match='tubelet 1.*tubelet 2'):
        convert_original_checkpoint(ref, recognizer().state_dict())


def test_no_recognisable_keys(tmp_path):
    path = save(tmp_path, {'model': {'conv1.weight': torch.zeros(3), 'fc.bias': torch.zeros(2)}})
    with pytest.raises(NoRecognisedKeysError, match='no ViT backbone weights.*conv1.weight'):
        load_checkpoint(recognizer(), path)


class Payload:
    """Any class outside the allow-list: unpickling it could run code."""


def test_unsafe_pickle_refused(tmp_path):
    path = save(tmp_path, {'model': ref_model().state_dict(), 'extra': Payload()})
    with pytest.raises(UnsafeCheckpointError, match='Payload'):
        load_checkpoint(recognizer(), path)


# ---- tools/convert_checkpoint.py ----

def _convert_tool(repo_root):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'convert_checkpoint', os.path.join(repo_root, 'tools', 'convert_checkpoint.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_convert_tool_single_and_dual(tmp_path, repo_root, capsys, monkeypatch):
    tool = _convert_tool(repo_root)
    ref = ref_model()
    src = save(tmp_path, {'model': ref.state_dict(), 'epoch': 9}, 'orig.pth')
    dual = save(tmp_path, {'module': ref_model(dual=True).state_dict()}, 'dual.pth')
    dst = str(tmp_path / 'out' / 'conv.pth')

    def run(*argv):
        monkeypatch.setattr(sys, 'argv', ['convert_checkpoint.py', *argv])
        tool.main()
        return capsys.readouterr().out

    assert 'kept from checkpoint (5 classes)' in run(src, dst, '--show', '--num-heads', '4')
    assert not os.path.exists(dst)
    assert 'wrote' in run(src, dst, '--size', '32', '--frames', '4', '--num-heads', '4')
    run(dual, dst + '.dual', '--size', '32', '--frames', '4', '--num-heads', '4')
    converted = torch.load(dst, weights_only=True)
    sd = converted['state_dict']
    assert 'backbone.blocks.1.mlp.layers.1.weight' in sd and 'cls_head.fc_cls.weight' in sd
    assert torch.equal(sd['cls_head.fc_cls.weight'], ref.head.weight)
    assert 'VideoMAEv2/AMD fine-tuned' in converted['meta']['load_report']
    model = recognizer()
    load_checkpoint(model, dst)
    assert not hasattr(model, 'last_load_report')  # already in this model's names
    x = torch.randn(1, 3, 4, 32, 32)
    assert (logits(model, x) - ref(x)).abs().max() < TOL
    dual_sd = torch.load(dst + '.dual', weights_only=True)['state_dict']
    assert {'lh_head.fc_cls.weight', 'rh_head.fc_cls.bias'} <= set(dual_sd)
    assert not [f for f in os.listdir(tmp_path / 'out') if f.endswith('.tmp')]


@pytest.mark.slow
def test_convert_tool_command_line(tmp_path, repo_root):
    src = save(tmp_path, {'model': ref_model().state_dict()}, 'orig.pth')
    proc = subprocess.run(
        [sys.executable, os.path.join(repo_root, 'tools', 'convert_checkpoint.py'), src,
         str(tmp_path / 'conv.pth'), '--size', '32', '--frames', '4', '--num-heads', '4'],
        env=dict(os.environ, OMP_NUM_THREADS='1'), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert os.path.exists(tmp_path / 'conv.pth')
    bad = subprocess.run(
        [sys.executable, os.path.join(repo_root, 'tools', 'convert_checkpoint.py'),
         str(tmp_path / 'missing.pth'), str(tmp_path / 'x.pth')],
        env=dict(os.environ, OMP_NUM_THREADS='1'), capture_output=True, text=True)
    assert bad.returncode != 0 and 'checkpoint not found' in bad.stderr


# ---- the originals' numerics: cosine-attention clamp, ADH-ViT's LayerNorm eps ----

def test_cosine_attention_clamps_at_the_originals_literal(tmp_path):
    """torch.clamp(scale, max=4.6052) as in VideoMAEv2/AMD/ADH-ViT, not log(100)."""
    import copy
    import math
    ref = ref_model(cos_attn=True).double()
    with torch.no_grad():
        for blk in ref.blocks:
            blk.attn.scale.fill_(6.0)                  # every head above the clamp
    path = save(tmp_path, {'model': ref.state_dict()})
    model = recognizer(cos_attn=True).double()
    load_checkpoint(model, path)
    x = torch.randn(2, 3, 4, 32, 32, dtype=torch.float64)
    got = logits(model, x)
    assert (got - ref(x)).abs().max() < 1e-10
    log100 = copy.deepcopy(ref)
    for blk in log100.blocks:
        blk.attn.cos_clamp = math.log(100.0)
    assert (got - log100(x)).abs().max() > 1e-8        # the two clamps are told apart


def test_adh_vit_checkpoint_runs_with_layer_norm_eps_1e5(tmp_path):
    """ADH-ViT builds nn.LayerNorm without eps (1e-5); with 1e-6 the logits differ."""
    ref = ref_model(dual=True, eps=1e-5).double()
    path = save(tmp_path, {'model': ref.state_dict()})
    x = torch.randn(2, 3, 4, 32, 32, dtype=torch.float64)
    results = {}
    for eps in (1e-5, 1e-6):
        model = _dual_model()
        model.backbone = MODELS.build(dict(
            type='MAEVisionTransformer', arch=TINY, img_size=32, num_frames=4,
            norm_cfg=dict(type='LN', eps=eps)))
        model = model.double()
        load_checkpoint(model, path)
        results[eps] = (logits(model, x, 'lh_head') - ref(x, 'lh')).abs().max()
    assert results[1e-5] < 1e-10
    assert results[1e-6] > 1e-9
