"""One module maps the environment variables; the README lists exactly those."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmaction_ext.utils import env
from mmaction_ext.utils.env import SWITCHES, env_flag, env_int, env_text, markdown_table

REPO = Path(__file__).resolve().parents[1]
NAME = re.compile(r'MMACTION_EXT_[A-Z_]+[A-Z]')
SOURCES = [*REPO.glob('mmaction_ext/**/*.py'), *REPO.glob('tools/*.py'), *REPO.glob('tools/*.sh'),
           *REPO.glob('bench/*.py')]


def test_every_variable_named_in_the_code_is_in_the_table():
    named = {m for p in SOURCES for m in NAME.findall(p.read_text(encoding='utf-8'))}
    assert named - set(SWITCHES) == set()
    assert set(SWITCHES) - named == set(), 'a variable in the table that nothing reads'


def test_only_the_env_module_reads_them():
    """Python code reads the variables through mmaction_ext.utils.env, nowhere else."""
    direct = re.compile(r'environ(?:\.get)?\s*[\[(]\s*[\'"]MMACTION_EXT_'
                        r'|getenv\(\s*[\'"]MMACTION_EXT_')
    readers = [str(p.relative_to(REPO)) for p in SOURCES if p.suffix == '.py'
               and p.name != 'env.py' and direct.search(p.read_text(encoding='utf-8'))]
    assert readers == []


def test_readme_table_is_the_modules_table():
    readme = (REPO / 'README.md').read_text(encoding='utf-8')
    missing = [row for row in markdown_table().splitlines() if row not in readme]
    assert not missing, 'README.md lacks these rows of the variables table:\n' + '\n'.join(
        missing)


@pytest.mark.parametrize('value,expected', [('1', True), ('TRUE', True), ('yes', True),
                                            ('on', True), ('0', False), ('', False),
                                            ('no', False)])
def test_flag_spellings(monkeypatch, value, expected):
    monkeypatch.setenv('MMACTION_EXT_RESUME_OR_START', value)
    assert env_flag('MMACTION_EXT_RESUME_OR_START') is expected


def test_int_and_text_and_unknown(monkeypatch):
    monkeypatch.delenv('MMACTION_EXT_DIST_TIMEOUT', raising=False)
    assert env_int('MMACTION_EXT_DIST_TIMEOUT') is None
    monkeypatch.setenv('MMACTION_EXT_DIST_TIMEOUT', ' 120 ')
    assert env_int('MMACTION_EXT_DIST_TIMEOUT') == 120
    monkeypatch.setenv('MMACTION_EXT_DIST_TIMEOUT', '2m')
    with pytest.raises(ValueError, match="MMACTION_EXT_DIST_TIMEOUT='2m'"):
        env_int('MMACTION_EXT_DIST_TIMEOUT')
    monkeypatch.setenv('MMACTION_EXT_TRUSTED_CHECKPOINTS', '/a.pth:/b.pth')
    assert env_text('MMACTION_EXT_TRUSTED_CHECKPOINTS') == '/a.pth:/b.pth'
    with pytest.raises(KeyError, match='MMACTION_EXT_TYPO is not one of'):
        env.env_flag('MMACTION_EXT_TYPO')


def test_hooks_take_the_switch_as_config_argument(monkeypatch):
    from mmaction_ext.engine.hooks import ResumeFingerprintHook, ResumeGuardHook
    monkeypatch.delenv('MMACTION_EXT_RESUME_OR_START', raising=False)
    assert ResumeGuardHook(resume_or_start=True).resume_or_start
    assert ResumeFingerprintHook(allow_changes=True).allow_changes
    assert not ResumeGuardHook().resume_or_start
