"""KTH facts (classes, persons, scenarios, the official split) and its file-name scheme.

Kept apart from the dataset class so the preparation tool, the synthetic-data writer and
the tests share one definition of what a valid KTH name is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence, Union

KTH_CLASSES = ('boxing', 'handclapping', 'handwaving', 'jogging', 'running', 'walking')
KTH_SCENARIOS = ('d1', 'd2', 'd3', 'd4')
KTH_PERSONS = tuple(range(1, 26))
# The one slot of the 600 that the distributed dataset lacks.
KTH_MISSING = frozenset({'person13_handclapping_d3'})
# Schuldt, Laptev and Caputo (ICPR 2004), as listed in 00sequences.txt.
KTH_SPLITS = {
    'train': (11, 12, 13, 14, 15, 16, 17, 18),
    'val': (19, 20, 21, 23, 24, 25, 1, 4),
    'test': (22, 2, 3, 5, 6, 7, 8, 9, 10),
}
KTH_SPLITS['trainval'] = KTH_SPLITS['train'] + KTH_SPLITS['val']
KTH_SPLITS['all'] = KTH_PERSONS

_NAME = re.compile(r'^person(\d+)_([a-z]+)_(d\d+)(_uncomp)?(\.(?i:avi))?$')  # .AVI too

PersonSpec = Union[str, int, Iterable[int]]


class KTHFormatError(ValueError):
    """A KTH file name, list line or sequences line that does not parse."""


@dataclass(frozen=True)
class KTHVideo:
    """One KTH video slot: who, what, where."""

    person: int
    action: str
    scenario: str

    @property
    def video_id(self) -> str:
        """``personNN_<action>_dK``, the key used by ``00sequences.txt``."""
        return f'person{self.person:02d}_{self.action}_{self.scenario}'

    @property
    def label(self) -> int:
        return KTH_CLASSES.index(self.action)

    @property
    def relpath(self) -> str:
        """Path of the video inside an extracted tree: ``<action>/<id>_uncomp.avi``."""
        return f'{self.action}/{self.video_id}_uncomp.avi'


def parse_kth_name(name: str, where: str = '') -> KTHVideo:
    """Parse ``personNN_<action>_dK[_uncomp.avi]`` (any folder part is ignored).

    Raises:
        KTHFormatError: naming ``where`` (a file or ``file:line``) and what is wrong.
    """
    base = name.replace('\\', '/').rsplit('/', 1)[-1]
    at = f'{where}: ' if where else ''
    match = _NAME.match(base)
    if match is None:
        raise KTHFormatError(
            f'{at}{base!r} is not a KTH video name; expected '
            "'personNN_<action>_dK_uncomp.avi' (e.g. 'person01_boxing_d1_uncomp.avi')")
    person_text, action, scenario = match.group(1), match.group(2), match.group(3)
    if len(person_text) != 2:
        raise KTHFormatError(f'{at}{base!r}: person id must have two digits (person01..person25)')
    person = int(person_text)
    if person not in KTH_PERSONS:
        raise KTHFormatError(f'{at}{base!r}: person id {person} is outside 1-25')
    if action not in KTH_CLASSES:
        raise KTHFormatError(f'{at}{base!r}: unknown action {action!r}; KTH has {KTH_CLASSES}')
    if scenario not in KTH_SCENARIOS:
        raise KTHFormatError(f'{at}{base!r}: unknown scenario {scenario!r}; KTH has d1-d4')
    return KTHVideo(person, action, scenario)


def parse_persons(spec: PersonSpec) -> tuple[int, ...]:
    """Persons from ``'1-16'``, ``'1-16,20'``, ``7`` or ``[1, 2, 3]``; checks 1-25."""
    if isinstance(spec, str):
        persons: list[int] = []
        for part in spec.replace(' ', '').split(','):
            if not part:
                continue
            bounds = part.split('-')
            if len(bounds) > 2 or not all(b.isdigit() for b in bounds):
                raise KTHFormatError(
                    f'person list {spec!r}: cannot read {part!r}; use e.g. "1-16,20"')
            lo, hi = int(bounds[0]), int(bounds[-1])
            persons.extend(range(lo, hi + 1))
    elif isinstance(spec, int):
        persons = [spec]
    else:
        persons = [int(p) for p in spec]
    bad = sorted({p for p in persons if p not in KTH_PERSONS})
    if bad:
        raise KTHFormatError(f'person list {spec!r}: person ids {bad} are outside 1-25')
    if not persons:
        raise KTHFormatError(f'person list {spec!r} is empty')
    return tuple(dict.fromkeys(persons))


def resolve_persons(split: str | None = None, persons: PersonSpec | None = None
                    ) -> tuple[int, ...]:
    """The persons a dataset covers: explicit ``persons`` win over a named ``split``."""
    if persons is not None:
        return parse_persons(persons)
    if split is None:
        return KTH_PERSONS
    if split not in KTH_SPLITS:
        raise ValueError(f'unknown KTH split {split!r}; use one of {sorted(KTH_SPLITS)} '
                         'or give persons=...')
    return KTH_SPLITS[split]


def expected_videos(persons: Sequence[int] = KTH_PERSONS,
                    actions: Sequence[str] = KTH_CLASSES,
                    scenarios: Sequence[str] = KTH_SCENARIOS,
                    include_missing: bool = False) -> list[KTHVideo]:
    """Every video slot for these persons/actions/scenarios (without the missing one)."""
    videos = [KTHVideo(p, a, s) for a in actions for p in sorted(persons) for s in scenarios]
    if include_missing:
        return videos
    return [v for v in videos if v.video_id not in KTH_MISSING]
