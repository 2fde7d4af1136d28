"""The VideoMAEv2/AMD ViT sizes: one table, read by the backbone and the checkpoint tools."""
from __future__ import annotations

from typing import Dict, Tuple

ARCH_SETTINGS: Dict[str, dict] = {
    's': dict(embed_dims=384, depth=12, num_heads=6, patch_size=16, mlp_ratio=4.),
    'b': dict(embed_dims=768, depth=12, num_heads=12, patch_size=16, mlp_ratio=4.),
    'l': dict(embed_dims=1024, depth=24, num_heads=16, patch_size=16, mlp_ratio=4.),
    'h': dict(embed_dims=1280, depth=32, num_heads=16, patch_size=16, mlp_ratio=4.),
    'g': dict(embed_dims=1408, depth=40, num_heads=16, patch_size=14, mlp_ratio=48 / 11),
}
ARCH_ALIASES = {'small': 's', 'base': 'b', 'large': 'l', 'huge': 'h', 'giant': 'g'}


def named_size(embed_dims: int | None, depth: int) -> str | None:
    """``'b'`` for (768, 12): the size letter of a width and depth, or None."""
    return next((name for name, s in ARCH_SETTINGS.items()
                 if (s['embed_dims'], s['depth']) == (embed_dims, depth)), None)


def named_heads(embed_dims: int, depth: int) -> int | None:
    """The head count of a named size with this width and depth, or None."""
    name = named_size(embed_dims, depth)
    return ARCH_SETTINGS[name]['num_heads'] if name else None


__all__: Tuple[str, ...] = ('ARCH_SETTINGS', 'ARCH_ALIASES', 'named_size', 'named_heads')
