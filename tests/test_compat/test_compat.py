"""Each upstream fix: shown needed (the symptom without it) and working (with it)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from mmaction_ext.compat.mmaction_drn import drn_is_missing
from mmaction_ext.compat.torchvision_ops import torchvision_extension_loads


def run_python(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (nothing of this process's imports leaks)."""
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=300)


needs_broken_torchvision = pytest.mark.skipif(
    torchvision_extension_loads() is not False,
    reason="torchvision's compiled ops load here (CUDA torch): upstream works, fix is a no-op")


@needs_broken_torchvision
def test_torchvision_import_fails_without_fix():
    result = run_python('import torchvision')
    assert result.returncode != 0
    assert 'operator torchvision::nms does not exist' in result.stderr


@pytest.mark.slow  # a subprocess or a whole run: over 5 s
@needs_broken_torchvision
def test_torchvision_and_timm_import_with_fix():
    result = run_python('''
        import mmaction_ext.compat
        import torch, torchvision, timm
        import torchvision.transforms.v2 as T
        x = torch.rand(3, 8, 8)
        assert T.Resize((4, 4), antialias=True)(x).shape == (3, 4, 4)
        try:
            torchvision.ops.nms(torch.rand(2, 4), torch.rand(2), 0.5)
        except (RuntimeError, NotImplementedError) as err:
            print('nms-unavailable:', type(err).__name__)
        print('ok', timm.__version__)
    ''')
    assert result.returncode == 0, result.stderr
    assert 'ok ' in result.stdout
    # The declared schemas have no kernel: compiled ops still fail loudly, never silently.
    assert 'nms-unavailable' in result.stdout


@pytest.mark.slow  # a subprocess or a whole run: over 5 s
def test_torchvision_fix_is_noop_when_extension_loads():
    result = run_python('''
        import mmaction_ext.compat.torchvision_ops as fix
        fix.torchvision_extension_loads = lambda: True
        fix._library = None
        print('applied', fix.ensure_torchvision_importable())
    ''')
    assert result.returncode == 0, result.stderr
    assert 'applied False' in result.stdout


@pytest.mark.slow  # a subprocess or a whole run: over 5 s
@pytest.mark.skipif(not drn_is_missing(), reason='this mmaction2 ships localizers/drn')
def test_mmaction_models_import_fails_without_fix():
    result = run_python('import mmaction.models')
    assert result.returncode != 0
    assert "No module named 'mmaction.models.localizers.drn'" in result.stderr


@pytest.mark.slow  # a subprocess or a whole run: over 5 s
def test_mmaction_models_import_with_fix():
    result = run_python('''
        import mmaction_ext
        import mmaction.models
        from mmaction.models.localizers import DRN
        try:
            DRN()
        except ImportError as err:
            print('drn:', err)
        else:
            print('drn: real')
    ''')
    assert result.returncode == 0, result.stderr
    assert 'drn: ' in result.stdout
    if drn_is_missing():
        assert '2714' in result.stdout  # the placeholder says why DRN is unavailable


def test_drn_fix_is_noop_when_package_present(tmp_path):
    drn = tmp_path / 'mmaction' / 'models' / 'localizers' / 'drn'
    drn.mkdir(parents=True)
    for folder in (drn.parents[2], drn.parents[1], drn.parent, drn):
        (folder / '__init__.py').write_text('')
    import mmaction_ext.compat.mmaction_drn as fix
    # Load the fix's module alone: importing the whole plugin would import the fake mmaction.
    result = run_python(f'''
        import importlib.util
        spec = importlib.util.spec_from_file_location('fix', {fix.__file__!r})
        fix = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(fix)
        print(fix.drn_is_missing(), fix.ensure_drn_importable())
    ''', env={'PYTHONPATH': str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ['False', 'False']


def test_mmcv_lite_satisfies_mmaction_and_2_2_would_not():
    import mmcv
    assert mmcv.__version__ == '2.1.0'
    result = run_python('''
        import mmcv
        mmcv.__version__ = '2.2.0'   # what an unpinned mmcv(-lite) would install
        import mmaction
    ''')
    assert result.returncode != 0
    assert 'MMCV' in result.stderr and 'incompatible' in result.stderr


@pytest.mark.slow  # a subprocess or a whole run: over 5 s
def test_setuptools_keeps_pkg_resources_for_mmaction_scope_configs(tmp_path):
    """mmengine 0.10.7 resolves ``mmaction::`` through pkg_resources (gone in setuptools 82)."""
    import importlib.metadata as md
    assert int(md.version('setuptools').split('.')[0]) < 82
    cfg_file = tmp_path / 'stock.py'
    cfg_file.write_text("_base_ = 'mmaction::_base_/models/tsn_r50.py'\n"
                        "custom_imports = dict(imports=['mmaction_ext'])\n")
    load = f'''
        from mmengine.config import Config
        print(Config.fromfile({str(cfg_file)!r}).model.type)
    '''
    # What setuptools >= 82 does to mmengine: no pkg_resources.
    hide = "import sys; sys.modules['pkg_resources'] = None\n"
    without = run_python(hide + textwrap.dedent(load))
    assert without.returncode != 0 and 'pkg_resources' in without.stderr
    with_it = run_python(load)
    assert with_it.returncode == 0, with_it.stderr
    assert with_it.stdout.strip() == 'Recognizer2D'


def test_opencv_is_the_plain_build_only():
    """mmaction2 declares opencv-contrib-python; both wheels own ``cv2`` and clash."""
    import importlib.metadata as md

    import cv2
    names = {d.metadata['Name'].lower() for d in md.distributions()}
    assert 'opencv-python' in names
    assert 'opencv-contrib-python' not in names
    requires = md.requires('mmaction2') or []
    assert any(r.startswith('opencv-contrib-python') for r in requires)
    assert hasattr(cv2, 'VideoCapture')


def test_importlib_metadata_present_for_mmaction():
    import importlib.util

    import mmaction.utils  # noqa: F401 - imports importlib_metadata without declaring it
    assert importlib.util.find_spec('importlib_metadata') is not None


needs_cpu_torch = pytest.mark.skipif(
    __import__('torch').cuda.is_available(), reason='CUDA present: the stock path is used')


@pytest.mark.slow  # a subprocess or a whole run: over 5 s
@needs_cpu_torch
def test_cpu_distributed_fixes_are_needed_and_work():
    """MMEngine's launcher needs CUDA, and DDP refuses device_ids for a CPU module; our
    gloo init and DeviceAwareDDP make both work (one process, world size 1)."""
    result = run_python('''
        import os
        os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                          MASTER_PORT='29561')
        import torch
        import mmaction_ext
        from mmengine.dist import init_dist
        from mmengine.model import MMDistributedDataParallel
        try:
            init_dist('pytorch', backend='gloo')
        except (AttributeError, RuntimeError) as err:
            print('stock-launcher-fails:', type(err).__name__)
        from mmaction_ext.utils.dist import init_cpu_distributed
        from mmaction_ext.engine import DeviceAwareDDP
        assert init_cpu_distributed('pytorch')
        try:
            MMDistributedDataParallel(torch.nn.Linear(2, 2), device_ids=[0])
        except (ValueError, RuntimeError, AssertionError) as err:
            print('stock-ddp-fails:', type(err).__name__)
        model = DeviceAwareDDP(torch.nn.Linear(2, 2), device_ids=[0])
        model(torch.ones(1, 2)).sum().backward()
        print('fixed-ok', model.device_ids)
    ''')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'stock-launcher-fails:' in result.stdout
    assert 'stock-ddp-fails:' in result.stdout
    assert 'fixed-ok None' in result.stdout
