"""Contract: the atomic ``local`` backend keeps MMEngine ``LocalBackend``'s promises.

Each case does the same thing with ``LocalBackend`` and ``AtomicLocalBackend`` in twin
directories and requires the same observable result (content, mode, link structure).
Intended difference (named): checkpoint/dump writes are crash-atomic, see
``test_intended_difference_*`` and tests/test_engine/test_crash_safety.py.
"""
from __future__ import annotations

import os
import stat

import pytest
from mmengine.fileio import LocalBackend, get_file_backend

from mmaction_ext.fileio.atomic_local_backend import (
    AtomicLocalBackend,
    atomic_write_bytes,
    needs_atomic_write,
)

NAMES = ['iter_1.pth', 'results.pkl', 'scalars.json']  # atomic, atomic, stock path


@pytest.fixture
def twins(tmp_path):
    """(stock dir, ours dir) with their backends."""
    a, b = tmp_path / 'stock', tmp_path / 'ours'
    a.mkdir(), b.mkdir()
    return (LocalBackend(), a), (AtomicLocalBackend(), b)


@pytest.fixture
def umask():
    def set_(value):
        os.umask(value)
    old = os.umask(0o022)
    yield set_
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _observe(root):
    """Content, mode and link structure of every entry under ``root``."""
    out = {}
    for name in sorted(os.listdir(root)):
        p = os.path.join(root, name)
        st = os.lstat(p)
        link = os.readlink(p) if stat.S_ISLNK(st.st_mode) else None
        body = open(p, 'rb').read() if os.path.exists(p) and os.path.isfile(p) else None
        out[name] = (link, body, _mode(p) if os.path.exists(p) else None,
                     os.stat(p).st_nlink if os.path.exists(p) else None)
    return out


@pytest.mark.parametrize('name', NAMES)
@pytest.mark.parametrize('mask', [0o022, 0o002, 0o077])
def test_new_file_follows_the_umask(twins, umask, name, mask):
    umask(mask)
    for backend, root in twins:
        backend.put(b'data', str(root / 'sub' / name))  # also: parent dirs are created
    (_, a), (_, b) = twins
    assert _mode(b / 'sub' / name) == _mode(a / 'sub' / name) == 0o666 & ~mask
    assert (b / 'sub' / name).read_bytes() == b'data'


@pytest.mark.parametrize('name', NAMES)
@pytest.mark.parametrize('mode', [0o640, 0o604, 0o600])
def test_overwritten_file_keeps_its_mode(twins, name, mode):
    for backend, root in twins:
        (root / name).write_bytes(b'old')
        os.chmod(root / name, mode)
        backend.put(b'new', str(root / name))
    (_, a), (_, b) = twins
    assert _observe(a) == _observe(b)
    assert _mode(b / name) == mode and (b / name).read_bytes() == b'new'


@pytest.mark.parametrize('name', NAMES)
def test_writes_through_a_symlink(twins, name):
    for backend, root in twins:
        (root / 'real').mkdir()
        (root / 'real' / name).write_bytes(b'old')
        os.symlink(os.path.join('real', name), root / name)
        backend.put(b'new', str(root / name))
    (_, a), (_, b) = twins
    assert os.path.islink(b / name) and (b / 'real' / name).read_bytes() == b'new'
    assert _observe(a / 'real') == _observe(b / 'real') and _observe(a) == _observe(b)


@pytest.mark.parametrize('name', NAMES)
def test_dangling_symlink_creates_its_target(twins, name):
    for backend, root in twins:
        os.symlink('target.bin', root / name)
        backend.put(b'new', str(root / name))
    (_, a), (_, b) = twins
    assert _observe(a) == _observe(b)
    assert (b / 'target.bin').read_bytes() == b'new'


@pytest.mark.parametrize('name', NAMES)
def test_hard_link_is_kept(twins, name):
    """Stock writes in place, so every name sees the new content; so does ours."""
    for backend, root in twins:
        (root / name).write_bytes(b'old')
        os.link(root / name, root / 'other_name')
        backend.put(b'new', str(root / name))
    (_, a), (_, b) = twins
    assert _observe(a) == _observe(b)
    assert (b / 'other_name').read_bytes() == b'new'
    assert os.stat(b / name).st_ino == os.stat(b / 'other_name').st_ino


@pytest.mark.parametrize('name', NAMES)
def test_put_text_and_get_roundtrip(twins, name):
    for backend, root in twins:
        backend.put_text('héllo\n', str(root / name), encoding='latin-1')
        backend.put_text('wörld', str(root / (name + '.txt')))
    (_, a), (_, b) = twins
    assert _observe(a) == _observe(b)
    ours = AtomicLocalBackend()
    assert ours.get_text(str(b / name), encoding='latin-1') == 'héllo\n'
    assert ours.get(str(b / name)) == 'héllo\n'.encode('latin-1')


def test_other_backend_methods_are_the_parents():
    overridden = {k for k, v in vars(AtomicLocalBackend).items() if callable(v)}
    assert overridden == {'put', 'put_text'}


def test_plain_paths_get_the_atomic_backend():
    assert type(get_file_backend('/x/y.pth')) is AtomicLocalBackend


def test_intended_difference_checkpoints_and_dumps_are_replaced_not_rewritten(tmp_path):
    """A reader holding the old checkpoint keeps reading it whole (new inode); stock
    truncates the same file under the reader. Only checkpoint/dump names do this."""
    assert needs_atomic_write('a/iter_3.pth') and needs_atomic_write('r.PKL')
    assert not needs_atomic_write('20260101.log') and not needs_atomic_write('cfg.py')
    target = tmp_path / 'epoch_1.pth'
    target.write_bytes(b'old contents')
    with open(target, 'rb') as reader:
        AtomicLocalBackend().put(b'new', str(target))
        assert reader.read() == b'old contents'
    assert target.read_bytes() == b'new'
    assert os.listdir(tmp_path) == ['epoch_1.pth']  # no temporary file left behind


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / 'iter_2.pth'
    target.write_bytes(b'old')

    with pytest.raises(TypeError):
        atomic_write_bytes(object(), str(target))  # fails mid-write
    assert target.read_bytes() == b'old' and os.listdir(tmp_path) == ['iter_2.pth']
