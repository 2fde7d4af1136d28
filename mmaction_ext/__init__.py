"""mmaction_ext: an MMAction2 plugin for fine-tuning video ViTs on small action datasets.

Importing the package registers every component into MMAction2's registries; configs
enable it with ``custom_imports = dict(imports=['mmaction_ext'])``.
"""
# isort: off
from . import compat  # noqa: F401  first: its fixes must precede mmaction.models/torchvision
from . import checkpoint, datasets, engine, evaluation, models  # noqa: F401
# isort: on

__version__ = '0.1.0'
