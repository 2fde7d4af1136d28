"""bench/fsdp_memory_table.py: parameter counts and activation figures it tabulates."""
from __future__ import annotations

import importlib.util
import os.path as osp
import sys

import pytest

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


@pytest.fixture(scope='module')
def table():
    spec = importlib.util.spec_from_file_location(
        'fsdp_memory_table', osp.join(REPO, 'bench/fsdp_memory_table.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # for its dataclass
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('arch,published_m', [('b', 87), ('l', 305), ('h', 633), ('g', 1011)])
def test_parameter_counts_match_the_papers(table, arch, published_m):
    """VideoMAE (B/L/H, with a 400-class head) and VideoMAEv2 (g) report these sizes."""
    a = table.describe(arch, heads=(400,))
    assert a.params / 1e6 == pytest.approx(published_m, rel=0.01)
    assert a.tokens == (2048 if arch == 'g' else 1568)


@pytest.mark.parametrize('mlp_ratio', [4.0, 48 / 11])
@pytest.mark.parametrize('with_cp', [False, True])
def test_block_activation_formula_matches_memtracker(table, with_cp, mlp_ratio):
    arch = dict(embed_dims=64, depth=2, num_heads=2, mlp_ratio=mlp_ratio)
    a = table.describe(arch, frames=4, size=64)
    assert a.tokens == 2 * 4 * 4 and a.width == 64 and a.mlp_ratio == mlp_ratio
    measured = table.measured_block_activation(arch, 4, 64, with_cp)
    assert measured == table.block_activation_bytes(a, with_cp)


def test_sharded_states_are_ddp_over_gpus(table):
    a = table.describe('l')
    ddp = table.state_bytes(a, 8, sharded=False)
    sharded = table.state_bytes(a, 8, sharded=True)
    assert ddp['params'] + ddp['grads'] + ddp['optimizer'] == 16 * a.params
    for key in ('params', 'grads', 'optimizer'):
        assert sharded[key] == pytest.approx(ddp[key] / 8)
    assert table.activation_bytes(a, True) < table.activation_bytes(a, False) / 3
