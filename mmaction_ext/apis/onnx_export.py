"""Recognizers as ONNX graphs: normalised clips in, logits (per hand) and features out.

The graph starts after the data preprocessor (``(N, C, T, H, W)`` float32, mean/std
already applied, as ``Recognizer3D.extract_feat`` receives it) and ends at the heads'
raw logits; batch is dynamic, the clip shape fixed (the config's test clip). What is
outside (decoding, the pipeline, normalisation, softmax/averaging of clips) stays in
Python, shared with the torch backend (:class:`~.sliding_window.VideoInferencer`).
Models the graph cannot express faithfully are refused with the reason.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Sequence, Tuple

import torch
from torch import Tensor, nn

from mmaction_ext.fileio import atomic_write_bytes

META_KEY = 'mmaction_ext'


class NotExportableError(ValueError):
    """The model (or its config) has something the ONNX graph cannot hold."""


def model_tracks(model: nn.Module) -> Dict[str, nn.Module]:
    """``{'lh': lh_head, 'rh': rh_head}`` for a dual-hand model, else ``{'label': cls_head}``."""
    if getattr(model, 'lh_head', None) is not None and getattr(model, 'rh_head', None) is not None:
        return {'lh': model.lh_head, 'rh': model.rh_head}
    if getattr(model, 'cls_head', None) is None:
        raise NotExportableError(f'{type(model).__name__} has no cls_head nor lh_head/rh_head')
    return {'label': model.cls_head}


def check_exportable(model: nn.Module) -> None:
    """Refuse what the graph (backbone -> heads, one clip per row) would get wrong."""
    from mmaction.models.recognizers import Recognizer3D
    if not isinstance(model, Recognizer3D):
        raise NotExportableError(
            f'{type(model).__name__} is not a Recognizer3D: only 3D recognizers (NCTHW '
            f'clips) are exported (2D/audio recognizers fold clips into the batch)')
    if getattr(model, 'with_neck', False) and model.neck is not None:
        raise NotExportableError('models with a neck are not exported (the neck\'s '
                                 'training-time outputs and loss terms have no ONNX form)')
    backbone = model.backbone
    if getattr(backbone, 'return_feat_map', False):
        raise NotExportableError('backbone.return_feat_map=True: the heads get a feature '
                                 'map; export the pooling model instead')
    for name, head in model_tracks(model).items():
        if not hasattr(head, 'fc_cls'):
            raise NotExportableError(f'{name} head {type(head).__name__} has no fc_cls: '
                                     f'only linear classification heads are exported')


class ExportableRecognizer(nn.Module):
    """Backbone + heads of a recognizer, position table frozen for one clip shape.

    A ViT whose configured token grid differs from the clip's rebuilds (or resamples)
    its position table per call, testing whether it is the fixed sinusoid; the table
    for the exported clip is computed once here, so the graph holds a constant.
    """

    def __init__(self, model: nn.Module, clip_shape: Sequence[int], features: bool) -> None:
        super().__init__()
        check_exportable(model)
        self.backbone = model.backbone
        self.tracks = model_tracks(model)
        self.heads = nn.ModuleList(self.tracks.values())
        self.features = features
        if hasattr(self.backbone, 'pos_embed_for'):
            _, t, h, w = clip_shape
            grid = (t // self.backbone.tubelet_size, h // self.backbone.patch_size,
                    w // self.backbone.patch_size)
            with torch.no_grad():
                table = self.backbone.pos_embed_for(grid).detach().clone()
            self.register_buffer('pos_table', table, persistent=False)

    def output_names(self) -> List[str]:
        names = [f'{t}_logits' if t != 'label' else 'logits' for t in self.tracks]
        return names + (['features'] if self.features else [])

    def forward(self, clips: Tensor) -> Tuple[Tensor, ...]:
        if hasattr(self, 'pos_table'):
            feats = _with_table(self.backbone, self.pos_table, clips)
        else:
            feats = self.backbone(clips)
        outs = tuple(head(feats) for head in self.heads)
        return outs + ((feats,) if self.features else ())


def _with_table(backbone: nn.Module, table: Tensor, clips: Tensor) -> Tensor:
    """``backbone(clips)`` with ``pos_embed_for`` answering ``table`` (no data-dependent test)."""
    original = backbone.pos_embed_for
    backbone.pos_embed_for = lambda grid: table
    try:
        return backbone(clips)
    finally:
        backbone.pos_embed_for = original


_SPATIAL = {'CenterCrop', 'ThreeCrop', 'TenCrop', 'Resize', 'RandomCrop', 'MultiScaleCrop'}


def test_clip_shape(test_pipeline: Sequence[dict], in_channels: int = 3,
                    size: Sequence[int] | None = None) -> Tuple[int, int, int, int]:
    """``(C, T, H, W)`` of one clip of a config's test pipeline.

    T is ``SampleFrames.clip_len``; H, W the last crop's ``crop_size`` or a fixed-size
    ``Resize`` (``keep_ratio=False``). A pipeline that keeps the video's own size (no
    crop) needs ``size=(H, W)``.
    """
    names = [s['type'] if isinstance(s['type'], str) else s['type'].__name__
             for s in test_pipeline]
    samplers = [s for s, n in zip(test_pipeline, names) if n == 'SampleFrames']
    if not samplers:
        raise NotExportableError(f'test_pipeline {names} has no SampleFrames: no clip length')
    t = int(samplers[0]['clip_len'])
    hw = None
    for step, name in zip(test_pipeline, names):
        if name not in _SPATIAL:
            continue
        if name == 'Resize':
            scale = step.get('scale')
            fixed = not step.get('keep_ratio', True) and isinstance(scale, (list, tuple)) \
                and min(scale) > 0
            hw = (int(scale[1]), int(scale[0])) if fixed else None
        elif step.get('crop_size') is not None:
            crop = step['crop_size']
            hw = (int(crop), int(crop)) if isinstance(crop, int) else (int(crop[1]), int(crop[0]))
        else:
            hw = None
    if size is not None:
        given = (int(size[0]), int(size[1]))
        if hw is not None and given != hw:
            raise NotExportableError(f'--size {given[0]} {given[1]} but the test pipeline '
                                     f'crops to {hw[0]}x{hw[1]}')
        hw = given
    if hw is None:
        raise NotExportableError(
            f'the test pipeline {names} keeps the video\'s own frame size (no crop): give '
            f'the clip size, e.g. --size H W')
    return int(in_channels), t, hw[0], hw[1]


def export_onnx(model: nn.Module, clip_shape: Sequence[int], out_path: str,
                features: bool = False, meta: Dict[str, Any] | None = None,
                opset: int | None = None) -> Dict[str, Any]:
    """Write ``model`` as ONNX (dynamic batch) to ``out_path`` atomically; return its info.

    Args:
        model: a built recognizer with its weights loaded (eval mode is set here).
        clip_shape: ``(C, T, H, W)`` of one normalised clip.
        features: also output the pooled backbone features (the heads' input).
        meta: extra JSON-able metadata (class names, config path) stored in the file.
    """
    import onnx
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    if size > 1.8 * 2 ** 30:
        raise NotExportableError(f'{size / 2 ** 30:.1f} GiB of weights: a single ONNX file '
                                 f'holds at most 2 GiB (protobuf limit)')
    wrapper = ExportableRecognizer(model.eval(), clip_shape, features).eval()
    example = torch.zeros(2, *clip_shape)
    names = wrapper.output_names()
    kwargs = dict(opset_version=opset) if opset else {}
    with torch.no_grad():
        program = torch.onnx.export(
            wrapper, (example,), None, dynamo=True, input_names=['clips'],
            output_names=names, dynamic_shapes={'clips': {0: torch.export.Dim('batch')}},
            optimize=True, verbose=False, **kwargs)
    proto = program.model_proto
    info = dict(meta or {}, tracks=list(wrapper.tracks), outputs=names,
                clip_shape=[int(v) for v in clip_shape],
                num_classes={t: int(h.fc_cls.out_features) for t, h in wrapper.tracks.items()})
    entry = proto.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(info)
    atomic_write_bytes(proto.SerializeToString(), out_path)
    onnx.checker.check_model(out_path)
    return info
