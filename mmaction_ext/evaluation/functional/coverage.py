"""Check that an evaluation scored every dataset sample exactly once.

Shared by :class:`~.hand_acc_metric.HandAccMetric` (per hand) and
:class:`~mmaction_ext.engine.hooks.sample_coverage_hook.SampleCoverageHook` (any metric).
"""
from __future__ import annotations

from collections import Counter
from typing import Callable, Iterable, Sequence


class MissingSamplesError(RuntimeError):
    """Evaluation results do not cover every sample exactly once."""


REMEDY = ('Evaluate with drop_last=False and a sampler that visits each sample once '
          '(DefaultSampler, shuffle=False); scores over a subset are not the test result.')


def coverage_problems(indices: Iterable[int | None], size: int | None = None,
                      name: Callable[[int], str] | None = None) -> list[str]:
    """Phrases describing samples scored twice, never, or outside ``range(size)``.

    Args:
        indices: the dataset index of each scored result (``None`` where unknown).
        size: the dataset length; ``None`` checks repeats only.
        name: turns an index into something a user recognises (its file).
    """
    name = name or str
    counts = Counter(i for i in indices if i is not None)
    problems = []
    repeated = sorted(i for i, n in counts.items() if n > 1)
    if repeated:
        problems.append(f'samples scored twice: [{_names(repeated, name)}]')
    if size is not None:
        never = [i for i in range(size) if i not in counts]
        if never:
            problems.append(f'{len(never)} of {size} samples never scored: '
                            f'[{_names(never, name)}]')
        outside = sorted(i for i in counts if not 0 <= i < size)
        if outside:
            problems.append(f'indices outside the dataset: {outside[:5]}')
    return problems


def _names(indices: list, name: Callable[[int], str], limit: int = 5) -> str:
    more = f', ... {len(indices) - limit} more' if len(indices) > limit else ''
    return ', '.join(name(i) for i in indices[:limit]) + more


def check_scored_once(indices: Sequence[int | None], size: int | None, who: str,
                      name: Callable[[int], str] | None = None) -> None:
    """Raise :class:`MissingSamplesError` naming the samples if coverage is not exact."""
    problems = coverage_problems(indices, size, name)
    if problems:
        raise MissingSamplesError(f'{who}: {"; ".join(problems)}. {REMEDY}')
