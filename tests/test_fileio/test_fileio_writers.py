"""The project's one file writer (mmaction_ext.fileio): modes, own input, folders, full
disk, read-only places, kill safety, and that no second writer exists in the code."""
from __future__ import annotations

import errno
import json
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from mmaction_ext.checkpoint import safe_torch_load
from mmaction_ext.fileio import (
    DiskFullError,
    FileWriteError,
    NotWritableError,
    OutputIsFolderError,
    OutputIsInputError,
    append_text,
    atomic_write_bytes,
    check_writable,
    save_checkpoint,
    write_csv,
    write_figure_png,
    write_json,
    write_lines,
    write_npy,
    write_text,
)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def _figure():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [1, 0])
    return fig


# each writer, and how to read its file back independently of the writer
WRITERS = {
    'text': (lambda p: write_text(p, 'héllo\n'), lambda p: open(p, encoding='utf-8').read(),
             'héllo\n'),
    'lines': (lambda p: write_lines(p, ['a', 'b'], newline='\r\n'),
              lambda p: open(p, 'rb').read(), b'a\r\nb\r\n'),
    'json': (lambda p: write_json(p, {'a': [1, 2]}), lambda p: json.load(open(p)),
             {'a': [1, 2]}),
    'csv': (lambda p: write_csv(p, ['x', 'y'], [[1, 'a,b']]), lambda p: open(p).read(),
            'x,y\n1,"a,b"\n'),
    'npy': (lambda p: write_npy(p, np.arange(6).reshape(2, 3)),
            lambda p: np.load(p, allow_pickle=False).tolist(), [[0, 1, 2], [3, 4, 5]]),
    'png': (lambda p: write_figure_png(p, _figure(), dpi=20),
            lambda p: open(p, 'rb').read(8), b'\x89PNG\r\n\x1a\n'),
    'checkpoint': (lambda p: save_checkpoint({'w': torch.ones(3)}, p),
                   lambda p: safe_torch_load(p)['w'].tolist(), [1.0, 1.0, 1.0]),
}


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize('kind', sorted(WRITERS))
@pytest.mark.parametrize('mask', [0o022, 0o077])
def test_new_file_mode_follows_the_umask_and_content_reads_back(tmp_path, umask, kind, mask):
    write, read, expected = WRITERS[kind]
    umask(mask)
    path = str(tmp_path / 'sub' / f'out.{kind}')  # the folder is created
    write(path)
    assert _mode(path) == 0o666 & ~mask  # 0o644 / 0o600: what open(path, 'w') gives
    assert read(path) == expected
    assert os.listdir(tmp_path / 'sub') == [f'out.{kind}']  # no temporary file left


@pytest.mark.parametrize('kind', sorted(WRITERS))
def test_overwritten_file_keeps_its_mode(tmp_path, umask, kind):
    write, read, expected = WRITERS[kind]
    path = tmp_path / f'out.{kind}'
    path.write_bytes(b'old')
    os.chmod(path, 0o640)
    write(str(path))
    assert _mode(path) == 0o640 and read(str(path)) == expected


@pytest.mark.parametrize('how', ['same', 'dot', 'symlink', 'hardlink'])
def test_writing_over_its_own_input_is_refused_naming_both(tmp_path, monkeypatch, how):
    src = tmp_path / 'ckpt.pth'
    src.write_bytes(b'the input')
    monkeypatch.chdir(tmp_path)
    out = {'same': str(src), 'dot': './ckpt.pth', 'symlink': str(tmp_path / 'link.pth'),
           'hardlink': str(tmp_path / 'hard.pth')}[how]
    if how == 'symlink':
        os.symlink(src, out)
    if how == 'hardlink':
        os.link(src, out)
    for attempt in (lambda: save_checkpoint({'x': 1}, out, inputs=['ckpt.pth']),
                    lambda: check_writable(out, inputs=[str(src)])):
        with pytest.raises(OutputIsInputError) as err:
            attempt()
        assert out in str(err.value) and 'ckpt.pth' in str(err.value)
        assert 'another output path' in str(err.value)
    assert src.read_bytes() == b'the input'


def test_inputs_that_are_other_files_or_missing_do_not_matter(tmp_path):
    (tmp_path / 'a.pth').write_bytes(b'a')
    write_text(tmp_path / 'b.txt', 'b', inputs=[tmp_path / 'a.pth', tmp_path / 'gone', None])
    assert (tmp_path / 'b.txt').read_text() == 'b'


def test_folder_as_output_is_a_clear_error(tmp_path):
    (tmp_path / 'out').mkdir()
    for attempt in (lambda: atomic_write_bytes(b'x', tmp_path / 'out'),
                    lambda: append_text(tmp_path / 'out', 'x'),
                    lambda: check_writable(tmp_path / 'out')):
        with pytest.raises(OutputIsFolderError, match='is a folder; give a file name'):
            attempt()
    assert os.listdir(tmp_path / 'out') == []


def test_a_file_where_a_folder_should_be_is_a_clear_error(tmp_path):
    (tmp_path / 'results').write_text('a file')
    with pytest.raises(FileWriteError, match='a part of its folder path is a file'):
        write_json(tmp_path / 'results' / 'clip' / 'summary.json', {})
    assert (tmp_path / 'results').read_text() == 'a file'


def test_full_disk_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / 'scores.csv'
    path.write_text('old\n')

    def full(fd):  # a full disk surfaces at write()/fsync(), without a file name
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(os, 'fsync', full)
    with pytest.raises(DiskFullError) as err:
        write_csv(path, ['a'], [[1]])
    assert isinstance(err.value, OSError) and err.value.errno == errno.ENOSPC
    text = str(err.value)
    assert text.startswith(f'out of disk space writing {path} (') and 'GB free on' in text
    assert 'Free space there or write to another place' in text
    monkeypatch.undo()
    assert path.read_text() == 'old\n' and os.listdir(tmp_path) == ['scores.csv']


