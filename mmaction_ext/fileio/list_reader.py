"""One reader for every list the project reads: clip lists, video lists, CSV tables.

Each tool used to read its lists its own way, and each way had its own silent failure: a
UTF-8 byte-order mark glued to the first path ("no such file" for a file that exists), a
folder reported as "no such file", a line given twice scored twice. Everything that reads
a list goes through here, so every list accepts the same things and every error names the
file, the line and the fix.

Accepted: UTF-8 with or without a BOM, LF / CRLF / CR line ends, fields separated by any
run of spaces or tabs, blank lines, and (whitespace lists only) ``#`` comment lines.
Refused, naming the file and line: a path that is a folder or does not exist, text that is
not UTF-8, a line with the wrong number of fields, an empty list, and the same real file
listed twice (``./a.avi``, ``x/../a.avi``, a symbolic or hard link: one file).
"""
from __future__ import annotations

import csv
import os
import os.path as osp
from dataclasses import dataclass
from typing import Hashable, Sequence

BOM = '\ufeff'


class ListFileError(ValueError):
    """A list file or one of its lines is unusable (the message names file:line and fix)."""


class ListFileNotFoundError(ListFileError, FileNotFoundError):
    """A list file (or a file it names) is missing or is a folder."""


@dataclass(frozen=True)
class ListLine:
    """One meaningful line of a list: where it is, its text and its fields."""

    source: str
    lineno: int
    text: str
    fields: tuple[str, ...]

    @property
    def where(self) -> str:
        """``file:line``, the prefix of every message about this line."""
        return f'{self.source}:{self.lineno}'


def path_problem(path: str) -> str | None:
    """Why ``path`` cannot be read as a file (``None`` if it can)."""
    if osp.isdir(path):
        return 'is a folder, not a file'
    if not osp.exists(path):
        return 'is a broken symbolic link' if osp.islink(path) else 'no such file'
    return None


def _folder_hint(path: str, suffixes: Sequence[str]) -> str:
    """Name the files in folder ``path`` that look like what was wanted."""
    try:
        inside = sorted(n for n in os.listdir(path) if n.lower().endswith(tuple(suffixes)))
    except OSError:
        return ''
    if not inside:
        return ''
    shown = ', '.join(inside[:5]) + (', ...' if len(inside) > 5 else '')
    return f' (it holds {shown})'


def require_file(path: str, what: str, remedy: str = '',
                 error: type[Exception] = ListFileNotFoundError,
                 suffixes: Sequence[str] = ('.txt', '.csv', '.lst')) -> None:
    """Raise ``error`` naming ``what`` and ``remedy`` unless ``path`` is a readable file."""
    problem = path_problem(path)
    if problem is None:
        return
    tail = f'; {remedy}' if remedy else ''
    if problem == 'no such file':
        raise error(f'{what} not found: {path}{tail}')
    hint = _folder_hint(path, suffixes) if osp.isdir(path) else ''
    raise error(f'{what} {path} {problem}{hint}{tail}')


def read_text_lines(path: str, what: str = 'list', remedy: str = '',
                    error: type[Exception] = ListFileError,
                    missing_error: type[Exception] = ListFileNotFoundError,
                    errors: str = 'strict') -> list[str]:
    """The file's lines, decoded as UTF-8 (a BOM is dropped), without line ends.

    ``errors='replace'`` reads files known to carry stray non-UTF-8 bytes in prose.
    """
    require_file(path, what, remedy, missing_error)
    with open(path, 'rb') as f:
        data = f.read()
    try:
        text = data.decode('utf-8-sig', errors=errors)
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b'\n') + 1
        raise error(f'{path}:{line}: not UTF-8 text ({err.reason} at byte {err.start}); '
                    'save the file as UTF-8') from None
    # a BOM can also start a later line when lists are concatenated (cat a.txt b.txt)
    return [line.lstrip(BOM) for line in text.splitlines()]


