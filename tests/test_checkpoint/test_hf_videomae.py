"""Hugging Face VideoMAE / VideoMAEv2 folders -> project models: logits against transformers.

The references are transformers' own models, built locally with random weights (no
download) and written with ``save_pretrained`` (4.x names, 5.x names) or, for the
``.bin`` layout that transformers 5 no longer writes, ``torch.save`` of the 4.x-named
state dict as transformers 4's ``save_pretrained(safe_serialization=False)`` did.
Each folder is loaded the ways users load it: MMEngine ``load_checkpoint`` (what
``load_from``, ``tools/test.py`` and ``tools/infer_video.py`` call), ``init_cfg``
``Pretrained``, a backbone's ``pretrained=``, ``tools/convert_checkpoint.py``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from reference_vit import RefViT

from mmaction_ext.checkpoint.hf_videomae import (
    HFCheckpointError,
    is_hf_folder,
    load_hf_checkpoint,
)
from mmaction_ext.checkpoint.local_formats import load_any_checkpoint

transformers = pytest.importorskip('transformers')
TOL = 1e-5
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
LABELS = {0: 'walk', 1: 'run', 2: 'jump'}
HF_TINY = dict(image_size=32, patch_size=16, num_frames=4, tubelet_size=2, hidden_size=48,
               num_hidden_layers=2, num_attention_heads=4, intermediate_size=96)


@pytest.fixture(autouse=True)
def mmaction_scope():
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


def randomize(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Non-trivial values everywhere (HF initialises biases to 0 and norms to 1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if 'norm' in name:
                p.copy_((1.0 if name.endswith('weight') else 0.0) + 0.2 * noise)
            else:
                p.copy_(0.1 * noise)
    return model.eval()


def hf_classifier(**overrides):
    cfg = transformers.VideoMAEConfig(**dict(HF_TINY, **overrides), id2label=LABELS,
                                      label2id={v: k for k, v in LABELS.items()})
    return randomize(transformers.VideoMAEForVideoClassification(cfg))


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    """One classifier saved three ways, one pre-training model; and their references."""
    root = tmp_path_factory.mktemp('hf')
    cls = hf_classifier()
    cls.save_pretrained(root / 'v4')                                  # 4.x names (default)
    cls.save_pretrained(root / 'v5', save_original_format=False)     # 5.x names
    from safetensors.torch import load_file
    (root / 'bin').mkdir()
    torch.save(load_file(root / 'v4' / 'model.safetensors'), root / 'bin' / 'pytorch_model.bin')
    (root / 'bin' / 'config.json').write_text((root / 'v4' / 'config.json').read_text())
    pre = randomize(transformers.VideoMAEForPreTraining(transformers.VideoMAEConfig(**HF_TINY)))
    pre.save_pretrained(root / 'pre')
    return dict(root=root, cls=cls, pre=pre)


def clip(frames: int = 4, size: int = 32, seed: int = 1) -> torch.Tensor:
    return torch.randn(2, 3, frames, size, size, generator=torch.Generator().manual_seed(seed))


def hf_logits(model, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(pixel_values=x.permute(0, 2, 1, 3, 4)).logits


def our_logits(model, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.cls_head(model.backbone(x))


def test_saved_layouts_differ_as_described(folders):
    """The two spellings really are different files (else the 5.x test tests nothing)."""
    from safetensors.torch import load_file
    v4 = load_file(folders['root'] / 'v4' / 'model.safetensors')
    v5 = load_file(folders['root'] / 'v5' / 'model.safetensors')
    assert any(k.endswith('attention.attention.q_bias') for k in v4)
    assert any(k.endswith('attention.attention.query.bias') for k in v5)
    assert not any(k.endswith('q_bias') for k in v5)


@pytest.mark.parametrize('layout,target', [
    ('v4', ''), ('v4', 'model.safetensors'), ('v5', ''), ('v5', 'model.safetensors'),
    ('bin', ''), ('bin', 'pytorch_model.bin')])
def test_load_checkpoint_matches_transformers(folders, layout, target):
    path = str(folders['root'] / layout / target) if target else str(folders['root'] / layout)
    assert is_hf_folder(path)
    _, cfg, classes, fmt = load_hf_checkpoint(path)
    assert classes == ['walk', 'run', 'jump']
    assert ('5.x' in fmt) == (layout == 'v5')
    assert cfg['backbone']['norm_cfg']['eps'] == 1e-12 and cfg['backbone']['fc_norm_eps'] == 1e-5
    model = MODELS.build(cfg).eval()
    ckpt = load_checkpoint(model, path, map_location='cpu', strict=True)
    assert ckpt['meta']['dataset_meta']['classes'] == classes
    x = clip()
    diff = (our_logits(model, x) - hf_logits(folders['cls'], x)).abs().max().item()
    assert diff <= TOL, f'{layout}/{target}: max abs diff {diff}'


def test_fc_norm_eps_option():
    """fc_norm gets its own eps; None keeps the stock behaviour (norm_cfg's eps)."""
    from mmaction_ext.models.backbones import MAEVisionTransformer
    kw = dict(arch=dict(embed_dims=48, depth=1, num_heads=4), img_size=32, num_frames=4,
              norm_cfg=dict(type='LN', eps=1e-12))
    own = MAEVisionTransformer(fc_norm_eps=1e-5, **kw)
    stock = MAEVisionTransformer(**kw)
    assert own.fc_norm.eps == 1e-5 and stock.fc_norm.eps == 1e-12
    assert own.blocks[0].norm1.eps == 1e-12
    assert sorted(own.state_dict()) == sorted(stock.state_dict())
    no_pool = MAEVisionTransformer(fc_norm_eps=1e-5, use_mean_pooling=False, **kw)
    assert no_pool.fc_norm is None and no_pool.norm.eps == 1e-12


def test_init_cfg_and_backbone_pretrained(folders):
    path = str(folders['root'] / 'v5')
    _, cfg, _, _ = load_hf_checkpoint(path)
    ref_model = folders['cls']
    x = clip()
    with torch.no_grad():
        tokens = ref_model.videomae(pixel_values=x.permute(0, 2, 1, 3, 4)).last_hidden_state
        ref_feat = ref_model.fc_norm(tokens.mean(1))
    for how in ('init_cfg', 'pretrained'):
        bcfg = dict(cfg['backbone'])
        if how == 'init_cfg':
            bcfg['init_cfg'] = dict(type='Pretrained', checkpoint=path, prefix='backbone.')
        else:
            bcfg['pretrained'] = path
        backbone = MODELS.build(bcfg)
        backbone.init_weights()
        with torch.no_grad():
            diff = (backbone.eval()(x) - ref_feat).abs().max().item()
        assert diff <= TOL, f'{how}: {diff}'


def test_pretraining_folder_encoder_output(folders):
    """A VideoMAEForPreTraining folder: the decoder is dropped, the encoder tokens match."""
    path = str(folders['root'] / 'pre')
    _, cfg, _, fmt = load_hf_checkpoint(path)
    assert 'decoder tensors dropped' in fmt
    backbone = MODELS.build(dict(cfg['backbone'], pretrained=path, return_feat_map=True))
    backbone.init_weights()
    x = clip()
    with torch.no_grad():
        ref = folders['pre'].videomae(pixel_values=x.permute(0, 2, 1, 3, 4)).last_hidden_state
        out = backbone.eval()(x).flatten(2).transpose(1, 2)
    assert (out - ref).abs().max() <= TOL


def test_other_clip_length_and_crop(folders):
    """8 frames at 48 px: the project rebuilds the fixed table as HF does for that config."""
    path = str(folders['root'] / 'v4')
    _, cfg, _, _ = load_hf_checkpoint(path)
    cfg['backbone'].update(num_frames=8, img_size=48)
    model = MODELS.build(cfg).eval()
    load_checkpoint(model, path, map_location='cpu', strict=True)
    ref = transformers.VideoMAEForVideoClassification.from_pretrained(
        path, num_frames=8, image_size=48).eval()
    x = clip(8, 48)
    assert (our_logits(model, x) - hf_logits(ref, x)).abs().max() <= TOL


def videomaev2_folder(root, learned_pos: bool = False):
    """An OpenGVLab-style VideoMAEv2 folder: original names under ``model.``."""
    torch.manual_seed(3)
    ref = RefViT(dim=48, depth=2, heads=4, frames=4, size=32, num_classes=5,
                 layer_scale=0.1, learned_pos=learned_pos).eval()
    sd = {f'model.{k}': v.contiguous() for k, v in ref.state_dict().items()}
    from safetensors.torch import save_file
    os.makedirs(root, exist_ok=True)
    save_file(sd, os.path.join(root, 'model.safetensors'))
    # The keys of OpenGVLab/VideoMAEv2-Base's published config.json, tiny values.
    config = dict(model_type='VideoMAEv2_Base', architectures=['VideoMAEv2_Base'],
                  auto_map=dict(AutoModel='modeling_videomaev2.VideoMAEv2',
                                AutoConfig='modeling_config.VideoMAEv2Config'),
                  model_config=dict(img_size=32, patch_size=16, in_chans=3, num_classes=5,
                                    embed_dim=48, depth=2, num_heads=4, mlp_ratio=4,
                                    qkv_bias=True, qk_scale=None, drop_rate=0.0,
                                    attn_drop_rate=0.0, drop_path_rate=0.0,
                                    norm_layer='nn.LayerNorm', layer_norm_eps=1e-6,
                                    init_values=0.1, use_learnable_pos_emb=learned_pos,
                                    tubelet_size=2, use_mean_pooling=True, with_cp=False,
                                    num_frames=4, cos_attn=False),
                  transformers_version='4.38.0')
    with open(os.path.join(root, 'config.json'), 'w') as f:
        json.dump(config, f)
    return ref


def test_videomaev2_folder(tmp_path):
    ref = videomaev2_folder(str(tmp_path / 'v2'))
    state_dict, cfg, classes, fmt = load_hf_checkpoint(str(tmp_path / 'v2'))
    assert fmt.startswith('OpenGVLab VideoMAEv2') and classes is None
    assert cfg['backbone']['init_values'] == 0.1 and cfg['cls_head']['num_classes'] == 5
    model = MODELS.build(cfg).eval()
    load_checkpoint(model, str(tmp_path / 'v2'), map_location='cpu', strict=True)
    x = clip()
    with torch.no_grad():
        diff = (our_logits(model, x) - ref(x)).abs().max().item()
    assert diff <= TOL


def test_bad_folders(tmp_path):
    empty = tmp_path / 'no_weights'
    empty.mkdir()
    (empty / 'config.json').write_text(json.dumps(dict(model_type='videomae')))
    assert not is_hf_folder(str(empty))
    with pytest.raises(HFCheckpointError, match='no model.safetensors or pytorch_model.bin'):
        load_hf_checkpoint(str(empty))
    other = tmp_path / 'bert'
    other.mkdir()
    (other / 'config.json').write_text(json.dumps(dict(model_type='bert')))
    (other / 'model.safetensors').write_bytes(b'')
    with pytest.raises(HFCheckpointError, match="model_type 'bert' is not \"videomae\""):
        load_any_checkpoint(str(other))
    broken = tmp_path / 'broken'
    broken.mkdir()
    (broken / 'config.json').write_text('{"model_type": "videomae"')
    (broken / 'model.safetensors').write_bytes(b'xx')
    with pytest.raises(HFCheckpointError, match='config.json: not readable as JSON'):
        load_any_checkpoint(str(broken))


def test_bin_goes_through_the_weights_only_loader(tmp_path, folders):
    """A pickle payload in pytorch_model.bin is refused, never run."""
    from mmaction_ext.checkpoint import UnsafeCheckpointError
    bad = tmp_path / 'evil'
    bad.mkdir()
    (bad / 'config.json').write_text((folders['root'] / 'v4' / 'config.json').read_text())
    torch.save({'x': torch.zeros(1), 'f': print}, bad / 'pytorch_model.bin')
    with pytest.raises(UnsafeCheckpointError, match='pickle global .print.'):
        load_any_checkpoint(str(bad))


@pytest.mark.slow
def test_convert_checkpoint_cli(folders, tmp_path):
    """HF folder -> .pth and -> .safetensors; both load back as the project's own files."""
    src = str(folders['root'] / 'v4')
    x = clip()
    ref = hf_logits(folders['cls'], x)
    env = dict(os.environ, PYTHONPATH=REPO)
    for fmt, name in (('pth', 'out.pth'), ('safetensors', 'out.safetensors')):
        dst = str(tmp_path / name)
        run = subprocess.run([sys.executable, 'tools/convert_checkpoint.py', src, dst,
                              '--format', fmt], cwd=REPO, env=env, capture_output=True,
                             text=True)
        assert run.returncode == 0, run.stderr[-2000:]
        ckpt = load_any_checkpoint(dst)
        meta = ckpt['meta']
        assert meta['dataset_meta']['classes'] == ['walk', 'run', 'jump']
        model = MODELS.build(meta['model']).eval()
        load_checkpoint(model, dst, map_location='cpu', strict=True)
        assert (our_logits(model, x) - ref).abs().max() <= TOL, fmt
    missing = subprocess.run([sys.executable, 'tools/convert_checkpoint.py',
                              str(tmp_path / 'nowhere'), str(tmp_path / 'o.pth')],
                             cwd=REPO, env=env, capture_output=True, text=True)
    assert missing.returncode != 0 and 'nowhere' in missing.stderr
    assert 'Traceback' not in missing.stderr


def test_config_takes_the_folders_architecture(folders):
    """tools/test.py, infer_video.py, export_onnx.py: the config's ViT becomes the folder's."""
    from mmengine.config import Config

    from mmaction_ext.checkpoint.hf_videomae import apply_hf_architecture
    cfg = Config.fromfile(os.path.join(REPO, 'configs/demo/vit-tiny_synthetic-motion.py'))
    assert not apply_hf_architecture(cfg.model, os.path.join(REPO, 'README.md'))
    assert apply_hf_architecture(cfg.model, str(folders['root'] / 'v5'))
    bb = cfg.model.backbone
    assert bb.arch['embed_dims'] == 48 and bb.norm_cfg['eps'] == 1e-12 and 'embed_dims' not in bb
    assert cfg.model.cls_head.num_classes == 3 and cfg.model.cls_head.in_channels == 48
    model = MODELS.build(cfg.model).eval()
    load_checkpoint(model, str(folders['root'] / 'v5'), map_location='cpu', strict=True)


def test_video_inferencer_scores_match_transformers(folders):
    """The sliding-window path (infer_video.py) on an HF folder: window scores = HF softmax."""
    import numpy as np
    from mmengine.dataset import pseudo_collate

    from mmaction_ext.apis import VideoInferencer
    cfg = os.path.join(REPO, 'configs/demo/vit-tiny_synthetic-motion.py')
    path = str(folders['root'] / 'v4')
    inf = VideoInferencer(cfg, path)
    assert inf.class_names['label'] == ['walk', 'run', 'jump']
    frames = np.random.default_rng(0).integers(0, 256, (16, 72, 96, 3), dtype=np.uint8)
    imgs, shape = inf.pipeline.transform_frames(frames)
    inds = np.arange(0, 16, 2)
    packed = [inf.pipeline.pack([imgs[i] for i in inds], shape, inds)]
    scores, _ = inf.score_batch(packed)
    with torch.no_grad():
        x = inf.model.data_preprocessor(pseudo_collate(packed), False)['inputs'].flatten(0, 1)
    ref = transformers.VideoMAEForVideoClassification.from_pretrained(
        path, num_frames=x.shape[2], image_size=x.shape[3]).eval()
    expected = hf_logits(ref, x).softmax(-1).numpy()
    assert np.abs(scores['label'] - expected).max() <= TOL


@pytest.mark.slow
def test_tools_test_py_on_a_folder(tmp_path, tiny_motion_data):
    """tools/test.py CFG HF_FOLDER: every dumped score is transformers' softmax."""
    import shutil

    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmaction_ext.evaluation.safe_results import load_results
    labels = {i: f'class{i}' for i in range(4)}
    hf = randomize(transformers.VideoMAEForVideoClassification(transformers.VideoMAEConfig(
        **HF_TINY, id2label=labels, label2id={v: k for k, v in labels.items()})))
    folder = str(tmp_path / 'hf')
    hf.save_pretrained(folder)
    data = str(tmp_path / 'data')
    shutil.copytree(tiny_motion_data, data)
    shutil.copy(os.path.join(data, 'val_list.txt'), os.path.join(data, 'test_list.txt'))
    cfg_path = os.path.join(REPO, 'configs/demo/vit-tiny_synthetic-motion.py')
    dump = str(tmp_path / 'r.pkl')
    run = subprocess.run(
        [sys.executable, 'tools/test.py', cfg_path, folder, '--work-dir', str(tmp_path / 'w'),
         '--dump', dump, '--cfg-options', f'data_root={data}', 'test_dataloader.num_workers=0',
         'test_dataloader.persistent_workers=False'],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    results = sorted(load_results(dump), key=lambda r: r['sample_idx'])
    cfg = Config.fromfile(cfg_path)
    loader = cfg.test_dataloader
    loader.dataset.update(ann_file=f'{data}/test_list.txt',
                          data_prefix=dict(video=f'{data}/videos'))
    loader.update(num_workers=0, persistent_workers=False)
    from mmaction.registry import MODELS
    preprocess = MODELS.build(cfg.model.data_preprocessor)
    scores = []
    for batch in Runner.build_dataloader(loader):
        x = preprocess(batch, False)['inputs'].flatten(0, 1)
        ref = transformers.VideoMAEForVideoClassification.from_pretrained(
            folder, num_frames=x.shape[2], image_size=x.shape[3]).eval()
        scores.append(hf_logits(ref, x).softmax(-1))
    expected = torch.cat(scores)
    got = torch.stack([torch.as_tensor(r['pred_score']) for r in results])
    assert got.shape == expected.shape
    assert (got - expected).abs().max() <= TOL
