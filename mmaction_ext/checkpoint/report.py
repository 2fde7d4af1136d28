"""What a checkpoint conversion did, printable on one screen."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Tuple


def _group(keys: List[str], limit: int = 6) -> str:
    """``decoder.blocks.0.x, decoder.norm.w`` -> ``decoder.* (2)``: short lists for logs."""
    counts = Counter(k.split('.')[0] + ('.*' if '.' in k else '') for k in keys)
    parts = [f'{name} ({n})' if n > 1 else name for name, n in counts.items()]
    more = f', ... {len(parts) - limit} more groups' if len(parts) > limit else ''
    return ', '.join(parts[:limit]) + more


@dataclass
class LoadReport:
    """Outcome of :func:`convert_original_checkpoint`, one entry per checkpoint tensor."""

    source_format: str = 'unknown'
    wrappers: List[str] = field(default_factory=list)
    prefixes: List[str] = field(default_factory=list)
    loaded: List[str] = field(default_factory=list)
    converted: Dict[str, str] = field(default_factory=dict)
    dropped: Dict[str, List[str]] = field(default_factory=dict)
    missing: List[str] = field(default_factory=list)
    heads: Dict[str, str] = field(default_factory=dict)
    fresh_heads: Dict[str, Tuple[int, int]] = field(default_factory=dict)  # file, config
    generated: List[str] = field(default_factory=list)  # built from the config, not read
    pos_embed: str = ''
    ignored_entries: List[str] = field(default_factory=list)

    def drop(self, key: str, reason: str) -> None:
        self.dropped.setdefault(reason, []).append(key)

    @property
    def changed(self) -> bool:
        """False when the checkpoint already was this model's exact state dict."""
        return bool(self.converted or self.dropped or self.missing or self.wrappers
                    or self.prefixes or self.ignored_entries or self.pos_embed
                    or any(not v.startswith('kept') for v in self.heads.values()))

    def format(self, title: str = 'checkpoint') -> str:
        lines = [f'Loaded {title} ({self.source_format} format)']
        if self.wrappers or self.prefixes:
            lines.append(f'  unwrapped    {", ".join(self.wrappers) or "-"}; '
                         f'prefixes stripped: {", ".join(self.prefixes) or "-"}')
        renames = sorted({f'{a} -> {b}' for a, b in _rename_kinds(self.converted)})
        lines.append(f'  loaded       {len(self.loaded)} tensors, {len(self.converted)} '
                     f'renamed' + (f' ({"; ".join(renames)})' if renames else ''))
        for reason, keys in self.dropped.items():
            lines.append(f'  dropped      {len(keys)} {reason}: {_group(keys)}')
        if self.missing:
            lines.append(f'  missing      {len(self.missing)} not in the file (strict=False '
                         f'keeps the model\'s values): {", ".join(self.missing[:6])}'
                         + (' ...' if len(self.missing) > 6 else ''))
        if self.pos_embed:
            lines.append(f'  pos_embed    {self.pos_embed}')
        for head, what in self.heads.items():
            lines.append(f'  {head:<12} {what}')
        if self.ignored_entries:
            lines.append(f'  ignored      top-level entries {", ".join(self.ignored_entries)}')
        return '\n'.join(lines)


def _rename_kinds(converted: Dict[str, str]):
    """Collapse per-block renames to patterns (``blocks.N.mlp.fc1`` -> ...)."""
    import re
    for src, dst in converted.items():
        src = re.sub(r'\.\d+\.', '.N.', src).rsplit('.', 1)[0]
        dst = re.sub(r'\.\d+\.', '.N.', dst, count=1).rsplit('.', 1)[0]
        yield src, dst
