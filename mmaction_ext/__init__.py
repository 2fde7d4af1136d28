"""mmaction_ext: an MMAction2 plugin for fine-tuning video ViTs on small action datasets.

Importing the package registers every component into MMAction2's registries; configs
enable it with ``custom_imports = dict(imports=['mmaction_ext'])``.
"""
from . import (  # noqa: F401,E402
    checkpoint,
    compat,  # noqa: F401  (first: fixes must precede mmaction.models/torchvision)
    datasets,
    engine,
    evaluation,
    models,
)

__version__ = '0.1.0'
