"""models registered into MMAction2's registries."""
from . import backbones, dual_hand, recognizers  # noqa: F401
