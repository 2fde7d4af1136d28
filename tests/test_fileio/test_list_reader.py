"""The one list reader (mmaction_ext.fileio.list_reader): what it accepts and refuses.

The same three-entry list is written in every accepted spelling (BOM, CRLF, CR, tabs,
blank lines, comments, a BOM on a later line) and must parse to the same fields with the
line numbers of the file; every refusal names the file and line.
"""
from __future__ import annotations

import os
import re

import pytest

from mmaction_ext.fileio.list_reader import (
    DuplicateGuard,
    ListFileError,
    ListFileNotFoundError,
    file_identity,
    read_csv_header,
    read_csv_table,
    read_list,
    read_text_lines,
)

ENTRIES = [('a.avi', '0'), ('sub/b.avi', '1'), ('c d.avi', '2')]  # 'c d.avi': a space


def _plain(sep: str = ' ', end: str = '\n') -> str:
    return end.join(sep.join(e) for e in ENTRIES) + end


SPELLINGS = {
    'plain': (_plain().encode(), [1, 2, 3]),
    'bom': (b'\xef\xbb\xbf' + _plain().encode(), [1, 2, 3]),
    'crlf': (_plain(end='\r\n').encode(), [1, 2, 3]),
    'cr': (_plain(end='\r').encode(), [1, 2, 3]),
    'bom_crlf': (b'\xef\xbb\xbf' + _plain(end='\r\n').encode(), [1, 2, 3]),
    'tabs': (_plain(sep='\t').encode(), [1, 2, 3]),
    'tabs_and_spaces': (b'a.avi \t 0\n  sub/b.avi\t1  \n\tc d.avi  2\t\n', [1, 2, 3]),
    'blank_lines': (b'\n\na.avi 0\n   \n\t\nsub/b.avi 1\nc d.avi 2\n\n', [3, 6, 7]),
    'comments': (b'# clips\na.avi 0\n  # indented comment\nsub/b.avi 1\nc d.avi 2\n',
                 [2, 4, 5]),
    'no_final_newline': (_plain().rstrip('\n').encode(), [1, 2, 3]),
    'bom_on_later_line': ('a.avi 0\n\ufeffsub/b.avi 1\nc d.avi 2\n'.encode(), [1, 2, 3]),
}


@pytest.mark.parametrize('spelling', sorted(SPELLINGS))
def test_every_accepted_spelling_reads_the_same(tmp_path, spelling):
    data, line_numbers = SPELLINGS[spelling]
    path = tmp_path / 'list.txt'
    path.write_bytes(data)
    lines = read_list(str(path), 'clip list')
    # fields split on any whitespace; the whole text of the line is kept for paths
    assert [line.fields for line in lines] == [('a.avi', '0'), ('sub/b.avi', '1'),
                                               ('c', 'd.avi', '2')]
    assert [' '.join(line.text.split()) for line in lines] == ['a.avi 0', 'sub/b.avi 1',
                                                              'c d.avi 2']
    assert [line.lineno for line in lines] == line_numbers
    assert lines[0].where == f'{path}:{line_numbers[0]}'
    assert not any('\ufeff' in line.text or '\r' in line.text for line in lines)


def test_comments_can_be_turned_off(tmp_path):
    path = tmp_path / 'list.txt'
    path.write_text('#a.avi 0\n')
    assert read_list(str(path), comments=False)[0].fields == ('#a.avi', '0')
    with pytest.raises(ListFileError, match='is empty'):
        read_list(str(path))


@pytest.mark.parametrize('text, line', [('a.avi\n', 1), ('a.avi 0\nb.avi 0 1\n', 2),
                                        ('\n\na.avi 0 1 2\n', 3)])
def test_field_count_names_file_and_line(tmp_path, text, line):
    path = tmp_path / 'list.txt'
    path.write_text(text)
    with pytest.raises(ListFileError,
                       match=re.escape(f'{path}:{line}: expected "<path> <label>", got')):
        read_list(str(path), min_fields=2, max_fields=2, form='<path> <label>')


def test_missing_file_and_folder_name_the_path_and_the_remedy(tmp_path):
    missing = tmp_path / 'nope.txt'
    with pytest.raises(ListFileNotFoundError,
                       match=re.escape(f'clip list not found: {missing}; write it first')):
        read_list(str(missing), 'clip list', remedy='write it first')
    assert issubclass(ListFileNotFoundError, FileNotFoundError)  # callers catching OSError
    folder = tmp_path / 'lists'
    folder.mkdir()
    (folder / 'train.txt').write_text('a 0\n')
    with pytest.raises(ListFileNotFoundError) as err:
        read_list(str(folder), 'clip list')
    assert f'clip list {folder} is a folder, not a file (it holds train.txt)' in str(err.value)
    link = tmp_path / 'dangling.txt'
    os.symlink(tmp_path / 'gone.txt', link)
    with pytest.raises(ListFileNotFoundError, match='is a broken symbolic link'):
        read_list(str(link))


