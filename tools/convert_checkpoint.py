"""Convert an original VideoMAEv2 / AMD / ADH-ViT checkpoint to an MMEngine checkpoint.

    python tools/convert_checkpoint.py SRC DST [--show] [--config CFG]
        [--frames 16] [--size 224] [--num-classes N]

The output is the ``state_dict`` of the project's recognizer (``ViTRecognizer3D``, or
``DualHandRecognizer`` for files with ``lh_head``/``rh_head``) in MMEngine's layout, so
``load_from``/``tools/test.py`` read it without conversion. Without ``--config`` the
architecture and class counts are read from the checkpoint. ``--show`` prints the load
report and writes nothing. The file is written to a temporary name and renamed, so an
interrupted run never leaves a truncated DST.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
import tempfile

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import mmaction_ext  # noqa: E402
from mmaction_ext.checkpoint import safe_torch_load  # noqa: E402
from mmaction_ext.checkpoint.original import (  # noqa: E402
    HEADS,
    PREFIXES,
    WRAPPERS,
    CheckpointLoadError,
    convert_for_module,
)
from mmaction_ext.models.backbones.mae_vit import ARCH_SETTINGS  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='original checkpoint (.pth)')
    parser.add_argument('dst', help='MMEngine checkpoint to write')
    parser.add_argument('--show', action='store_true', help='print the report, write nothing')
    parser.add_argument('--config', help='build the model of this config instead of guessing')
    parser.add_argument('--frames', type=int, help='clip length (default: saved args or 16)')
    parser.add_argument('--size', type=int, help='crop size (default: saved args or 224)')
    parser.add_argument('--num-classes', type=int,
                        help='head size for a checkpoint without head (pre-training)')
    return parser.parse_args()


def _flat(checkpoint: dict) -> dict:
    """Tensors of the checkpoint with wrappers and prefixes removed (to read shapes)."""
    sd = checkpoint
    while isinstance(sd, dict) and any(isinstance(sd.get(w), dict) for w in WRAPPERS):
        sd = next(sd[w] for w in WRAPPERS if isinstance(sd.get(w), dict))
    out = {}
    for key, value in sd.items():
        if not torch.is_tensor(value):
            continue
        changed = True
        while changed:
            changed = False
            for p in PREFIXES:
                if key.startswith(p):
                    key, changed = key[len(p):], True
        out[key] = value
    return out


def guess_model_cfg(checkpoint: dict, args: argparse.Namespace) -> dict:
    """Recognizer config from the checkpoint's own shapes (and saved args)."""
    sd = _flat(checkpoint)
    patch = sd.get('patch_embed.proj.weight', sd.get('patch_embed.projection.weight'))
    if patch is None:
        raise CheckpointLoadError(f'{args.src}: no patch_embed.proj.weight; not a ViT '
                                  f'checkpoint (pass --config to build the model yourself)')
    dim, tubelet, patch_size = patch.shape[0], patch.shape[2], patch.shape[-1]
    depth = 1 + max(int(k.split('.')[1]) for k in sd if k.startswith('blocks.'))
    hidden_key = next(k for k in sd if k.startswith('blocks.0.mlp.') and k.endswith('weight'))
    mlp_ratio = sd[hidden_key].shape[0] / dim
    named = next((a for a, s in ARCH_SETTINGS.items()
                  if (s['embed_dims'], s['depth']) == (dim, depth)), None)
    heads = ARCH_SETTINGS[named]['num_heads'] if named else max(1, dim // 64)
    saved = checkpoint.get('args') if isinstance(checkpoint, dict) else None
    frames = args.frames or getattr(saved, 'num_frames', None) or 16
    size = args.size or getattr(saved, 'input_size', None) or 224
    backbone = dict(
        type='MAEVisionTransformer',
        arch=dict(embed_dims=dim, depth=depth, num_heads=heads, patch_size=patch_size,
                  mlp_ratio=mlp_ratio),
        img_size=size, num_frames=frames, tubelet_size=tubelet,
        init_values=0.1 if 'blocks.0.gamma_1' in sd else 0.,
        cos_attn='blocks.0.attn.scale' in sd,
        use_learnable_pos_emb='pos_embed' in sd)

    def head(name: str) -> dict:
        key = next((k for k in (f'{name}.weight', f'{name}.fc_cls.weight') if k in sd), None)
        return dict(type='TimeSformerHead', in_channels=dim,
                    num_classes=sd[key].shape[0] if key else args.num_classes)

    if 'lh_head.weight' in sd or 'lh_head.fc_cls.weight' in sd:
        return dict(type='DualHandRecognizer', backbone=backbone,
                    lh_head=head('lh_head'), rh_head=head('rh_head'))
    cfg = dict(type='ViTRecognizer3D', backbone=backbone)
    if 'head.weight' in sd or 'cls_head.fc_cls.weight' in sd:
        cfg['cls_head'] = head('head') if 'head.weight' in sd else head('cls_head')
    elif args.num_classes:
        cfg['cls_head'] = head('head')
    return cfg


def save_atomic(obj: dict, dst: str) -> None:
    """Write to a temporary file beside ``dst``, then rename over it."""
    folder = osp.dirname(osp.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.convert_', suffix='.tmp')
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def main() -> None:
    args = parse_args()
    from mmaction.registry import MODELS
    try:
        checkpoint = safe_torch_load(args.src)
        with DefaultScope.overwrite_default_scope('mmaction'):
            cfg = Config.fromfile(args.config).model if args.config else \
                guess_model_cfg(checkpoint, args)
            model = MODELS.build(cfg)
        state_dict, report = convert_for_module(checkpoint, model)
    except CheckpointLoadError as err:
        raise SystemExit(f'error: {err}' if args.src in str(err) else
                         f'error: {args.src}: {err}') from err
    text = report.format(f'{args.src} into {type(model).__name__}')
    print(text)
    if args.show:
        return
    # The converter leaves what the file lacks missing and what the model cannot take in
    # place; the converted file keeps only what the model takes (missing parts stay
    # missing: tools/test.py refuses them, load_from starts them fresh).
    target = model.state_dict()
    state_dict = {k: v for k, v in state_dict.items() if k in target}
    model.load_state_dict(state_dict, strict=not report.missing)  # proves the result loads
    meta = dict(mmaction_ext_version=mmaction_ext.__version__, converted_from=args.src,
                model=cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg, load_report=text,
                heads=[h for h in HEADS if f'{h}.fc_cls.weight' in state_dict])
    save_atomic(dict(meta=meta, state_dict=state_dict), args.dst)
    print(f'wrote {args.dst}')


if __name__ == '__main__':
    main()
