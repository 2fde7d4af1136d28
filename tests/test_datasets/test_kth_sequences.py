"""KTH names, person lists and the 00sequences.txt parser, checked on the real file."""
from __future__ import annotations

import os
import re

import pytest

from mmaction_ext.datasets.kth.kth_meta import (
    KTH_SPLITS,
    KTHFormatError,
    parse_kth_name,
    parse_persons,
    resolve_persons,
)
from mmaction_ext.datasets.kth.kth_sequences import load_sequences_file, parse_sequences

# The real file distributed with KTH (a byte-for-byte copy).
REAL = os.path.join(os.path.dirname(__file__), '..', 'assets', 'kth', '00sequences.txt')


def _independent_counts(path: str) -> dict[str, int]:
    """Ranges per video by a plain regex over the raw text (not the parser under test)."""
    counts = {}
    with open(path, 'rb') as f:
        for raw in f.read().decode().split('\n'):
            name = re.match(r'\s*(person\d\d_[a-z]+_d\d)', raw)
            if name:
                counts[name.group(1)] = len(re.findall(r'\d+-\d+', raw))
    return counts


def test_real_file_parses_exactly():
    table = load_sequences_file(REAL)
    reference = _independent_counts(REAL)
    assert set(table) == set(reference) and len(table) == 600
    assert {k: len(v or []) for k, v in table.items()} == reference
    assert sum(len(v) for v in table.values() if v) == 2391
    assert [k for k, v in table.items() if v is None] == ['person13_handclapping_d3']
    three = sorted(k for k, v in table.items() if v and len(v) == 3)
    assert three == ['person11_boxing_d4', 'person13_handwaving_d3', 'person14_handwaving_d3',
                     'person15_boxing_d4', 'person22_boxing_d1']


def test_irregular_ranges_kept_as_written():
    table = load_sequences_file(REAL)
    assert table['person16_handwaving_d4'][2:] == [(207, 311), (212, 456)]  # overlap
    assert table['person17_boxing_d1'][:2] == [(1, 110), (110, 192)]  # shared end frame
    assert table['person07_jogging_d4'] == [(1, 64), (270, 332), (194, 264), (490, 570)]
    assert table['person11_boxing_d4'] == [(1, 106), (107, 194), (195, 250)]  # name + spaces


def test_mixed_whitespace_and_crlf():
    lines = 'header\r\n\r\nperson01_boxing_d1  \t \tframes\t1-5,6-9 , 12 - 20\r\n'.splitlines()
    assert parse_sequences(lines) == {'person01_boxing_d1': [(1, 5), (6, 9), (12, 20)]}


@pytest.mark.parametrize('line, fragment', [
    ('person01_boxing_d1\t\tframes\t1-95, x-7', "'x-7'"),
    ('person01_boxing_d1\t\tframes\t', 'cannot parse'),
    ('person01_boxing_d1\t\tframez\t1-95', 'cannot parse'),
    ('person26_boxing_d1\t\tframes\t1-95', 'outside 1-25'),
    ('person01_kicking_d1\t\tframes\t1-95', "unknown action 'kicking'"),
    ('person01_boxing_d1\t\tframes\t95-1', '95-1'),
])
def test_bad_line_names_file_and_line(line, fragment):
    lines = ['header', '', 'person02_boxing_d1\t\tframes\t1-10', line]
    with pytest.raises(KTHFormatError) as info:
        parse_sequences(lines, source='seq.txt')
    assert 'seq.txt:4' in str(info.value) and fragment in str(info.value)


def test_duplicate_line_is_an_error():
    lines = ['person01_boxing_d1 frames 1-2', 'person01_boxing_d1 frames 3-4']
    with pytest.raises(KTHFormatError, match='seq.txt:2.*second time'):
        parse_sequences(lines, source='seq.txt')


@pytest.mark.parametrize('name, fragment', [
    ('person1_boxing_d1_uncomp.avi', 'two digits'),
    ('person26_boxing_d1_uncomp.avi', 'outside 1-25'),
    ('person00_boxing_d1_uncomp.avi', 'outside 1-25'),
    ('person01_kicking_d1_uncomp.avi', 'unknown action'),
    ('person01_boxing_d5_uncomp.avi', 'unknown scenario'),
    ('boxing_person01.avi', 'not a KTH video name'),
])
def test_bad_names(name, fragment):
    with pytest.raises(KTHFormatError, match=fragment) as info:
        parse_kth_name(name, where='some/file')
    assert 'some/file' in str(info.value)


def test_name_parts():
    video = parse_kth_name('walking/person07_walking_d3_uncomp.avi')
    assert (video.person, video.action, video.scenario, video.label) == (7, 'walking', 'd3', 5)
    assert video.relpath == 'walking/person07_walking_d3_uncomp.avi'


def test_person_lists():
    assert parse_persons('1-16') == tuple(range(1, 17))
    assert parse_persons('17-25, 3') == (*range(17, 26), 3)
    assert parse_persons([5, 5, 6]) == (5, 6)
    assert resolve_persons('test', None) == KTH_SPLITS['test']
    assert resolve_persons('train', '1-2') == (1, 2)  # explicit persons win
    for bad in ('0-3', '20-26', 'a-b', [30]):
        with pytest.raises(KTHFormatError):
            parse_persons(bad)
    with pytest.raises(ValueError, match='unknown KTH split'):
        resolve_persons('dev')


def test_official_split_is_a_partition():
    train, val, test = (set(KTH_SPLITS[k]) for k in ('train', 'val', 'test'))
    assert (len(train), len(val), len(test)) == (8, 8, 9)
    assert train | val | test == set(range(1, 26))
    assert not (train & val or train & test or val & test)
