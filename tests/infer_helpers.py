"""Shared set-up for the sliding-window inference tests: tiny configs and random weights."""
from __future__ import annotations

import importlib.util
import os
from types import ModuleType

import torch
from mmengine.config import Config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DUAL_CFG = os.path.join(REPO, 'configs/demo/dual-hand_vit-tiny_synthetic-havid.py')
ONE_CFG = os.path.join(REPO, 'configs/demo/vit-tiny_synthetic-motion.py')


def random_checkpoint(config: str, path: str, seed: int = 0) -> str:
    """Save the config's model with random (seeded) weights as an MMEngine checkpoint."""
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def load_tool(name: str) -> ModuleType:
    """``tools/<name>.py`` as a module, to call its ``main(argv)`` and helpers in-process."""
    spec = importlib.util.spec_from_file_location(f'{name}_tool',
                                                  os.path.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
