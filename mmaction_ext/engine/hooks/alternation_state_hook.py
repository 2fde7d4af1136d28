"""Save the alternation state in checkpoints and hand it back on resume."""
from __future__ import annotations

import random

import numpy as np
import torch
from mmaction.registry import HOOKS
from mmengine.hooks import Hook

STATE_KEY = 'alternation'


def capture_rng_state() -> dict:
    """Main-process RNG states (torch, CUDA, numpy, random) for an exact resume.

    Only tensors and plain Python values, so weights-only loading accepts them.
    """
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    state = dict(torch=torch.get_rng_state(), random=random.getstate(),
                 numpy=(name, torch.from_numpy(keys.astype(np.int64)), int(pos),
                        int(has_gauss), float(gauss)))
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    """Inverse of :func:`capture_rng_state`."""
    torch.set_rng_state(state['torch'])
    name, keys, pos, has_gauss, gauss = state['numpy']
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(state['random'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


@HOOKS.register_module()
class AlternationStateHook(Hook):
    """Put the train loop's alternation state into every checkpoint.

    :class:`AlternatingTrainLoop` registers it itself. On load, the state is only stashed;
    the loop applies it when training (re)starts at the saved iteration, so ``load_from``
    of a training checkpoint does not disturb a fresh run.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self.loaded: dict | None = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state_dict = getattr(runner.train_loop, 'alternation_state_dict', None)
        if state_dict is not None:
            checkpoint[STATE_KEY] = dict(state_dict(), next_iter=checkpoint['meta']['iter'])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self.loaded = checkpoint.get(STATE_KEY)
