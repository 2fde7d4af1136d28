"""Training pieces in MMAction2's layout: hooks, runners and loops, model wrappers."""
from . import hooks, model, runner  # noqa: F401
from .hooks import *  # noqa: F401,F403
from .model import *  # noqa: F401,F403
from .runner import *  # noqa: F401,F403