def read_list(path: str, what: str = 'list', *, remedy: str = '',
              min_fields: int = 1, max_fields: int | None = None, form: str = '',
              comments: bool = True, allow_empty: bool = False,
              error: type[Exception] = ListFileError,
              missing_error: type[Exception] = ListFileNotFoundError) -> list[ListLine]:
    """Parse a whitespace-separated list into its meaningful lines.

    Args:
        path: the list file.
        what: what the file is, for messages (``'clip list'``, ``'--list'``).
        remedy: what to do when the file is missing or empty.
        min_fields, max_fields: fields a line must have (``max_fields=None``: any).
        form: the expected line, e.g. ``'<relative/path> <label>'``, for messages.
        comments: skip lines whose first non-blank character is ``#``.
        allow_empty: return ``[]`` for a list without lines instead of raising.
        error, missing_error: exception classes to raise (datasets keep their own).
    """
    lines = []
    for lineno, raw in enumerate(read_text_lines(path, what, remedy, error, missing_error), 1):
        text = raw.strip()
        if not text or (comments and text.startswith('#')):
            continue
        fields = tuple(text.split())
        if len(fields) < min_fields or (max_fields is not None and len(fields) > max_fields):
            expected = f'"{form}"' if form else _count(min_fields, max_fields)
            raise error(f'{path}:{lineno}: expected {expected}, got {text!r}')
        lines.append(ListLine(path, lineno, text, fields))
    if not lines and not allow_empty:
        tail = f'; {remedy}' if remedy else ''
        raise error(f'{path}: the {what} is empty (no lines){tail}')
    return lines


def _count(low: int, high: int | None) -> str:
    if high == low:
        return f'{low} field(s)'
    return f'at least {low} field(s)' if high is None else f'{low} to {high} fields'


def file_identity(path: str) -> Hashable:
    """What makes two paths one file: device and inode if it exists, else its real path."""
    try:
        stat = os.stat(path)
    except OSError:
        return ('path', osp.realpath(path))
    return ('inode', stat.st_dev, stat.st_ino)


class DuplicateGuard:
    """Refuse the same real file (plus optional extra key, e.g. a frame range) twice.

    A list that names one file twice counts it twice in training and in the metric; the
    text of the two lines may differ (``a.avi``, ``./a.avi``, a link), the file may not.
    """

    def __init__(self, error: type[Exception] = ListFileError) -> None:
        self.error = error
        self._first: dict[Hashable, tuple[str, str]] = {}

    def add(self, filename: str, where: str, shown: str | None = None,
            extra: tuple = ()) -> None:
        """Record ``filename`` given at ``where`` (``file:line`` or e.g. ``'command line'``);
        raise naming both places if the same file (and ``extra``) was given before."""
        key = (file_identity(filename), *extra)
        shown = shown or filename
        if key in self._first:
            first_where, first_shown = self._first[key]
            same = 'same file' if first_shown == shown else f'same file as {first_shown!r}'
            source, _, line = first_where.rpartition(':')
            if line.isdigit() and where.startswith(source + ':'):
                raise self.error(f'{where}: {shown} is already listed on line {line} ({same}; '
                                 f'this line repeats line {line}); remove one of the two')
            raise self.error(f'{where}: {shown} is already given at {first_where} ({same}); '
                             'give each file once')
        self._first[key] = (where, shown)

    def __len__(self) -> int:
        return len(self._first)


@dataclass(frozen=True)
class CsvTable:
    """A CSV file's stripped header and its data rows (with their line numbers)."""

    source: str
    header: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]


def read_csv_header(path: str, what: str = 'CSV file', remedy: str = '') -> tuple[str, ...]:
    """Only the header of a CSV table (see :func:`read_csv_table`)."""
    return _parse_csv(path, what, remedy, header_only=True).header


def read_csv_table(path: str, what: str = 'CSV file', required: Sequence[str] = (),
                   remedy: str = '') -> CsvTable:
    """Read a CSV table: comma- or tab-separated (told by the header), blank lines skipped,
    names and values stripped; every row must have the header's number of fields."""
    table = _parse_csv(path, what, remedy)
    missing = [c for c in required if c not in table.header]
    if missing:
        raise ListFileError(f'{path}:1: header {list(table.header)} lacks {missing}; '
                            f'expected the columns {list(required)}')
    return table


def _parse_csv(path: str, what: str, remedy: str, header_only: bool = False) -> CsvTable:
    lines = read_text_lines(path, what, remedy)
    header: tuple[str, ...] | None = None
    rows = []
    delimiter = ','
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if header is None:
            if ',' not in line and '\t' in line:
                delimiter = '\t'
            header = tuple(c.strip() for c in next(csv.reader([line], delimiter=delimiter)))
            if len(set(header)) != len(header) or '' in header:
                raise ListFileError(f'{path}:{lineno}: header {list(header)} has an empty '
                                    'or repeated column name')
            if header_only:
                break
            continue
        values = [v.strip() for v in next(csv.reader([line], delimiter=delimiter))]
        if len(values) != len(header):
            raise ListFileError(f'{path}:{lineno}: {len(values)} fields but the header has '
                                f'{len(header)} ({",".join(header)}); fix the line')
        rows.append((lineno, dict(zip(header, values))))
    if header is None:
        tail = f'; {remedy}' if remedy else ''
        raise ListFileError(f'{path}: the {what} is empty (no header){tail}')
    return CsvTable(path, header, tuple(rows))
