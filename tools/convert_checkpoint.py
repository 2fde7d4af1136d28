"""Convert an original VideoMAEv2 / AMD / ADH-ViT checkpoint to an MMEngine checkpoint.

    python tools/convert_checkpoint.py SRC DST [--show] [--config CFG] [--ema]
        [--frames F] [--size S] [--num-classes N] [--num-heads H]
        [--format pth|safetensors]

SRC may also be a Hugging Face VideoMAE / VideoMAEv2 folder (or its weight file): the
architecture and class names then come from its config.json. ``--format safetensors``
writes the weights as safetensors with the same ``meta`` as JSON metadata
(docs/interop.md); the project loads both formats back the same way.

The output is the ``state_dict`` of the project's recognizer (``ViTRecognizer3D``, or
``DualHandRecognizer`` for files with ``lh_head``/``rh_head``) in MMEngine's layout, so
``load_from``/``tools/test.py`` read it without conversion; ``meta`` holds the model
config as plain Python data (it loads through the project's safe loader). Without
``--config`` the architecture is read from the checkpoint's tensors and saved args (each
inferred fact is printed); what they leave open is refused with the option that supplies
it. ``--frames``/``--size`` name the clip the checkpoint was trained with when the file
does not record it. ``--ema`` converts the EMA weights (``model_ema`` of the originals,
or an MMEngine EMAHook checkpoint). ``--show`` prints the report and writes nothing. DST is
written by the project's atomic writer (temporary file, fsync, rename: an interrupted run
never leaves a truncated DST; a new file's mode follows the umask); a DST that is SRC
itself (or a link to it) or a folder is refused before converting.
"""
from __future__ import annotations

import argparse
import logging
import os.path as osp
import sys
import zipfile

from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope

import mmaction_ext
from mmaction_ext.checkpoint import CheckpointLoadError, convert_once, read_checkpoint
from mmaction_ext.checkpoint.convert_once import marked
from mmaction_ext.checkpoint.ema import select_weights
from mmaction_ext.checkpoint.heads import HEADS
from mmaction_ext.checkpoint.infer_arch import infer_model_cfg, with_clip_hint
from mmaction_ext.checkpoint.integrity import unverified_legacy_allowed
from mmaction_ext.checkpoint.report import LoadReport
from mmaction_ext.checkpoint.safetensors_io import save_safetensors
from mmaction_ext.fileio import FileWriteError, check_writable, save_checkpoint
from mmaction_ext.utils.cli import run_tool


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='original checkpoint (.pth)')
    parser.add_argument('dst', help='MMEngine checkpoint to write')
    parser.add_argument('--verbose', action='store_true', help='tracebacks of errors')
    parser.add_argument('--show', action='store_true', help='print the report, write nothing')
    parser.add_argument('--config', help='build the model of this config instead of '
                        'reading the architecture off the checkpoint')
    parser.add_argument('--frames', type=int,
                        help='clip length the checkpoint was trained with (default: its '
                        'saved args; needed for a learned position table without them)')
    parser.add_argument('--size', type=int,
                        help='crop size the checkpoint was trained with (as --frames)')
    parser.add_argument('--num-classes', type=int,
                        help='head size for a checkpoint without head (pre-training)')
    parser.add_argument('--num-heads', type=int,
                        help='attention heads of a ViT whose width is no named size and '
                        'has no cosine attention (the tensors do not record it)')
    parser.add_argument('--format', choices=('pth', 'safetensors'), default=None,
                        help='output format (default: from DST\'s extension, else pth)')
    parser.add_argument('--ema', action='store_true',
                        help='convert the EMA weights (originals: model_ema; MMEngine: the '
                        'EMAHook checkpoint\'s averaged weights)')
    args = parser.parse_args()
    if args.format is None:
        args.format = 'safetensors' if args.dst.endswith('.safetensors') else 'pth'
    return args


def plain(obj):
    """Config values as builtins (dict/list/str/numbers): the safe loader refuses classes."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)


def build_initialised(registry, cfg: dict):
    """The model as the config path has it before loading: built, then ``init_weights``
    (so what SRC lacks, e.g. a pre-training file's head, starts as there: trunc_normal
    x init_scale), without loading the config's own backbone ``pretrained`` file."""
    backbone = cfg.get('backbone') if isinstance(cfg, dict) else None
    if isinstance(backbone, dict):
        backbone.pop('pretrained', None)
        init_cfg = backbone.get('init_cfg')
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            backbone.pop('init_cfg')
    model = registry.build(cfg)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # init_weights lists every parameter at INFO
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model


