"""Hugging Face VideoMAE / VideoMAEv2 folders as this project's recognizer checkpoints.

Pure functions: a folder (``config.json`` + ``model.safetensors`` or
``pytorch_model.bin``) or one of its weight files becomes a state dict in the native
names of ``ViTRecognizer3D`` (``backbone.*``, ``cls_head.fc_cls.*``), the model config
its ``config.json`` describes, and the class names of ``id2label``. Three layouts:

* transformers 4.x names: ``query/key/value.weight`` without Linear biases, separate
  ``attention.attention.q_bias``/``v_bias`` (what 5.x ``save_pretrained`` also writes
  by default);
* transformers 5.x names (``save_original_format=False``): ``query.bias``/``value.bias``;
* OpenGVLab's VideoMAEv2 folders (``trust_remote_code`` models): the original
  VideoMAEv2 names under a ``model.`` prefix and a ``model_config`` dict in config.json.

Safetensors files are read with the safetensors package; ``.bin`` files only through
the project's weights-only loader. The fixed position table is not saved by either
library; the receiving model builds it for its own clip (see ``pos_embed``).
"""
from __future__ import annotations

import json
import os
import os.path as osp
import re
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Tuple

import torch
from torch import Tensor

from .safe_load import CheckpointLoadError, safe_torch_load

WEIGHT_FILES = ('model.safetensors', 'pytorch_model.bin')
# HF's classification head normalises with a plain nn.LayerNorm (eps 1e-5) while the
# encoder's norms use config.layer_norm_eps (default 1e-12).
HF_FC_NORM_EPS = 1e-5
VIDEOMAEV2_LN_EPS = 1e-6   # the original VideoMAEv2 builds every LayerNorm with eps 1e-6


class HFCheckpointError(CheckpointLoadError):
    """A Hugging Face folder that cannot be read as a VideoMAE checkpoint."""


def hf_folder_of(path: str) -> str | None:
    """The HF folder ``path`` names (itself, or the folder of its weight file), or None."""
    path = osp.expanduser(str(path))
    folder = path if osp.isdir(path) else osp.dirname(path)
    if osp.isfile(path) and not path.endswith(('.safetensors', '.bin')):
        return None
    return folder if osp.isfile(osp.join(folder or '.', 'config.json')) else None


def is_hf_folder(path: str) -> bool:
    """True for a folder with ``config.json`` and a weight file, or such a weight file."""
    folder = hf_folder_of(path)
    if folder is None:
        return False
    return osp.isfile(path) or any(osp.isfile(osp.join(folder, f)) for f in WEIGHT_FILES)


def read_hf_config(folder: str) -> Dict[str, Any]:
    path = osp.join(folder, 'config.json')
    try:
        with open(path) as f:
            cfg = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise HFCheckpointError(f'{path}: not readable as JSON ({err})') from err
    if not isinstance(cfg, dict):
        raise HFCheckpointError(f'{path}: expected a JSON object, got {type(cfg).__name__}')
    return cfg


def _weight_file(path: str, folder: str) -> str:
    if osp.isfile(path):
        return path
    for name in WEIGHT_FILES:
        if osp.isfile(osp.join(folder, name)):
            return osp.join(folder, name)
    shards = [f for f in os.listdir(folder) if f.endswith('.index.json')]
    hint = (f' (sharded weights {shards[0]} are not supported: merge them into one '
            f'file)' if shards else '')
    raise HFCheckpointError(f'{folder}: no {" or ".join(WEIGHT_FILES)} beside config.json'
                            + hint)


def read_weights(path: str) -> Dict[str, Tensor]:
    """Tensors of a ``.safetensors`` (safetensors package) or ``.bin`` (weights-only)."""
    if path.endswith('.safetensors'):
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        try:
            return dict(load_file(path, device='cpu'))
        except (SafetensorError, OSError) as err:
            raise HFCheckpointError(f'{path}: not a readable safetensors file ({err})') from err
    sd = safe_torch_load(path)
    if not isinstance(sd, Mapping) or not all(torch.is_tensor(v) for v in sd.values()):
        raise HFCheckpointError(f'{path}: expected a dict of tensors (a transformers '
                                f'pytorch_model.bin)')
    return dict(sd)


# --- key maps ------------------------------------------------------------------------

