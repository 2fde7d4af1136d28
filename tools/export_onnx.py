"""Export a recognizer to ONNX: normalised clips in, logits (per hand) [and features] out.

    python tools/export_onnx.py CONFIG CHECKPOINT OUT.onnx [--features] [--size H W]
        [--check N] [--opset V]

The graph takes ``clips`` of shape (batch, C, T, H, W), float32, normalised as the
config's data preprocessor does (batch is dynamic; C, T, H, W are the config's test
clip, or --size H W when its pipeline keeps the video's frame size). Outputs: ``logits``
(or ``lh_logits``/``rh_logits`` for a dual-hand model) and, with --features, the pooled
backbone ``features``. Class names and the clip shape are stored in the file's
metadata; ``tools/infer_video.py --backend onnxruntime`` reads them. CHECKPOINT may be
any checkpoint the project loads (MMEngine .pth, safetensors, Hugging Face folder).
After writing, --check N random clips are run through onnxruntime and torch and the
largest difference printed (exit 1 above 1e-4). Models the graph cannot hold (necks, 2D
recognizers, feature-map backbones, non-linear heads) are refused with the reason.
"""
from __future__ import annotations

import argparse
import logging
import sys

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

import mmaction_ext  # noqa: F401  registers the project's components
from mmaction_ext.apis.onnx_export import NotExportableError, export_onnx, test_clip_shape
from mmaction_ext.checkpoint import CheckpointLoadError
from mmaction_ext.checkpoint.hf_videomae import apply_hf_architecture

TOLERANCE = 1e-4


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='ONNX file to write')
    parser.add_argument('--features', action='store_true',
                        help='also output the pooled backbone features')
    parser.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'),
                        help='clip height and width when the test pipeline does not crop')
    parser.add_argument('--check', type=int, default=4, metavar='N',
                        help='random clips compared with torch after export (0: none)')
    parser.add_argument('--opset', type=int, help='ONNX opset (default: the exporter\'s)')
    args = parser.parse_args(argv)
    if not args.out.endswith('.onnx'):
        parser.error(f'OUT {args.out!r} must end in .onnx')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    init_default_scope('mmaction')
    from mmaction.registry import MODELS
    cfg = Config.fromfile(args.config)
    apply_hf_architecture(cfg.model, args.checkpoint)
    logger = MMLogger.get_current_instance()
    logger.setLevel(logging.WARNING)
    try:
        model = MODELS.build(cfg.model)
        ckpt = load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True,
                               logger=logger)
        in_channels = getattr(model.backbone, 'in_channels', None) or \
            int(model.backbone.patch_embed.projection.weight.shape[1])
        shape = test_clip_shape(cfg.test_pipeline, in_channels, args.size)
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
        extra = dict(config=args.config, checkpoint=args.checkpoint)
        if isinstance(meta.get('dataset_meta'), dict) and 'classes' in meta['dataset_meta']:
            extra['dataset_meta'] = dict(classes=meta['dataset_meta']['classes'])
        info = export_onnx(model, shape, args.out, features=args.features, meta=extra,
                           opset=args.opset)
    except (NotExportableError, CheckpointLoadError, FileNotFoundError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    except RuntimeError as err:  # load_checkpoint(strict=True): missing/unexpected keys
        print(f'error: {args.checkpoint}: {str(err).splitlines()[0]}', file=sys.stderr)
        return 2
    print(f'wrote {args.out}: clips (batch, {", ".join(map(str, shape))}) -> '
          f'{", ".join(info["outputs"])}')
    if args.check:
        diff = max_difference(model, args.out, shape, args.check)
        print(f'onnxruntime vs torch on {args.check} random clips: max abs diff {diff:.2e}')
        if diff > TOLERANCE:
            print(f'error: difference above {TOLERANCE:g}', file=sys.stderr)
            return 1
    return 0


def max_difference(model, path: str, shape, n: int) -> float:
    """Largest |onnxruntime - torch| over every output for ``n`` random clips."""
    from mmaction_ext.apis.onnx_backend import OnnxRecognizer
    from mmaction_ext.apis.onnx_export import ExportableRecognizer
    runner = OnnxRecognizer(path)
    ref = ExportableRecognizer(model, shape, 'features' in runner.outputs).eval()
    clips = torch.randn(n, *shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = dict(zip(runner.tracks + ['features'], ref(clips)))
    got = runner(clips.numpy())
    return max(float((torch.from_numpy(got[k]) - expected[k]).abs().max()) for k in got)


if __name__ == '__main__':
    sys.exit(main())