def from_file_only(state_dict: dict, target: dict, report) -> tuple[dict, list[str]]:
    """Keep only tensors that came from the file and that the model has.

    The converter renames; it does not invent weights. A head renewed for another class
    count, and keys the file lacks (a pre-training file's ``fc_norm`` and head), are left
    out, so OUT never looks like a complete trained model when it is not: loading it with
    ``load_from`` initialises them as usual, evaluating it is refused.
    """
    fresh = tuple(f'{head}.' for head in report.fresh_heads)
    kept = {k: v for k, v in state_dict.items() if k in target and not k.startswith(fresh)}
    return kept, [k for k in target if k not in kept]


def main() -> None:
    args = parse_args()
    if not args.show:  # before minutes of conversion: an output that cannot be written
        try:
            check_writable(args.dst, inputs=[args.src])
        except FileWriteError as err:
            raise SystemExit(f'error: {err}') from err
    from mmaction.registry import MODELS
    notes = []
    try:
        # The one way in (safe read, convert once); a legacy file without checksum is
        # read here, once, since rewriting it in zip format is the remedy for it. A
        # Hugging Face folder or a safetensors file comes through the same local scheme.
        with unverified_legacy_allowed():
            checkpoint = read_checkpoint(args.src)
        if (osp.isfile(args.src) and not zipfile.is_zipfile(args.src)
                and not args.src.endswith('.safetensors')):
            print(f'note: {args.src} is in torch\'s legacy format, which stores no checksum: '
                  f'it was read unverified; {args.dst} is written in zip format, with a '
                  f'CRC-32 per tensor that every later load checks.')
        # A Hugging Face folder brings its architecture and class names (config.json).
        source_meta = checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {}
        if not isinstance(source_meta, dict):
            source_meta = {}
        hf_model = source_meta.get('model') if 'source_format' in source_meta else None
        if args.ema:
            checkpoint = select_weights(checkpoint, 'ema')
        checkpoint = with_clip_hint(checkpoint, args.frames, args.size)
        with DefaultScope.overwrite_default_scope('mmaction'):
            if args.config:
                cfg = Config.fromfile(args.config).model.to_dict()
            elif hf_model is not None:
                cfg = hf_model
                notes = [f'{source_meta["source_format"]}: architecture from config.json']
            else:
                cfg, notes = infer_model_cfg(checkpoint, args.frames, args.size,
                                             args.num_classes, args.num_heads)
            model = build_initialised(MODELS, cfg)
        state_dict, report = convert_once(checkpoint, model, args.src, log=False)
        report = report or LoadReport(source_format='MMEngine / already converted',
                                      loaded=list(state_dict))
    except CheckpointLoadError as err:
        raise SystemExit(f'error: {err}' if args.src in str(err) else
                         f'error: {args.src}: {err}') from err
    if notes:
        print('inferred from the checkpoint:\n' + '\n'.join(f'  {n}' for n in notes))
    text = report.format(f'{args.src} into {type(model).__name__}')
    print(text)
    if args.show:
        return
    state_dict, absent = from_file_only(state_dict, model.state_dict(), report)
    # proves the result loads (marked: the model's load hook must not convert it again)
    loaded = model.load_state_dict(marked(state_dict, report, model), strict=False)
    assert not loaded.unexpected_keys and sorted(loaded.missing_keys) == sorted(absent)
    if absent:
        print(f'not in {args.src} (left out of the output; a model loading it initialises '
              f'them, and tools/test.py refuses to evaluate without them): '
              f'{", ".join(absent)}')
    meta = dict(mmaction_ext_version=mmaction_ext.__version__, converted_from=args.src,
                config=args.config, weights='ema' if args.ema else 'model',
                model=plain(cfg), inferred=notes, load_report=text,
                heads=[h for h in HEADS if f'{h}.fc_cls.weight' in state_dict],
                not_in_checkpoint=absent)
    if source_meta.get('dataset_meta'):
        meta['dataset_meta'] = plain(source_meta['dataset_meta'])
    try:
        if args.format == 'safetensors':
            save_safetensors(state_dict, args.dst, meta, inputs=[args.src])
        else:
            save_checkpoint(dict(meta=meta, state_dict=state_dict), args.dst,
                            inputs=[args.src])
    except FileWriteError as err:
        raise SystemExit(f'error: {err}') from err
    print(f'wrote {args.dst}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
