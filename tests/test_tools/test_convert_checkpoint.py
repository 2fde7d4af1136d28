"""tools/convert_checkpoint.py: every mode round-trips through the project's safe loader.

Each case writes a small file in an original trainer's exact layout (``reference_vit``'s
RefViT has the original key names), converts it, reloads OUT with ``safe_torch_load``,
builds the model from OUT's own ``meta['model']`` and checks its logits against (a) the
config path (the original file loaded by ``load_checkpoint``, i.e. ``load_from``) and
(b) the independent reference, within 1e-5.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from reference_vit import RefViT, pretrain_state_dict

from mmaction_ext.checkpoint import safe_torch_load
from mmaction_ext.checkpoint.infer_arch import (
    ArchitectureUndeterminedError,
    infer_model_cfg,
)

TOL = 1e-5
TINY = dict(embed_dims=48, depth=2, num_heads=4)


@pytest.fixture(autouse=True)
def mmaction_scope():
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


@pytest.fixture(scope='module')
def tool(repo_root):
    spec = importlib.util.spec_from_file_location(
        'convert_checkpoint', os.path.join(repo_root, 'tools', 'convert_checkpoint.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def convert(tool, monkeypatch, capsys):
    def run(*argv):
        monkeypatch.setattr(sys, 'argv', ['convert_checkpoint.py', *map(str, argv)])
        tool.main()
        return capsys.readouterr().out
    return run


def ref(seed=3, **kw) -> RefViT:
    torch.manual_seed(seed)
    return RefViT(**kw).eval()


def save(tmp_path, obj, name='orig.pth') -> str:
    path = str(tmp_path / name)
    torch.save(obj, path)
    return path


def model_cfg(num_classes=5, frames=4, size=32, dual=False, **backbone) -> dict:
    bb = dict(type='MAEVisionTransformer', arch=TINY, img_size=size, num_frames=frames,
              **backbone)
    if dual:
        return dict(type='DualHandRecognizer', backbone=bb,
                    lh_head=dict(type='TimeSformerHead', num_classes=5, in_channels=48),
                    rh_head=dict(type='TimeSformerHead', num_classes=7, in_channels=48))
    return dict(type='ViTRecognizer3D', backbone=bb,
                cls_head=dict(type='TimeSformerHead', num_classes=num_classes,
                              in_channels=48))


def write_config(tmp_path, cfg: dict) -> str:
    path = tmp_path / 'cfg.py'
    path.write_text(f'model = {cfg!r}\n')
    return str(path)


def build(cfg: dict):
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def outputs(model, x, heads=('cls_head',)):
    with torch.no_grad():
        feats = model.backbone(x)
        return [getattr(model, h)(feats) for h in heads
                if getattr(model, h, None) is not None]


def reloaded(dst):
    dst = str(dst)
    """OUT through the safe loader; the model its own meta describes, OUT loaded strictly."""
    dst = str(dst)
    out = safe_torch_load(dst)
    _assert_builtins(out['meta'])
    model = build(out['meta']['model'])
    absent = out['meta']['not_in_checkpoint']
    if not absent:
        model.load_state_dict(out['state_dict'], strict=True)
    else:  # only what the file lacked may be missing
        loaded = model.load_state_dict(out['state_dict'], strict=False)
        assert sorted(loaded.missing_keys) == sorted(absent) and not loaded.unexpected_keys
    return out, model


def _assert_builtins(obj):
    if isinstance(obj, dict):
        assert type(obj) is dict
        for k, v in obj.items():
            assert type(k) is str
            _assert_builtins(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _assert_builtins(v)
    else:
        assert obj is None or type(obj) in (bool, int, float, str), type(obj)


def check_round_trip(dst, src, cfg, x, expected, heads=("cls_head",)):
    dst = str(dst)
    """OUT == the config path (load_from of the original) == the reference."""
    out, model = reloaded(dst)
    via_config = build(cfg)
    load_checkpoint(via_config, src)                   # what load_from does
    got, want = outputs(model, x, heads), outputs(via_config, x, heads)
    assert len(got) == len(want) == len(expected)
    for g, w, e in zip(got, want, expected):
        assert (g - w).abs().max() < TOL
        assert (g - e).abs().max() < TOL
    # and OUT itself loads by load_from into the config's model, as a native file
    native = build(cfg)
    load_checkpoint(native, dst)
    if out['meta']['config']:  # same model: nothing to convert
        assert not hasattr(native, 'last_load_report')
    for g, n in zip(got, outputs(native, x, heads)):
        assert (g - n).abs().max() < TOL
    return out


def test_config_mode(tmp_path, convert):
    r = ref()
    src = save(tmp_path, {'model': r.state_dict(), 'epoch': 9})
    cfg = model_cfg()
    dst = tmp_path / 'out.pth'
    assert 'wrote' in convert(src, dst, '--config', write_config(tmp_path, cfg))
    x = torch.randn(2, 3, 4, 32, 32)
    out = check_round_trip(dst, src, cfg, x, [r(x)])
    assert out['meta']['config'].endswith('cfg.py') and out['meta']['weights'] == 'model'


def test_show_writes_nothing(tmp_path, convert):
    src = save(tmp_path, {'model': ref().state_dict()})
    text = convert(src, tmp_path / 'out.pth', '--show', '--num-heads', 4)
    assert 'kept from checkpoint (5 classes)' in text and '4 attention heads (given)' in text
    assert not os.path.exists(tmp_path / 'out.pth')


def test_inferred_fine_tuned_needs_heads_when_not_recorded(tmp_path, convert):
    r = ref()
    src = save(tmp_path, {'module': r.state_dict()})
    with pytest.raises(SystemExit, match='--num-heads'):
        convert(src, tmp_path / 'out.pth')
    text = convert(src, tmp_path / 'out.pth', '--num-heads', 4)
    assert 'inferred from the checkpoint' in text and 'LayerNorm eps 1e-06' in text
    x = torch.randn(2, 3, 4, 32, 32)
    check_round_trip(tmp_path / 'out.pth', src, model_cfg(), x, [r(x)])


def test_inferred_cosine_attention_heads_from_scale(tmp_path, convert):
    """Width 40 is no named size; attn.scale (5, 1, 1) says 5 heads (not 40 // 64)."""
    r = ref(dim=40, heads=5, cos_attn=True, layer_scale=0.1)
    with torch.no_grad():  # one head above the clamp: 4.6052, not log(100), counts
        for blk in r.blocks:
            blk.attn.scale[0] = 6.0
    src = save(tmp_path, {'model': r.state_dict()})
    text = convert(src, tmp_path / 'out.pth')
    assert '5 attention heads (cosine attention' in text
    cfg = dict(type='ViTRecognizer3D', backbone=dict(
        type='MAEVisionTransformer', arch=dict(embed_dims=40, depth=2, num_heads=5),
        img_size=32, num_frames=4, cos_attn=True, init_values=0.1),
        cls_head=dict(type='TimeSformerHead', num_classes=5, in_channels=40))
    x = torch.randn(2, 3, 4, 32, 32)
    check_round_trip(tmp_path / 'out.pth', src, cfg, x, [r(x)])


def test_inferred_class_token_model_keeps_norm(tmp_path, convert):
    r = ref(mean_pooling=False)
    src = save(tmp_path, r.state_dict())
    text = convert(src, tmp_path / 'out.pth', '--num-heads', 4)
    assert 'first token + norm (norm.* present, no fc_norm.*)' in text
    out, _ = reloaded(tmp_path / 'out.pth')
    assert out['meta']['model']['backbone']['use_mean_pooling'] is False
    assert 'backbone.norm.weight' in out['state_dict']
    x = torch.randn(2, 3, 4, 32, 32)
    check_round_trip(tmp_path / 'out.pth', src, model_cfg(use_mean_pooling=False), x, [r(x)])


def test_class_token_checkpoint_into_mean_pooling_config_is_refused(tmp_path, convert):
    src = save(tmp_path, ref(mean_pooling=False).state_dict())
    with pytest.raises(SystemExit, match='use_mean_pooling=False'):
        convert(src, tmp_path / 'out.pth', '--config', write_config(tmp_path, model_cfg()))
    with pytest.raises(Exception, match='use_mean_pooling=False'):
        load_checkpoint(build(model_cfg()), src)


def test_inferred_learned_table_grid_from_saved_args(tmp_path, convert):
    r = ref(learned_pos=True, frames=4, size=64)                 # 2x4x4 = 32 tokens
    args = argparse.Namespace(num_frames=4, input_size=64, tubelet_size=2)
    src = save(tmp_path, {'model': r.state_dict(), 'args': args})
    text = convert(src, tmp_path / 'out.pth', '--num-heads', 4)
    assert 'learned, 2x4x4 tokens (4 frames at 64' in text
    x = torch.randn(2, 3, 4, 64, 64)
    check_round_trip(tmp_path / 'out.pth', src,
                     model_cfg(size=64, use_learnable_pos_emb=True), x, [r(x)])


def test_ambiguous_token_grid_is_refused_until_the_clip_is_given(tmp_path, convert):
    """32 tokens: 2x4x4, 8x2x2 or 32x1x1: the file alone cannot tell."""
    r = ref(learned_pos=True, frames=4, size=64)
    src = save(tmp_path, {'model': r.state_dict()})               # no args saved
    dst = tmp_path / 'out.pth'
    with pytest.raises(SystemExit, match=r'2x4x4, 8x2x2.*--frames and --size'):
        convert(src, dst, '--num-heads', 4)
    assert not dst.exists()
    # the config path refuses too instead of resampling from a guessed grid
    big = model_cfg(frames=16, size=64, use_learnable_pos_emb=True)
    with pytest.raises(Exception, match='could be 2x4x4, 8x2x2'):
        load_checkpoint(build(big), src)
    convert(src, dst, '--num-heads', 4, '--frames', 4, '--size', 64)
    x = torch.randn(2, 3, 4, 64, 64)
    out, model = reloaded(dst)
    assert (outputs(model, x)[0] - r(x)).abs().max() < TOL
    assert out['meta']['model']['backbone']['num_frames'] == 4
    # with a config for another clip, --frames/--size name the checkpoint's own clip
    convert(src, dst, '--config', write_config(tmp_path, big), '--frames', 4, '--size', 64)
    from reference_vit import reference_interpolate
    table = reference_interpolate(r.pos_embed.detach(), (2, 4, 4), (8, 4, 4))
    x16 = torch.randn(1, 3, 16, 64, 64)
    _, model = reloaded(dst)
    with torch.no_grad():
        assert (outputs(model, x16)[0] - r(x16, pos_embed=table)).abs().max() < TOL


def test_inferred_adh_vit_dual_head_runs_with_eps_1e5(tmp_path, convert):
    r = ref(dual=True, eps=1e-5)
    src = save(tmp_path, {'model': r.state_dict(), 'epoch': 4})
    text = convert(src, tmp_path / 'out.pth', '--num-heads', 4)
    assert 'LayerNorm eps 1e-05 (ADH-ViT file' in text
    out, _ = reloaded(tmp_path / 'out.pth')
    assert out['meta']['model']['backbone']['norm_cfg'] == dict(type='LN', eps=1e-5)
    assert out['meta']['heads'] == ['lh_head', 'rh_head']
    x = torch.randn(2, 3, 4, 32, 32)
    check_round_trip(tmp_path / 'out.pth', src,
                     model_cfg(dual=True, norm_cfg=dict(type='LN', eps=1e-5)), x,
                     [r(x, 'lh'), r(x, 'rh')], heads=('lh_head', 'rh_head'))


def test_inferred_pre_training_with_num_classes(tmp_path, convert):
    r = ref()
    src = save(tmp_path, {'model': pretrain_state_dict(r, amd=True)})
    text = convert(src, tmp_path / 'out.pth', '--num-heads', 4, '--num-classes', 6)
    assert 'pre-training file: fine-tuning mean-pools' in text and 'head: 6 classes' in text
    out, model = reloaded(tmp_path / 'out.pth')
    # the file has no fc_norm and no head: OUT does not invent them
    assert sorted(out['meta']['not_in_checkpoint']) == [
        'backbone.fc_norm.bias', 'backbone.fc_norm.weight', 'cls_head.fc_cls.bias',
        'cls_head.fc_cls.weight']
    via_config = build(model_cfg(num_classes=6))
    load_checkpoint(via_config, src)
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        r.fc_norm.weight.fill_(1.0), r.fc_norm.bias.zero_()
        assert (model.backbone(x) - via_config.backbone(x)).abs().max() < TOL
        assert (model.backbone(x) - r.features(x)).abs().max() < TOL
    # the head SRC lacks starts as on the config path: trunc_normal(0.02) x 0.001, bias 0
    for m in (model, via_config):
        w, b = m.cls_head.fc_cls.weight, m.cls_head.fc_cls.bias
        assert 0.01 * 0.001 < w.std() < 0.03 * 0.001 and w.abs().max() <= 2 * 0.001
        assert torch.count_nonzero(b) == 0


def _ema_original(tmp_path):
    r, r_ema = ref(seed=3), ref(seed=4)
    src = save(tmp_path, {'model': r.state_dict(), 'model_ema': r_ema.state_dict(),
                          'epoch': 2, 'args': argparse.Namespace(model_ema=True)})
    return r, r_ema, src


def test_ema_weights_of_an_original_file(tmp_path, convert):
    r, r_ema, src = _ema_original(tmp_path)
    cfg = write_config(tmp_path, model_cfg())
    x = torch.randn(2, 3, 4, 32, 32)
    convert(src, tmp_path / 'ema.pth', '--config', cfg, '--ema')
    convert(src, tmp_path / 'raw.pth', '--config', cfg)
    out, ema = reloaded(tmp_path / 'ema.pth')
    _, raw = reloaded(tmp_path / 'raw.pth')
    assert out['meta']['weights'] == 'ema'
    assert (outputs(ema, x)[0] - r_ema(x)).abs().max() < TOL
    assert (outputs(raw, x)[0] - r(x)).abs().max() < TOL
    assert (r(x) - r_ema(x)).abs().max() > 1e-2            # the choice matters
    convert(src, tmp_path / 'ema2.pth', '--ema', '--num-heads', 4)   # inferred mode too
    _, ema2 = reloaded(tmp_path / 'ema2.pth')
    assert (outputs(ema2, x)[0] - r_ema(x)).abs().max() < TOL


def mmengine_ema_checkpoint(raw_model, ema_weights) -> dict:
    """What MMEngine's EMAHook.before_save_checkpoint writes (its own code does the swap)."""
    from mmengine.hooks import EMAHook
    from mmengine.model import ExponentialMovingAverage
    ema = ExponentialMovingAverage(raw_model)
    ema.module.load_state_dict(ema_weights)
    hook = EMAHook()
    hook.ema_model = ema
    checkpoint = {'meta': {}, 'state_dict': raw_model.state_dict()}
    hook.before_save_checkpoint(None, checkpoint)
    return checkpoint


def test_ema_weights_of_an_mmengine_checkpoint(tmp_path, convert):
    raw, avg = build(model_cfg()), build(model_cfg())
    torch.manual_seed(1)
    for p in avg.parameters():
        p.data.add_(0.05 * torch.randn_like(p))
    src = save(tmp_path, mmengine_ema_checkpoint(raw, avg.state_dict()))
    cfg = write_config(tmp_path, model_cfg())
    x = torch.randn(2, 3, 4, 32, 32)
    convert(src, tmp_path / 'ema.pth', '--config', cfg, '--ema')
    _, got = reloaded(tmp_path / 'ema.pth')
    assert (outputs(got, x)[0] - outputs(avg, x)[0]).abs().max() < TOL
    plain = save(tmp_path, {'meta': {}, 'state_dict': raw.state_dict()}, 'plain.pth')
    with pytest.raises(SystemExit, match='without EMA weights'):
        convert(plain, tmp_path / 'x.pth', '--config', cfg, '--ema')


def test_infer_refuses_a_contradicting_head_count():
    sd = ref(dim=40, heads=5, cos_attn=True).state_dict()
    with pytest.raises(ArchitectureUndeterminedError, match='5 heads'):
        infer_model_cfg(sd, num_heads=4)


def test_headless_norm_only_file_reads_as_a_pre_training_encoder(tmp_path):
    """norm.* without head and without decoder: an extracted pre-training encoder."""
    sd = {k: v for k, v in ref(mean_pooling=False).state_dict().items()
          if not k.startswith('head.')}
    cfg, notes = infer_model_cfg(sd, num_heads=4)
    assert cfg['backbone']['use_mean_pooling'] is True
    assert any('norm.* but no head' in n for n in notes)
    model = build(model_cfg())
    load_checkpoint(model, save(tmp_path, sd))          # loads; norm.* reported dropped
    assert any('norm.weight' in k for keys in model.last_load_report.dropped.values()
               for k in keys)
