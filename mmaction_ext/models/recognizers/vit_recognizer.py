"""A ``Recognizer3D`` that loads original VideoMAEv2 / AMD / ADH-ViT checkpoints directly."""
from __future__ import annotations

from mmaction.models.recognizers import Recognizer3D
from mmaction.registry import MODELS

from mmaction_ext.checkpoint.original import DEFAULT_INIT_SCALE, install_original_checkpoint_hook

from ..head_init import scale_fresh_heads


@MODELS.register_module()
class ViTRecognizer3D(Recognizer3D):
    """Stock ``Recognizer3D`` plus original-checkpoint loading and the original head init.

    ``load_from``/``tools/test.py CFG ORIGINAL.pth`` convert the original keys (see
    :mod:`mmaction_ext.checkpoint.original`); a head whose class count matches is kept.

    Args:
        init_scale (float): a fresh ``cls_head.fc_cls`` (trunc_normal, std 0.02) is
            multiplied by this, as the original fine-tuning does. Defaults to 0.001.
        Others as in ``Recognizer3D``.
    """

    def __init__(self, *args, init_scale: float = DEFAULT_INIT_SCALE, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.init_scale = init_scale
        install_original_checkpoint_hook(self)

    def init_weights(self) -> None:
        """Stock init (backbone ``pretrained`` included), then scale the new head."""
        first = not self.is_init
        super().init_weights()
        if first:
            scale_fresh_heads(self, ('cls_head',), self.init_scale)
