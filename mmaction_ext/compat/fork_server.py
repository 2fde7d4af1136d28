"""Preload the plugin in multiprocessing's fork server, so workers start fast and safe.

Upstream symptom (CPython gh-112275, Python 3.8-3.11 before their late patch releases;
this machine has 3.11.7): a child made by ``os.fork()`` can inherit the interpreter's
runtime ``HEAD_LOCK`` in the locked state when another thread of the parent was creating
or deleting a thread state at that instant, and then deadlocks in
``PyOS_AfterFork_Child`` before running any code. MMEngine starts DataLoader workers with
``fork`` from the training process, which by then has threads (queue feeders, gloo,
checkpoint writing). Seen here as rare DDP hangs right after "Saving checkpoint":
validation forks its workers, one worker never starts, rank 0 waits forever for its
batch and rank 1 waits in the metric's broadcast (gdb stack in docs/robustness.md).

``configs/_base_/ext_runtime.py`` therefore uses ``mp_start_method='forkserver'``: workers
are forked from a single-threaded server process instead. Preloading ``mmaction_ext``
there (which imports MMAction2, MMEngine and torch once) keeps each worker's start as
cheap as a plain fork. Setting the preload list is a no-op unless the fork server is used.
The plugin is appended to the list the process already has (default ``['__main__']``),
never replacing modules that the application chose to preload.
"""
from __future__ import annotations

import multiprocessing

PRELOAD = ['mmaction_ext']


def preload_in_fork_server() -> None:
    """Have multiprocessing's fork server also import ``mmaction_ext`` when it starts."""
    from multiprocessing import forkserver
    current = list(getattr(forkserver._forkserver, '_preload_modules', None) or [])
    missing = [name for name in PRELOAD if name not in current]
    if missing:
        multiprocessing.set_forkserver_preload(current + missing)
