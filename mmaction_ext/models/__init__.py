"""models registered into MMAction2's registries."""
from . import backbones, blending, dual_hand, losses, recognizers, segmenters  # noqa: F401
