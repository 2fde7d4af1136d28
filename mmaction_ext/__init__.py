"""mmaction_ext: an MMAction2 plugin for fine-tuning video ViTs on small action datasets.

Importing the package registers every component into MMAction2's registries; configs
enable it with ``custom_imports = dict(imports=['mmaction_ext'])``.

Beyond registering, importing it makes exactly the global changes in ``GLOBAL_CHANGES``
(each repairs an upstream defect and is a no-op where upstream works; see
``mmaction_ext/compat/`` and docs/installation.md's list).
"""
# isort: off
from . import compat

GLOBAL_CHANGES = (
    compat.silence_known_warnings,         # known, harmless upstream warnings
    compat.ensure_torchvision_importable,  # CUDA-only torchvision wheel on CPU torch
    compat.ensure_drn_importable,          # mmaction2 1.2.0 wheel lacks localizers/drn
    compat.keep_mmaction_models_importable_with_transformers5,  # VindLU vs transformers 5
    compat.preload_in_fork_server,         # forkserver workers start with mmaction_ext
    compat.register_sdpa_flop_handle,      # fvcore/mmengine flop count of fused attention
    compat.use_safe_checkpoint_loaders,    # MMEngine unpickles checkpoints unsafely
    compat.use_atomic_local_backend,       # MMEngine writes checkpoints non-atomically
)
for _change in GLOBAL_CHANGES:  # before MMAction2's model zoo or torchvision is imported
    _change()

from . import checkpoint, datasets, engine, evaluation, fileio, models  # noqa: E402,F401
# isort: on

__version__ = '0.1.0'
