"""A ``Recognizer3D`` that loads original VideoMAEv2 / AMD / ADH-ViT checkpoints directly."""
from __future__ import annotations

from mmaction.models.recognizers import Recognizer3D
from mmaction.registry import MODELS
from torch import nn

from mmaction_ext.checkpoint import install_original_checkpoint_hook
from mmaction_ext.checkpoint.heads import DEFAULT_INIT_SCALE

from ..head_init import scale_fresh_heads


def has_vit_backbone(model: nn.Module) -> bool:
    """Whether ``model.backbone`` is a (MAE)VisionTransformer-like ViT, i.e. one that
    original VideoMAEv2 / AMD checkpoints can be converted into."""
    backbone = getattr(model, 'backbone', None)
    return backbone is not None and hasattr(backbone, 'patch_embed') and any(
        name == 'patch_embed.projection.weight' for name, _ in backbone.named_parameters())


@MODELS.register_module()
class ViTRecognizer3D(Recognizer3D):
    """Stock ``Recognizer3D`` plus original-checkpoint loading and the original head init.

    ``load_from``/``tools/test.py CFG ORIGINAL.pth`` convert the original keys (see
    :mod:`mmaction_ext.checkpoint.original`, once); a head whose class count matches is kept.
    With a non-ViT backbone there is nothing to convert: checkpoints load exactly as into
    ``Recognizer3D`` (only ``init_scale`` still applies to a fresh head).

    Args:
        init_scale (float): a fresh ``cls_head.fc_cls`` (trunc_normal, std 0.02) is
            multiplied by this, as the original fine-tuning does. Defaults to 0.001.
        Others as in ``Recognizer3D``.
    """

    def __init__(self, *args, init_scale: float = DEFAULT_INIT_SCALE, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.init_scale = init_scale
        if has_vit_backbone(self):
            install_original_checkpoint_hook(self)

    def init_weights(self) -> None:
        """Stock init (backbone ``pretrained`` included), then scale the new head."""
        first = not self.is_init
        super().init_weights()
        if first:
            scale_fresh_heads(self, ('cls_head',), self.init_scale)