def test_empty_list_and_not_utf8(tmp_path):
    empty = tmp_path / 'empty.txt'
    empty.write_bytes(b'\xef\xbb\xbf\r\n  \r\n# nothing\r\n')
    with pytest.raises(ListFileError, match=re.escape(f'{empty}: the list is empty')):
        read_list(str(empty))
    assert read_list(str(empty), allow_empty=True) == []
    latin = tmp_path / 'latin.txt'
    latin.write_bytes('a.avi 0\nb\xe9.avi 1\n'.encode('latin-1'))
    with pytest.raises(ListFileError, match=re.escape(f'{latin}:2: not UTF-8 text')):
        read_list(str(latin))
    assert read_text_lines(str(latin), errors='replace')[1] == 'b\ufffd.avi 1'


def _same_file_spellings(tmp_path) -> dict[str, str]:
    (tmp_path / 'videos' / 'sub').mkdir(parents=True)
    real = tmp_path / 'videos' / 'a.avi'
    real.write_bytes(b'x')
    os.symlink(real, tmp_path / 'videos' / 'link.avi')
    os.link(real, tmp_path / 'videos' / 'hard.avi')
    return {'same_text': 'a.avi', 'dot': './a.avi', 'parent': 'sub/../a.avi',
            'symlink': 'link.avi', 'hardlink': 'hard.avi'}


@pytest.mark.parametrize('spelling', ['same_text', 'dot', 'parent', 'symlink', 'hardlink'])
def test_duplicates_are_real_files_not_text(tmp_path, spelling):
    second = _same_file_spellings(tmp_path)[spelling]
    guard = DuplicateGuard()
    root = tmp_path / 'videos'
    guard.add(str(root / 'a.avi'), 'list.txt:1', 'a.avi')
    with pytest.raises(ListFileError, match=re.escape(
            f'list.txt:3: {second} is already listed on line 1')) as err:
        guard.add(str(root / second), 'list.txt:3', second)
    assert 'remove one of the two' in str(err.value)


def test_duplicates_across_sources_and_extra_keys(tmp_path):
    video = tmp_path / 'a.avi'
    video.write_bytes(b'x')
    guard = DuplicateGuard()
    guard.add(str(video), 'command line')
    with pytest.raises(ListFileError, match=re.escape('videos.txt:2: ') +
                       '.*already given at command line'):
        guard.add(str(tmp_path / '.' / 'a.avi'), 'videos.txt:2', 'a.avi')
    ranges = DuplicateGuard()
    ranges.add(str(video), 'l:1', extra=('1', '20'))
    ranges.add(str(video), 'l:2', extra=('21', '40'))  # another sub-sequence of one video
    assert len(ranges) == 2
    # a file that does not exist yet is compared by its real path
    assert file_identity(str(tmp_path / 'x' / '..' / 'none.avi')) == file_identity(
        str(tmp_path / 'none.avi'))


@pytest.mark.parametrize('data', [
    b'frame,lh,rh\n0,1,2\n1,1,3\n',
    b'\xef\xbb\xbfframe,lh,rh\r\n0,1,2\r\n1,1,3\r\n',
    b'frame\tlh\trh\n0\t1\t2\n1\t1\t3\n',
    b' frame , lh , rh \n\n0, 1, 2\n\n1 ,1 ,3\n\n',
])
def test_csv_tables_in_every_accepted_spelling(tmp_path, data):
    path = tmp_path / 'gt.csv'
    path.write_bytes(data)
    table = read_csv_table(str(path), required=['frame', 'lh'])
    assert table.header == ('frame', 'lh', 'rh') == read_csv_header(str(path))
    assert [row for _, row in table.rows] == [dict(frame='0', lh='1', rh='2'),
                                              dict(frame='1', lh='1', rh='3')]


def test_csv_refusals_name_file_and_line(tmp_path):
    path = tmp_path / 'gt.csv'
    path.write_text('frame,lh,rh\n0,1,2\n1,1\n')
    with pytest.raises(ListFileError, match=re.escape(f'{path}:3: 2 fields but the header')):
        read_csv_table(str(path))
    path.write_text('frame,lh\n0,1\n')
    with pytest.raises(ListFileError, match=re.escape(f"{path}:1: header ['frame', 'lh'] "
                                                      "lacks ['rh']")):
        read_csv_table(str(path), required=['frame', 'lh', 'rh'])
    path.write_text('frame,lh,lh\n')
    with pytest.raises(ListFileError, match='repeated column name'):
        read_csv_table(str(path))
    path.write_text('\n\n')
    with pytest.raises(ListFileError, match='is empty'):
        read_csv_header(str(path))
