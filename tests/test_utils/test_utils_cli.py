"""utils/cli.run_tool: which errors become one line, and what the line says."""
from __future__ import annotations

import ast
import importlib
import os

import pytest

from mmaction_ext.utils.cli import is_user_error, one_line, run_tool

PACKAGE = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', 'mmaction_ext'))


def _project_error_classes() -> list[tuple[str, str]]:
    """Every ``class ...Error`` defined in mmaction_ext (the grep of the brief, by AST)."""
    found = []
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if not name.endswith('.py'):
                continue
            path = os.path.join(folder, name)
            module = os.path.relpath(path[:-3], os.path.dirname(PACKAGE)).replace(os.sep, '.')
            module = module.removesuffix('.__init__')
            for node in ast.walk(ast.parse(open(path).read())):
                if isinstance(node, ast.ClassDef) and node.name.endswith('Error'):
                    found.append((module, node.name))
    return sorted(found)


@pytest.mark.parametrize('module, name', _project_error_classes())
def test_every_project_error_class_is_a_user_error(module, name):
    cls = getattr(importlib.import_module(module), name)
    for args in (('message',), ('message', 'path'), (None, 'message', 'path')):  # its signature
        try:
            err = cls(*args)
            break
        except TypeError:
            continue
    else:
        pytest.fail(f'{name}: no known constructor signature')
    assert is_user_error(err)


def test_unexpected_errors_keep_their_traceback(capsys):
    def bug(argv):
        raise TypeError('a bug')
    with pytest.raises(TypeError):
        run_tool(bug, [])
    assert capsys.readouterr().err == ''
    assert not is_user_error(ValueError('x')) and not is_user_error(RuntimeError('x'))
    assert is_user_error(FileNotFoundError('x'))


def test_user_error_is_one_line_and_status_1(capsys, monkeypatch):
    from mmaction_ext.datasets.kth.kth_meta import KTHFormatError
    monkeypatch.delenv('MMACTION_EXT_DEBUG', raising=False)

    def fails(argv):
        raise KTHFormatError('list.txt:3: bad\n  second line')
    assert run_tool(fails, ['x']) == 1
    err = capsys.readouterr().err
    assert err == ('error: list.txt:3: bad second line [KTHFormatError; --verbose shows '
                   'the traceback]\n')
    with pytest.raises(KTHFormatError):
        run_tool(fails, ['x', '--verbose'])
    monkeypatch.setenv('MMACTION_EXT_DEBUG', '1')
    with pytest.raises(KTHFormatError):
        run_tool(fails, ['x'])
    assert run_tool(lambda argv: None, []) == 0 and run_tool(lambda argv: 3, []) == 3


def test_one_line_unwraps_registry_worker_and_key_errors():
    from mmaction_ext.utils.cfg_options import UnknownConfigKeyError
    assert one_line(UnknownConfigKeyError("no key 'x'")) == "no key 'x'"
    wrapped = FileNotFoundError('class `HAViDDataset` in mmaction_ext/datasets/havid_dataset.py'
                                ': clip list not found: a.txt')
    assert one_line(wrapped) == 'HAViDDataset: clip list not found: a.txt'
    worker = RuntimeError('Caught UnreadableClipError in DataLoader worker process 0.\n'
                          'Original Traceback (most recent call last):\n  File "x.py"\n'
                          'mmaction_ext.UnreadableClipError: v.avi: cannot decode\n')
    assert one_line(worker) == 'v.avi: cannot decode'
