"""Let ``import mmaction.models`` work when transformers 5 is installed.

Upstream symptom: MMAction2 1.2.0 enables its multi-modal models (VindLU) whenever
``transformers>=4.28`` is installed (``mmaction.utils.dependency.WITH_MULTIMODAL``), and
VindLU imports ``apply_chunking_to_forward`` from ``transformers.modeling_utils``, which
transformers 5 removed: ``import mmaction.models`` then fails with ``ImportError``. The
project needs transformers 5 to read Hugging Face VideoMAE checkpoints.

Fix: when (and only when) the installed transformers is 5 or newer and ``mmaction.models``
is not imported yet, turn ``WITH_MULTIMODAL`` off, so MMAction2 registers its own
placeholders for the three VindLU models (building one raises MMAction2's "requires extra
multi-modal dependencies" error). With transformers 4.x, or none, nothing is touched.
"""
from __future__ import annotations

import sys
from importlib import metadata


def _transformers_major() -> int | None:
    try:
        return int(metadata.version('transformers').split('.')[0])
    except (metadata.PackageNotFoundError, ValueError):
        return None


def keep_mmaction_models_importable_with_transformers5() -> bool:
    """Turn MMAction2's VindLU off under transformers >= 5; True when it did."""
    major = _transformers_major()
    if major is None or major < 5 or 'mmaction.models' in sys.modules:
        return False
    import mmaction.utils.dependency as dependency
    if not dependency.WITH_MULTIMODAL:
        return False
    dependency.WITH_MULTIMODAL = False
    return True
