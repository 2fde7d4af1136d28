"""Upstream log messages the project recognises (shared by the warning filters and the
quiet console, so both hide exactly the same ones)."""
from __future__ import annotations

import re

# MMEngine 0.10.7's FileClient deprecation, repeated by every DataLoader worker.
FILECLIENT_DEPRECATIONS = (
    re.compile(r'^"FileClient" will be deprecated in future'),
    re.compile(r'^"HardDiskBackend" is the alias of "LocalBackend"'),
)
