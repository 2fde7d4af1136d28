"""Are these the bytes that were saved? Checked before anything is unpickled.

- A zip-format torch file (``torch.save`` since torch 1.6) stores a CRC-32 per member;
  ``torch.load`` does not check them, so every member is read through ``zipfile`` once.
- A legacy (non-zip) torch file stores no checksum. It loads only when its sha256 can be
  checked: a sidecar ``<file>.sha256`` (``sha256sum`` output or the bare hex digest), or
  a name carrying the first hex digits of the sha256 (torch.hub's and OpenMMLab's
  convention, ``name-3e7f93b2.pth``, at least 8 digits). Otherwise it is refused with the
  remedies: rewrite it in zip format (``tools/convert_checkpoint.py``), or write the
  sidecar from the publisher's checksum.
- A downloaded file whose URL name carries such a hash is checked when it is downloaded
  and every time the cached copy is reused (:func:`check_name_hash`).
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import re
import zipfile
import zlib
from typing import BinaryIO, Iterator

from .errors import CheckpointIntegrityError

SIDECAR_SUFFIX = '.sha256'
# A legacy torch file starts with the pickled MAGIC_NUMBER (protocol 2, a 10-byte long).
LEGACY_HEADER = b'\x80\x02\x8a\x0a' + (0x1950a86a20f9469cfc6c).to_bytes(10, 'little')
# torch.hub's HASH_REGEX (``-([a-f0-9]*)\.``), with at least 8 digits: ``vit-b.pth``
# carries no hash. OpenMMLab names end in ``_YYYYMMDD-<8 hex>.pth``.
NAME_HASH = re.compile(r'-([a-f0-9]{8,})\.')
CONVERT_REMEDY = ('python tools/convert_checkpoint.py FILE NEW.pth rewrites it in zip '
                  'format (with a CRC-32 per tensor)')


_LEGACY_UNVERIFIED = contextvars.ContextVar('mmaction_ext_legacy_unverified', default=False)


@contextlib.contextmanager
def unverified_legacy_allowed() -> Iterator[None]:
    """Inside this block a legacy file without checksum is read (the converter that
    rewrites it in zip format has to read it once)."""
    token = _LEGACY_UNVERIFIED.set(True)
    try:
        yield
    finally:
        _LEGACY_UNVERIFIED.reset(token)


def name_hash(name: str) -> str | None:
    """The sha256 prefix a file or URL name carries, if any."""
    found = NAME_HASH.search(os.path.basename(name.split('?', 1)[0]))
    return found.group(1) if found else None


def sha256_of(source: str | BinaryIO) -> str:
    digest = hashlib.sha256()
    with _opened(source) as f:
        for block in iter(lambda: f.read(1 << 24), b''):
            digest.update(block)
    return digest.hexdigest()


class _opened:
    """``open(path, 'rb')`` or a rewound buffer (left open), as a context manager."""

    def __init__(self, source: str | BinaryIO) -> None:
        self.source = source

    def __enter__(self) -> BinaryIO:
        if isinstance(source := self.source, (str, os.PathLike)):
            self.file = open(source, 'rb')
            return self.file
        source.seek(0)
        self.file = None
        return source

    def __exit__(self, *exc) -> None:
        if self.file is not None:
            self.file.close()
        else:
            self.source.seek(0)


def check_name_hash(path: str, url: str, when: str) -> None:
    """The sha256 of ``path`` starts with the hex digits in ``url``'s name (if any).

    ``when`` says which copy failed ('downloaded' or 'cached'), for the remedy.
    """
    expected = name_hash(url)
    if expected is None:
        return
    actual = sha256_of(path)
    if not actual.startswith(expected):
        raise CheckpointIntegrityError(
            f'{when} checkpoint {path!r} does not match the sha256 prefix in its URL name '
            f'({url}): expected {expected}..., got {actual[:len(expected)]}... The file is '
            f'damaged or not the published one. Delete it and download it again: '
            f'rm {path!r}')


def verify_integrity(source: str | BinaryIO, name: str, url: str | None = None,
                     allow_unverified_legacy: bool = False) -> str:
    """Check ``source`` (a path or an in-memory file) before it is unpickled.

    Args:
        source: the local file, or a buffer of its bytes.
        name: how to call it in messages (path or URL).
        url: where it came from; a hash in its name counts as a checksum.
        allow_unverified_legacy: read a legacy file without any checksum (the one
            remedy that rewrites it, tools/convert_checkpoint.py, must read it once).

    Returns:
        What was checked, for the log.

    Raises:
        CheckpointIntegrityError: a checksum does not match, or a legacy file has none.
    """
    path = source if isinstance(source, (str, os.PathLike)) else None
    sidecar = _sidecar_digest(str(path)) if path is not None else None
    if sidecar is not None:
        actual = sha256_of(source)
        if actual != sidecar:
            raise CheckpointIntegrityError(
                f'{name!r} does not match its checksum file {path}{SIDECAR_SUFFIX}: sha256 '
                f'{actual}, expected {sidecar}. The file is damaged (in transfer or on '
                f'disk): copy or download it again.')
    with _opened(source) as f:
        is_zip = zipfile.is_zipfile(f)
        f.seek(0)
        header = f.read(len(LEGACY_HEADER))
    if is_zip:
        _check_zip_crcs(source, name)
        return 'CRC-32 of every member' + (' and sidecar sha256' if sidecar else '')
    if sidecar is not None:
        return 'sidecar sha256'
    if header != LEGACY_HEADER:
        return 'nothing: not a torch file (torch.load will say so)'
    hashed = next((n for n in (url, path, name) if n and name_hash(str(n))), None)
    if hashed is not None:
        actual = sha256_of(source)
        if not actual.startswith(name_hash(str(hashed))):
            raise CheckpointIntegrityError(
                f'{name!r} does not match the sha256 prefix in its name: expected '
                f'{name_hash(str(hashed))}..., got {actual[:8]}... The file is damaged or '
                f'not the published one: download it again.')
        return 'sha256 prefix in its name (legacy format)'
    if allow_unverified_legacy or _LEGACY_UNVERIFIED.get():
        return 'nothing (legacy format, read unverified on request)'
    raise CheckpointIntegrityError(
        f'{name!r} is in torch\'s legacy (non-zip) format, which stores no checksum: a '
        f'damaged byte would load silently as a wrong weight, so it is not loaded. '
        f'Either {CONVERT_REMEDY.replace("FILE", str(name))} and load NEW.pth, or, if you '
        f'have its published sha256, put it beside the file: '
        f'sha256sum {name} > {name}{SIDECAR_SUFFIX} (after checking that it matches).')


def _sidecar_digest(path: str) -> str | None:
    sidecar = path + SIDECAR_SUFFIX
    if not os.path.isfile(sidecar):
        return None
    with open(sidecar, encoding='utf-8', errors='replace') as f:
        words = f.read().split()
    if not words or not re.fullmatch(r'[0-9a-fA-F]{64}', words[0]):
        raise CheckpointIntegrityError(
            f'{sidecar} is not a sha256 checksum file (expected 64 hex digits first, as '
            f'`sha256sum {path}` writes): fix or delete it')
    return words[0].lower()


def _check_zip_crcs(source: str | BinaryIO, name: str) -> None:
    """Read every member once: ``zipfile`` compares each one's CRC-32 at its end."""
    try:
        with _opened(source) as f, zipfile.ZipFile(f) as archive:
            for info in archive.infolist():
                with archive.open(info) as member:
                    while member.read(1 << 24):
                        pass
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
        raise CheckpointIntegrityError(
            f'{name!r} is damaged: {err}. The bytes no longer match the checksums stored '
            f'when it was saved (corrupted in transfer or on disk); copy or download it '
            f'again.') from err
