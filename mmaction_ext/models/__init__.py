"""models registered into MMAction2's registries."""
from . import backbones, recognizers  # noqa: F401
