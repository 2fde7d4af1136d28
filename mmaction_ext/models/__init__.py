"""models registered into MMAction2's registries."""
from . import backbones, dual_hand, losses, recognizers, segmenters  # noqa: F401
