"""How the tools end on a user's mistake: one ``error: ...`` line, not a traceback.

A missing list, a malformed line, a wrong checkpoint or a typo'd config key raises one of
the project's own error classes, whose message already names the file, line or key and
the fix. Printed after 40 lines of traceback, that message is what a newcomer does not
read. :func:`run_tool` prints it alone, on stderr, and exits 1; ``--verbose`` (or
``MMACTION_EXT_DEBUG=1``) keeps the traceback. Anything else (a bug) keeps its traceback.

Known user errors are the exception classes defined inside ``mmaction_ext`` (found by
module, so a new error class is covered without a list to keep in step) and
``FileNotFoundError``.
"""
from __future__ import annotations

import re
import sys
from typing import Callable, Sequence

from mmaction_ext.utils.env import env_text

PACKAGE = 'mmaction_ext'
DEBUG_ENV = 'MMACTION_EXT_DEBUG'
# MMEngine's registry re-raises a constructor's error as "class `X` in path: message".
_REGISTRY_PREFIX = re.compile(r'class `(\w+)` in \S+?: ')
_WORKER_TRACEBACK = 'Original Traceback (most recent call last):'


def is_user_error(err: BaseException) -> bool:
    """Whether ``err`` is a known user error (see the module docstring)."""
    if isinstance(err, FileNotFoundError):
        return True
    return any(cls.__module__.split('.')[0] == PACKAGE for cls in type(err).__mro__)


def one_line(err: BaseException) -> str:
    """The error's message on one line, without MMEngine's or DataLoader's wrapping."""
    if isinstance(err, KeyError) and len(err.args) == 1 and isinstance(err.args[0], str):
        message = err.args[0]  # str(KeyError) would quote it
    else:
        message = str(err)
    if _WORKER_TRACEBACK in message:  # raised in a DataLoader worker: keep the original
        lines = [line for line in message.splitlines() if line.strip()]
        message = lines[-1].split(': ', 1)[-1] if lines else message
    message = _REGISTRY_PREFIX.sub(r'\1: ', message)
    message = ' '.join(part.strip() for part in message.splitlines() if part.strip())
    return message or type(err).__name__


def wants_traceback(argv: Sequence[str] | None = None) -> bool:
    """``--verbose`` on the command line or ``MMACTION_EXT_DEBUG`` set."""
    argv = sys.argv[1:] if argv is None else argv
    return '--verbose' in argv or bool(env_text(DEBUG_ENV))


def run_tool(main: Callable[..., int | None], argv: Sequence[str] | None = None) -> int:
    """Run a tool's ``main(argv)``; a known user error becomes ``error: ...`` and status 1.

    Returns ``main``'s status (``None`` counts as 0), for ``sys.exit(run_tool(main))``.
    """
    try:
        status = main() if argv is None else main(list(argv))
    except Exception as err:  # noqa: BLE001  only known user errors are caught below
        if not is_user_error(err) or wants_traceback(argv):
            raise
        print(f'error: {one_line(err)} [{type(err).__name__}; --verbose shows the '
              'traceback]', file=sys.stderr)
        return 1
    return int(status or 0)
