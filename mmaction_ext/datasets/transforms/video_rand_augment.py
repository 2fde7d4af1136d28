"""timm's RandAugment applied identically to every frame of a clip.

VideoMAEv2, AMD and the HA-ViD authors fine-tune with ``rand-m7-n4-mstd0.5-inc1``, where
one draw of ops, magnitudes and signs serves the whole clip (a per-frame draw would make
the clip flicker). timm's ``rand_augment_transform`` builds the ops but draws afresh on
every call; this transform calls it once per frame from the same random state (Python's
``random`` and NumPy's global RNG, the only sources timm's RandAugment uses), so every
frame gets the same ops with the same magnitudes, and the RNG then advances as after one
call. No op is re-implemented.
"""
from __future__ import annotations

import random
from typing import Any, Dict

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform
from PIL import Image

# The originals' settings: translate_const = int(0.45 * crop), bicubic resampling, and
# fill (128, 128, 128) (timm's default; they pass no img_mean).
DEFAULT_CONFIG = 'rand-m7-n4-mstd0.5-inc1'


@TRANSFORMS.register_module()
class VideoRandAugment(BaseTransform):
    """RandAugment from a timm config string, one draw per clip.

    Args:
        config_str: timm's RandAugment string (``rand-m7-n4-mstd0.5-inc1``: magnitude 7,
            4 ops, magnitude std 0.5, severity-increasing op set).
        crop_size: the training crop; translations reach ``int(0.45 * crop_size)``
            pixels, as in the originals (``translate_const``).
        interpolation: resampling of geometric ops: 'bicubic' (originals), 'bilinear',
            or 'random' (timm's per-call choice, still one per clip).
        img_mean: fill colour of geometric ops; ``None`` keeps timm's (128, 128, 128).

    Required keys: ``imgs`` (list of HxWx3 uint8 RGB frames). Modified keys: ``imgs``.
    """

    def __init__(self, config_str: str = DEFAULT_CONFIG, crop_size: int = 224,
                 interpolation: str = 'bicubic', img_mean: Any = None) -> None:
        from timm.data.auto_augment import rand_augment_transform
        from timm.data.transforms import str_to_pil_interp
        hparams: Dict[str, Any] = dict(translate_const=int(crop_size * 0.45))
        if interpolation != 'random':
            hparams['interpolation'] = str_to_pil_interp(interpolation)
        if img_mean is not None:
            hparams['img_mean'] = tuple(int(round(v)) for v in img_mean)
        self.config_str = config_str
        self.hparams = hparams
        self.rand_augment = rand_augment_transform(config_str, hparams)

    def transform(self, results: dict) -> dict:
        imgs = results['imgs']
        py_state, np_state = random.getstate(), np.random.get_state()
        out = []
        for frame in imgs:
            random.setstate(py_state)
            np.random.set_state(np_state)
            out.append(np.asarray(self.rand_augment(Image.fromarray(frame))))
        results['imgs'] = out
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.config_str!r}, hparams={self.hparams})'
