"""Parser for KTH's ``00sequences.txt`` (one line of 1-based frame ranges per video).

The real file mixes tabs and spaces (some names carry trailing spaces), uses CRLF line
ends, has a prose header, one ``*missing*`` line, and ranges with gaps, overlaps, shared
end frames and out-of-order entries. Ranges are kept exactly as written (no sorting or
merging): each is one sub-sequence sample.
"""
from __future__ import annotations

import re

from ...fileio.list_reader import read_text_lines
from .kth_meta import KTHFormatError, parse_kth_name

_LINE = re.compile(r'^(?P<name>person\S*)\s+(?:(?P<missing>\*missing\*)|frames\s+(?P<ranges>.*))$')
_RANGE = re.compile(r'^(\d+)\s*-\s*(\d+)$')

Ranges = list[tuple[int, int]]


def parse_sequences(lines: list[str], source: str = '00sequences.txt'
                    ) -> dict[str, Ranges | None]:
    """Map ``personNN_<action>_dK`` to its ``[(start, end), ...]`` (1-based, inclusive).

    A ``*missing*`` video maps to ``None``. Lines before the first ``person...`` line are
    the header and are skipped; after it every non-blank line must parse.

    Raises:
        KTHFormatError: naming ``source:line`` and the offending text.
    """
    table: dict[str, Ranges | None] = {}
    started = False
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not started and not line.startswith('person'):
            continue  # prose header
        if not line:
            continue
        started = True
        where = f'{source}:{number}'
        match = _LINE.match(line)
        if match is None:
            raise KTHFormatError(
                f'{where}: cannot parse {line!r}; expected '
                "'personNN_<action>_dK  frames  1-95, 96-185, ...' or '... *missing*'")
        video = parse_kth_name(match.group('name'), where)
        if video.video_id in table:
            raise KTHFormatError(f'{where}: {video.video_id} is listed a second time')
        if match.group('missing'):
            table[video.video_id] = None
            continue
        ranges: Ranges = []
        for part in match.group('ranges').split(','):
            found = _RANGE.match(part.strip())
            if found is None:
                raise KTHFormatError(
                    f'{where}: frame range {part.strip()!r} of {video.video_id} is not '
                    "'start-end' (1-based, e.g. '1-95')")
            start, end = int(found.group(1)), int(found.group(2))
            if start < 1 or end < start:
                raise KTHFormatError(
                    f'{where}: frame range {start}-{end} of {video.video_id} is empty or '
                    'starts before frame 1')
            ranges.append((start, end))
        table[video.video_id] = ranges
    if not table:
        raise KTHFormatError(f'{source}: no "personNN_<action>_dK ... frames ..." lines found')
    return table


def load_sequences_file(path: str) -> dict[str, Ranges | None]:
    """Read and parse a ``00sequences.txt`` file (see :func:`parse_sequences`)."""
    lines = read_text_lines(path, 'KTH sequences file', errors='replace', remedy=(
        "KTH's 00sequences.txt comes with the dataset; set sequences_file to its path or "
        'to None (whole videos)'))
    return parse_sequences(lines, source=path)
