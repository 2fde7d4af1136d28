"""Shared fixtures. Importing mmaction_ext first applies the compat fixes."""
from __future__ import annotations

import os
import sys

import pytest

import mmaction_ext  # noqa: F401

# Tools started by the tests print MMEngine's full console (they check its lines); the
# quiet console is tested with this unset (tests/test_utils/test_console.py).
os.environ.setdefault('MMACTION_EXT_VERBOSE', '1')

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable


@pytest.fixture(scope='session')
def repo_root() -> str:
    return REPO


@pytest.fixture(scope='session')
def tiny_motion_data(tmp_path_factory) -> str:
    """A 4-class synthetic motion dataset (64x64 .avi) in VideoDataset list format."""
    from mmaction_ext.synthetic import make_classification_dataset
    root = str(tmp_path_factory.mktemp('motion'))
    make_classification_dataset(root, num_classes=4, videos_per_class={'train': 4, 'val': 2},
                                num_frames=16, size=(64, 64))
    return root


@pytest.fixture(scope='module')
def tiny_havid(tmp_path_factory) -> str:
    """Dual-hand layout, 3 lh / 4 rh classes; lh: 6 training clips, rh: 4 (4-frame .avi)."""
    from mmaction_ext.synthetic.havid import make_havid_dataset
    root = str(tmp_path_factory.mktemp('havid'))
    make_havid_dataset(root, 'dual_hand', dict(lh=3, rh=4),
                       {'train': {'lh': 2, 'rh': 1}, 'val': {'lh': 1, 'rh': 1}},
                       num_frames=4, size=(64, 64), ext='.avi')
    return root
