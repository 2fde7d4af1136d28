"""DataLoader workers come from multiprocessing's fork server, not from the trainer.

The hang this prevents (CPython gh-112275: a fork of a multi-threaded process can
deadlock in the child) is a rare race, so the test checks the mechanism: the Runner's
start method and where a worker really comes from.
"""
from __future__ import annotations

import multiprocessing
import os

from mmengine.config import Config
from torch.utils.data import DataLoader, Dataset

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ParentPid(Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> int:
        return os.getppid()


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
