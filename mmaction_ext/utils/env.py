"""Every environment variable mmaction_ext reads: one table, one reader.

Each switch is first a config argument or a tool option (the ``config`` column); the
variable is the same switch for job scripts that cannot edit the config, read here and
nowhere else. The README's table of variables is this table (a test compares them).
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class EnvSwitch:
    """One variable: its name, what it does, and the config or tool option it mirrors."""

    name: str
    what: str
    config: str


SWITCHES = {s.name: s for s in (
    EnvSwitch('MMACTION_EXT_TRUSTED_CHECKPOINTS',
              'paths, shell-glob patterns (one path level each) or URLs, separated by `:`, '
              'of checkpoints and dumps loaded with full pickle; `*` trusts all',
              'none: trust is decided outside configs'),
    EnvSwitch('MMACTION_EXT_ALLOW_PARTIAL_CHECKPOINT',
              'evaluate or infer with weights missing from the checkpoint (never NaN)',
              '`CheckpointCoverageHook(allow_partial=True)`; `--allow-partial-checkpoint`'),
    EnvSwitch('MMACTION_EXT_RESUME_ALLOW_CHANGES',
              '`--resume` a run whose data, batch or schedule changed (logged)',
              '`ResumeFingerprintHook(allow_changes=True)`'),
    EnvSwitch('MMACTION_EXT_RESUME_OR_START',
              '`--resume` with nothing to resume starts a new run (preemptible queues)',
              '`ResumeGuardHook(resume_or_start=True)`'),
    EnvSwitch('MMACTION_EXT_DIST_TIMEOUT',
              'seconds before a stuck CPU (gloo) collective fails the job (default 600)',
              '`env_cfg.dist_cfg.timeout`'),
    EnvSwitch('MMACTION_EXT_VERBOSE',
              "MMEngine's full console (environment, config, per-iteration lines)",
              '`--verbose` of tools/train.py and tools/test.py'),
    EnvSwitch('MMACTION_EXT_DEBUG',
              'tracebacks instead of one `error:` line for known user errors',
              '`--verbose` of every tool'),
    EnvSwitch('MMACTION_EXT_VENV',
              'where tools/setup_env.sh, run_tests.sh and run_demo.sh keep the virtualenv',
              'none (shell scripts; default `.venv`)'),
    EnvSwitch('MMACTION_EXT_BENCH_CACHE',
              "where bench/decode.py keeps its generated videos",
              'none (benchmarks)'),
)}

_TRUE = ('1', 'true', 'yes', 'on')


def _switch(name: str) -> EnvSwitch:
    if name not in SWITCHES:
        raise KeyError(f'{name} is not one of mmaction_ext\'s variables: '
                       f'{", ".join(sorted(SWITCHES))}')
    return SWITCHES[name]


def env_text(name: str, default: str = '') -> str:
    """The variable's value as set (``default`` when unset)."""
    return os.environ.get(_switch(name).name, default)


def env_flag(name: str) -> bool:
    """True when the variable is set to 1/true/yes/on (any case)."""
    return env_text(name).strip().lower() in _TRUE


def env_int(name: str) -> int | None:
    """The variable as a whole number, None when unset; anything else is an error."""
    value = env_text(name).strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f'{name}={value!r}: a whole number is expected') from None


def markdown_table() -> str:
    """The README's table of variables."""
    rows = ['| variable | what it does | config / option equivalent |', '|---|---|---|']
    rows += [f'| `{s.name}` | {s.what} | {s.config} |' for s in SWITCHES.values()]
    return '\n'.join(rows)
