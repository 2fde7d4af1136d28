"""DataLoader workers come from multiprocessing's fork server, not from the trainer.

The hang this prevents (CPython gh-112275: a fork of a multi-threaded process can
deadlock in the child) is a rare race, so the test checks the mechanism: the Runner's
start method and where a worker really comes from.
"""
from __future__ import annotations

import multiprocessing
import os

import pytest
from mmengine.config import Config
from torch.utils.data import DataLoader, Dataset

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


class ParentPid(Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> int:
        return os.getppid()


@pytest.mark.slow  # a subprocess or a whole run: over 5 s
def test_runtime_config_selects_the_fork_server():
    cfg = Config.fromfile(os.path.join(REPO, 'configs/demo/vit-tiny_synthetic-motion.py'))
    assert cfg.env_cfg.mp_cfg.mp_start_method == 'forkserver'
    from mmengine.utils.dl_utils import set_multi_processing
    previous = multiprocessing.get_start_method(allow_none=True)
    try:
        set_multi_processing(**cfg.env_cfg.mp_cfg)  # what the Runner does with it
        assert multiprocessing.get_start_method() == 'forkserver'
        parents = {int(p) for p in DataLoader(ParentPid(), num_workers=1, batch_size=None)}
        assert parents and os.getpid() not in parents  # forked by the server, not by us
    finally:
        multiprocessing.set_start_method(previous, force=True)


def test_plugin_is_preloaded_in_the_fork_server():
    from multiprocessing import forkserver
    assert 'mmaction_ext' in forkserver._forkserver._preload_modules


def test_preload_appends_to_the_list_the_process_set():
    """An application's own preload list is kept; the plugin is added once, at the end."""
    from multiprocessing import forkserver

    from mmaction_ext.compat.fork_server import preload_in_fork_server
    before = list(forkserver._forkserver._preload_modules)
    try:
        multiprocessing.set_forkserver_preload(['__main__', 'json'])
        preload_in_fork_server()
        assert forkserver._forkserver._preload_modules == ['__main__', 'json', 'mmaction_ext']
        preload_in_fork_server()  # idempotent
        assert forkserver._forkserver._preload_modules == ['__main__', 'json', 'mmaction_ext']
    finally:
        multiprocessing.set_forkserver_preload(before)


@pytest.mark.slow  # a subprocess or a whole run: over 5 s
def test_import_keeps_the_default_main_preload():
    """In a fresh interpreter, importing the plugin keeps multiprocessing's default."""
    import subprocess
    import sys
    code = ('import multiprocessing.forkserver as f, mmaction_ext; '
            'print(f._forkserver._preload_modules)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True, env=dict(os.environ, PYTHONPATH=REPO)).stdout
    assert out.strip().splitlines()[-1] == "['__main__', 'mmaction_ext']"
