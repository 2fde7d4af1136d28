"""The README and docs/ name only things that exist: files, configs, tools and their options.

Every path such as ``tools/train.py``, ``configs/...py`` or ``docs/x.md`` written in a
Markdown file must exist in the repository, every relative link must resolve, and every
``--option`` in a command that runs a project tool must appear in that tool's ``--help``
(shell scripts: in the script's text). Placeholders (``<...>``, ``{...}``, ``*``, ``...``,
upper-case names) are left alone.
"""
from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / 'README.md', *sorted((REPO / 'docs').glob('*.md'))]
TOP = ('tools', 'configs', 'bench', 'docs', 'mmaction_ext', 'tests', 'requirements')
PATH = re.compile(r'(?<![\w./-])(?:' + '|'.join(TOP) + r')/[\w./*<>{}$-]*[\w/*>}]')
LINK = re.compile(r'\]\(([^)#\s]+)(?:#[^)]*)?\)')
COMMAND = re.compile(r'(?:python\S*|bash)\s+((?:tools|bench)/[\w-]+\.(?:py|sh))'
                     r'((?:[^\n`|;&]|\\\n)*)')
OPTION = re.compile(r'(?<![\w-])(--[a-z][\w-]*)')


def _is_placeholder(path: str) -> bool:
    return (any(c in path for c in '<>{}*$') or '...' in path
            or any(part.isupper() and len(part) > 1 for part in re.split(r'[/._-]', path)))


def _paths(text: str) -> list[str]:
    return [p.rstrip('.') for p in PATH.findall(text) if not _is_placeholder(p)]


@pytest.mark.parametrize('doc', DOCS, ids=lambda p: p.name)
def test_named_paths_exist(doc: Path):
    text = doc.read_text(encoding='utf-8')
    missing = sorted({p for p in _paths(text) if not (REPO / p).exists()})
    assert not missing, f'{doc.name} names paths that do not exist: {missing}'


@pytest.mark.parametrize('doc', DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path):
    text = doc.read_text(encoding='utf-8')
    links = [m for m in LINK.findall(text) if '://' not in m and not m.startswith('mailto:')]
    missing = sorted({m for m in links if not (doc.parent / m).exists()})
    assert not missing, f'{doc.name} links to files that do not exist: {missing}'


# Prints every asked tool's --help in one interpreter (mmaction_ext imported once).
_HELP_RUNNER = """
import contextlib, io, json, runpy, sys
out = {}
for tool, sub in json.loads(sys.argv[1]):
    buf = io.StringIO()
    sys.argv = [tool, *([sub] if sub else []), '--help']
    with contextlib.redirect_stdout(buf):
        try:
            runpy.run_path(tool, run_name='__main__')
        except SystemExit:
            pass
    out[tool + ' ' + sub] = buf.getvalue()
print(json.dumps(out))
"""


@functools.cache
def _helps(calls: tuple[tuple[str, str], ...]) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, '-c', _HELP_RUNNER, json.dumps(calls)], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f'--help failed:\n{out.stderr[-2000:]}'
    return json.loads(out.stdout.strip().splitlines()[-1])


def _tool_help(tool: str, subcommand: str = '') -> str:
    """``--help`` of a tool (of its sub-command, where it has them); a script's text."""
    if tool.endswith('.sh'):
        return (REPO / tool).read_text(encoding='utf-8')
    tools = sorted({t for _, t, _, _ in _commands() if t.endswith('.py')})
    calls = [(t, '') for t in tools]
    calls += [(t, first) for _, t, first, _ in _commands()
              if t.endswith('.py') and first and not first.startswith('-')]
    text = _helps(tuple(sorted(set(calls))))
    return text.get(f'{tool} {subcommand}') or text[f'{tool} ']


def _subcommand(tool: str, rest: str) -> str:
    """The sub-command a documented call uses, for tools whose usage lists ``{a,b}``."""
    if tool.endswith('.sh'):
        return ''
    usage = _tool_help(tool).split('\n\n')[0]
    choices = re.search(r'\{([\w,-]+)\}', usage)
    first = rest.split()[0] if rest.split() else ''
    return first if choices and first in choices.group(1).split(',') else ''


@functools.cache
def _commands() -> list[tuple[str, str, str, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding='utf-8')
        for tool, rest in COMMAND.findall(text):
            if (REPO / tool).exists():
                for option in OPTION.findall(rest):
                    found.append((doc.name, tool, rest.split()[0] if rest.split() else '',
                                  option))
    return sorted(set(found))


@pytest.mark.parametrize('tool', sorted({t for _, t, _, _ in _commands()}))
def test_documented_options_exist(tool: str):
    unknown = set()
    for doc, t, first, option in _commands():
        if t != tool:
            continue
        help_text = _tool_help(tool, _subcommand(tool, first))
        if not re.search(re.escape(option) + r'(?![\w-])', help_text):
            unknown.add(f'{doc}: {first} {option}')
    assert not unknown, f'options documented for {tool} that it does not have: {sorted(unknown)}'


def test_the_checks_would_catch_drift(tmp_path):
    """The extractors see what a reader sees (a guard against a vacuous test)."""
    text = ('Run `python tools/train.py configs/demo/x.py --resume --cfg-options a=1`, see '
            '[the guide](docs/nowhere.md) and tools/<name>.py or configs/MY_CONFIG.py.')
    assert _paths(text) == ['tools/train.py', 'configs/demo/x.py', 'docs/nowhere.md']
    assert LINK.findall(text) == ['docs/nowhere.md']
    (tool, rest), = COMMAND.findall(text)
    assert tool == 'tools/train.py' and OPTION.findall(rest) == ['--resume', '--cfg-options']