_LAYER = r'(?:videomae\.)?encoder\.layer\.(\d+)\.'
_HF_RENAMES = [
    (r'(?:videomae\.)?embeddings\.patch_embeddings\.projection\.(weight|bias)',
     r'backbone.patch_embed.projection.\1'),
    (_LAYER + r'layernorm_before\.(weight|bias)', r'backbone.blocks.\1.norm1.\2'),
    (_LAYER + r'layernorm_after\.(weight|bias)', r'backbone.blocks.\1.norm2.\2'),
    (_LAYER + r'attention\.attention\.(?:q_bias|query\.bias)', r'backbone.blocks.\1.attn.q_bias'),
    (_LAYER + r'attention\.attention\.(?:v_bias|value\.bias)', r'backbone.blocks.\1.attn.v_bias'),
    (_LAYER + r'attention\.output\.dense\.(weight|bias)', r'backbone.blocks.\1.attn.proj.\2'),
    (_LAYER + r'intermediate\.dense\.(weight|bias)', r'backbone.blocks.\1.mlp.layers.0.0.\2'),
    (_LAYER + r'output\.dense\.(weight|bias)', r'backbone.blocks.\1.mlp.layers.1.\2'),
    (r'fc_norm\.(weight|bias)', r'backbone.fc_norm.\1'),
    (r'(?:videomae\.)?layernorm\.(weight|bias)', r'backbone.norm.\1'),
    (r'classifier\.(weight|bias)', r'cls_head.fc_cls.\1'),
]
_QKV = re.compile(_LAYER + r'attention\.attention\.(query|key|value)\.weight')
_HF_PRETRAIN = re.compile(r'(decoder\..*|encoder_to_decoder\..*|mask_token)')

_V2_RENAMES = [
    (r'patch_embed\.proj\.(weight|bias)', r'backbone.patch_embed.projection.\1'),
    (r'blocks\.(\d+)\.mlp\.fc1\.(weight|bias)', r'backbone.blocks.\1.mlp.layers.0.0.\2'),
    (r'blocks\.(\d+)\.mlp\.fc2\.(weight|bias)', r'backbone.blocks.\1.mlp.layers.1.\2'),
    (r'blocks\.(\d+)\.((?:norm1|norm2|attn\.proj|attn\.qkv)\.(?:weight|bias))',
     r'backbone.blocks.\1.\2'),
    (r'blocks\.(\d+)\.(gamma_1|gamma_2|attn\.q_bias|attn\.v_bias|attn\.scale)',
     r'backbone.blocks.\1.\2'),
    (r'(fc_norm|norm)\.(weight|bias)', r'backbone.\1.\2'),
    (r'pos_embed', r'backbone.pos_embed'),
    (r'head\.(weight|bias)', r'cls_head.fc_cls.\1'),
]


def _rename(key: str, renames) -> str | None:
    for pattern, repl in renames:
        if re.fullmatch(pattern, key):
            return re.sub(pattern, repl, key)
    return None


def convert_hf_state_dict(sd: Mapping[str, Tensor]) -> Tuple[OrderedDict, List[str]]:
    """transformers 4.x / 5.x VideoMAE keys -> native; returns (state dict, dropped keys).

    ``query/key/value.weight`` are stacked into ``attn.qkv.weight`` (the native layout
    computes q, k, v with one matrix); pre-training-only tensors are dropped.
    """
    out: Dict[str, Tensor] = OrderedDict()
    qkv: Dict[int, Dict[str, Tensor]] = {}
    dropped, unknown = [], []
    for key, value in sd.items():
        m = _QKV.fullmatch(key)
        if m:
            qkv.setdefault(int(m.group(1)), {})[m.group(2)] = value
            continue
        name = _rename(key, _HF_RENAMES)
        if name is not None:
            out[name] = value
        elif _HF_PRETRAIN.fullmatch(key):
            dropped.append(key)
        else:
            unknown.append(key)
    if unknown:
        raise HFCheckpointError(f'unrecognised VideoMAE tensors: {", ".join(unknown[:5])}'
                                + (f' ... ({len(unknown)} in all)' if len(unknown) > 5 else ''))
    for layer, parts in sorted(qkv.items()):
        if set(parts) != {'query', 'key', 'value'}:
            raise HFCheckpointError(f'layer {layer}: attention has only {sorted(parts)} '
                                    f'of query/key/value weights')
        out[f'backbone.blocks.{layer}.attn.qkv.weight'] = torch.cat(
            [parts['query'], parts['key'], parts['value']])
    return out, dropped


