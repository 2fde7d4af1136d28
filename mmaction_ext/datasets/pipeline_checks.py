"""What a dataset may check in its pipeline config before any clip is read."""
from __future__ import annotations

from typing import Sequence


def transform_names(pipeline: Sequence) -> list[str]:
    """Short type names of a pipeline's steps (config dicts or built transforms)."""
    names = [t.get('type') if isinstance(t, dict) else type(t).__name__ for t in pipeline]
    return [str(n).split('.')[-1] for n in names]