@pytest.mark.parametrize('code, why', [(errno.EACCES, 'is not writable by this user'),
                                        (errno.EROFS, 'is on a read-only file system')])
def test_forbidden_or_read_only_place_names_the_folder_and_remedy(tmp_path, monkeypatch,
                                                                 code, why):
    real_open = os.open

    def refuse(path, flags, *args):  # tests run as root: chmod cannot forbid, so simulate
        if flags & os.O_CREAT:
            raise OSError(code, os.strerror(code), path)
        return real_open(path, flags, *args)
    monkeypatch.setattr(os, 'open', refuse)
    with pytest.raises(NotWritableError) as err:
        write_json(tmp_path / 'summary.json', {})
    assert err.value.errno == code
    assert str(err.value).startswith(f'cannot write {tmp_path / "summary.json"}: {tmp_path} '
                                     f'{why}')
    assert 'Write to another place' in str(err.value)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason='root may write into a 0o555 folder')
def test_read_only_folder_for_real(tmp_path):
    folder = tmp_path / 'ro'
    folder.mkdir()
    os.chmod(folder, 0o555)
    try:
        with pytest.raises(NotWritableError, match='not writable by this user'):
            write_text(folder / 'x.txt', 'x')
        with pytest.raises(NotWritableError):
            check_writable(folder / 'x.txt')
    finally:
        os.chmod(folder, 0o755)


def test_append_text_appends_whole_lines(tmp_path):
    path = tmp_path / 'trace.txt'
    append_text(path, '1 lh\n')
    append_text(path, '2 rh\n')
    assert path.read_text() == '1 lh\n2 rh\n'


@pytest.mark.slow
def test_killed_checkpoint_writer_leaves_the_old_file_whole(tmp_path):
    """save_checkpoint streams torch.save into the temporary file; SIGKILL at several
    moments: the target always loads, old or new, never half."""
    target = tmp_path / 'converted.pth'
    save_checkpoint({'v': torch.zeros(4)}, target)
    writer = textwrap.dedent(f'''
        import torch
        from mmaction_ext.fileio import save_checkpoint
        big = {{'v': torch.ones(20_000_000)}}   # 80 MB
        print('writing', flush=True)
        save_checkpoint(big, {str(target)!r})
        print('done', flush=True)
    ''')
    outcomes = set()
    for delay in (0.0, 0.05, 0.3):
        proc = subprocess.Popen([sys.executable, '-c', writer], stdout=subprocess.PIPE,
                                text=True, env=dict(os.environ, PYTHONPATH=REPO))
        assert proc.stdout.readline().strip() == 'writing'
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        outcomes.add(int(safe_torch_load(str(target))['v'].numel()))
    assert outcomes <= {4, 20_000_000}
    leftovers = [p for p in os.listdir(tmp_path) if p != 'converted.pth']
    assert all(p.startswith('.converted.pth.') and p.endswith('.tmp') for p in leftovers)


# Writing calls that bypass the writer (serialising into memory, e.g. ``to_csv()`` or
# ``av.open(buf, ...)``, is fine), and the places allowed to make them (with why).
BYPASS = re.compile(
    r"^(?!av\.)(?:\w+\.)*open\([^)]*['\"][wax]b?\+?['\"]|^av\.open\((?!buf)[^)]*mode=['\"]w"
    r"|\.savefig\(|^np\.save\(|^torch\.save\(|\.to_csv\((?!\)|index=False\))"
    r"|^json\.dump\(|\.write_text\(|\.write_bytes\(|mkstemp|^os\.replace\("
    r"|\.truncate\(|O_CREAT")
ALLOWED = {
    'mmaction_ext/fileio/atomic_local_backend.py',  # the writer itself
    'mmaction_ext/fileio/writers.py',               # its helpers (into memory, then it)
    'mmaction_ext/engine/hooks/work_dir_lock_hook.py',  # O_EXCL lock creation (no content)
}


def _bypassing_calls(path: str) -> list[str]:
    """Calls (not docstrings or comments) in ``path`` that write a file themselves."""
    import ast
    tree = ast.parse(open(path, encoding='utf-8').read(), path)
    hits = {node.lineno: ast.unparse(node) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and BYPASS.search(ast.unparse(node))}
    return [f'{line}: {call}' for line, call in sorted(hits.items())]


def test_no_second_writer_in_the_package_or_tools():
    found = []
    for top in ('mmaction_ext', 'tools'):
        for folder, _, files in os.walk(os.path.join(REPO, top)):
            for name in files:
                rel = os.path.relpath(os.path.join(folder, name), REPO)
                if name.endswith('.py') and rel not in ALLOWED:
                    found += [f'{rel}:{hit}' for hit in _bypassing_calls(os.path.join(REPO, rel))]
    assert not found, 'write through mmaction_ext.fileio instead:\n' + '\n'.join(found)


def test_the_bypass_check_finds_what_it_looks_for(tmp_path):
    sample = tmp_path / 'sample.py'
    sample.write_text("\"\"\"open(path, 'w') in a docstring is not a call.\"\"\"\n"
                      "open(p, 'w').write(x)\nfig.savefig(p)\nnp.save(p, a)\n"
                      "torch.save(o, p)\ndf.to_csv(p)\njson.dump(o, f)\n"
                      "text = df.to_csv(index=False)\nav.open(buf, mode='w')\n")
    hits = _bypassing_calls(str(sample))
    assert [h.split(':')[0] for h in hits] == ['2', '3', '4', '5', '6', '7']