def convert_videomaev2_state_dict(sd: Mapping[str, Tensor]) -> Tuple[OrderedDict, List[str]]:
    """OpenGVLab VideoMAEv2 HF folder keys (``model.`` + original names) -> native."""
    out: Dict[str, Tensor] = OrderedDict()
    dropped, unknown = [], []
    for key, value in sd.items():
        short = key[len('model.'):] if key.startswith('model.') else key
        short = short[len('encoder.'):] if short.startswith('encoder.') else short
        name = _rename(short, _V2_RENAMES)
        if name is not None:
            out[name] = value
        elif re.fullmatch(r'(decoder\..*|encoder_to_decoder\..*|mask_token)', short):
            dropped.append(key)
        else:
            unknown.append(key)
    if unknown:
        raise HFCheckpointError(f'unrecognised VideoMAEv2 tensors: {", ".join(unknown[:5])}')
    return out, dropped


# --- model config ----------------------------------------------------------------------

def _square(value: Any, what: str, path: str) -> int:
    if isinstance(value, (list, tuple)):
        if len(set(value)) != 1:
            raise HFCheckpointError(f'{path}: {what} {list(value)} is not square; the '
                                    f'project\'s ViT takes square images and patches')
        value = value[0]
    return int(value)


def hf_model_cfg(config: Mapping[str, Any], path: str = 'config.json') -> dict:
    """The ``ViTRecognizer3D`` config an HF VideoMAE / VideoMAEv2 config.json describes."""
    if isinstance(config.get('model_config'), Mapping):
        return _videomaev2_model_cfg(config['model_config'], path)
    if config.get('model_type') != 'videomae':
        raise HFCheckpointError(f'{path}: model_type {config.get("model_type")!r} is not '
                                f'"videomae" (nor an OpenGVLab VideoMAEv2 model_config)')
    act = config.get('hidden_act', 'gelu')
    if act != 'gelu':
        raise HFCheckpointError(f'{path}: hidden_act {act!r}: only "gelu" is supported')
    hidden = int(config.get('hidden_size', 768))
    patch = _square(config.get('patch_size', 16), 'patch_size', path)
    eps = float(config.get('layer_norm_eps', 1e-12))
    mean_pool = bool(config.get('use_mean_pooling', True))
    backbone = dict(
        type='MAEVisionTransformer',
        arch=dict(embed_dims=hidden, depth=int(config.get('num_hidden_layers', 12)),
                  num_heads=int(config.get('num_attention_heads', 12)), patch_size=patch,
                  mlp_ratio=int(config.get('intermediate_size', 4 * hidden)) / hidden),
        img_size=_square(config.get('image_size', 224), 'image_size', path),
        in_channels=int(config.get('num_channels', 3)),
        num_frames=int(config.get('num_frames', 16)),
        tubelet_size=int(config.get('tubelet_size', 2)),
        qkv_bias=bool(config.get('qv_bias', config.get('qkv_bias', True))),
        use_mean_pooling=mean_pool, norm_cfg=dict(type='LN', eps=eps),
        fc_norm_eps=HF_FC_NORM_EPS if mean_pool else None)
    return _recognizer(backbone, hidden, len(config.get('id2label') or {}) or
                       int(config.get('num_labels', 0) or 0))


def _videomaev2_model_cfg(mc: Mapping[str, Any], path: str) -> dict:
    dim = int(mc.get('embed_dim', 768))
    eps = float(mc.get('layer_norm_eps', VIDEOMAEV2_LN_EPS))
    mean_pool = bool(mc.get('use_mean_pooling', True))
    backbone = dict(
        type='MAEVisionTransformer',
        arch=dict(embed_dims=dim, depth=int(mc.get('depth', 12)),
                  num_heads=int(mc.get('num_heads', 12)),
                  patch_size=_square(mc.get('patch_size', 16), 'patch_size', path),
                  mlp_ratio=float(mc.get('mlp_ratio', 4.0))),
        img_size=_square(mc.get('img_size', 224), 'img_size', path),
        in_channels=int(mc.get('in_chans', 3)),
        num_frames=int(mc.get('all_frames', mc.get('num_frames', 16))),
        tubelet_size=int(mc.get('tubelet_size', 2)),
        qkv_bias=bool(mc.get('qkv_bias', True)),
        init_values=float(mc.get('init_values', 0.) or 0.),
        use_learnable_pos_emb=bool(mc.get('use_learnable_pos_emb', False)),
        cos_attn=bool(mc.get('cos_attn', False)),
        use_mean_pooling=mean_pool, norm_cfg=dict(type='LN', eps=eps))
    return _recognizer(backbone, dim, int(mc.get('num_classes', 0) or 0))


def _recognizer(backbone: dict, dims: int, num_classes: int) -> dict:
    return dict(
        type='ViTRecognizer3D', backbone=backbone,
        cls_head=dict(type='TimeSformerHead', num_classes=max(num_classes, 1),
                      in_channels=dims, average_clips='prob'),
        data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], format_shape='NCTHW'))


def class_names(config: Mapping[str, Any]) -> List[str] | None:
    """``id2label`` in index order, or None when it is absent or has gaps."""
    id2label = config.get('id2label') or {}
    try:
        by_index = {int(k): str(v) for k, v in id2label.items()}
    except (TypeError, ValueError):
        return None
    if not by_index or sorted(by_index) != list(range(len(by_index))):
        return None
    return [by_index[i] for i in range(len(by_index))]


def _mlp_ratio_from_weights(state_dict: Mapping[str, Tensor], cfg: dict, path: str) -> None:
    """The MLP width as stored (ViT-g's 48/11 may be rounded in a JSON file)."""
    fc1 = state_dict.get('backbone.blocks.0.mlp.layers.0.0.weight')
    if fc1 is None:
        return
    arch = cfg['backbone']['arch']
    hidden, dim = int(fc1.shape[0]), int(arch['embed_dims'])
    if int(dim * arch['mlp_ratio']) != hidden:
        arch['mlp_ratio'] = hidden / dim
    if int(dim * arch['mlp_ratio']) != hidden:
        raise HFCheckpointError(f'{path}: MLP width {hidden} is no ratio of width {dim} '
                                f'the backbone can build')


def load_hf_checkpoint(path: str) -> Tuple[OrderedDict, dict, List[str] | None, str]:
    """Read an HF folder or weight file.

    Returns:
        (state dict in native recognizer names, recognizer config from config.json,
        class names from id2label or None, a one-line description of the source format).
    """
    folder = hf_folder_of(path)
    if folder is None:
        raise HFCheckpointError(f'{path}: no config.json beside it: not a Hugging Face folder')
    config = read_hf_config(folder)
    cfg = hf_model_cfg(config, osp.join(folder, 'config.json'))
    weights = _weight_file(osp.expanduser(str(path)), folder)
    sd = read_weights(weights)
    try:
        if 'model_config' in config:
            state_dict, dropped = convert_videomaev2_state_dict(sd)
            fmt = 'OpenGVLab VideoMAEv2 (Hugging Face folder)'
        else:
            state_dict, dropped = convert_hf_state_dict(sd)
            v5 = any(k.endswith('attention.attention.query.bias') for k in sd)
            fmt = f'Hugging Face VideoMAE (transformers {"5.x" if v5 else "4.x"} names)'
    except HFCheckpointError as err:
        raise HFCheckpointError(f'{weights}: {err}') from err
    _mlp_ratio_from_weights(state_dict, cfg, weights)
    if 'cls_head.fc_cls.weight' in state_dict:
        cfg['cls_head']['num_classes'] = int(state_dict['cls_head.fc_cls.weight'].shape[0])
    if dropped:
        fmt += f', pre-training: {len(dropped)} decoder tensors dropped'
    return state_dict, cfg, class_names(config), fmt


_ARCH_KEYS = ('embed_dims', 'depth', 'num_heads', 'patch_size', 'mlp_ratio', 'arch')


def apply_hf_architecture(model_cfg: Any, path: str) -> bool:
    """Make a config's recognizer match the HF folder at ``path`` (in place).

    The backbone's architecture (width, depth, heads, patch, tubelet, image size, frames,
    pooling, LayerNorm eps, fc_norm eps) and ``cls_head``'s size come from config.json;
    other backbone settings of the config (drop path, checkpointing) stay. Returns
    False, changing nothing, when ``path`` is no HF folder or weight file.
    """
    if not isinstance(path, str) or not is_hf_folder(path):
        return False
    folder = hf_folder_of(path)
    hf = hf_model_cfg(read_hf_config(folder), osp.join(folder, 'config.json'))
    backbone = {k: v for k, v in dict(model_cfg.get('backbone') or {}).items()
                if k not in _ARCH_KEYS}
    backbone.update(hf['backbone'])
    model_cfg['backbone'] = backbone
    head = model_cfg.get('cls_head')
    if head is not None:
        head['in_channels'] = hf['cls_head']['in_channels']
        head['num_classes'] = hf['cls_head']['num_classes']
    return True
