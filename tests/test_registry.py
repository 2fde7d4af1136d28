"""Where the plugin registers: MMAction2's registries, except where MMEngine looks alone.

MMEngine resolves a config's ``runner_type`` (``RUNNERS.build`` in MMEngine-style tools)
and ``model_wrapper_cfg.type`` (``Runner.wrap_model``) in its root registries without a
scope, so runners and model wrappers stay there (MMAction2's child registries still find
them through their parent); every other component is MMAction2's.
"""
from __future__ import annotations

import pytest
from mmaction import registry as mmaction_registry
from mmengine import registry as mmengine_registry

import mmaction_ext  # noqa: F401

IN_MMACTION = {
    'HOOKS': ['AlternationStateHook', 'CheckpointCoverageHook', 'ConsoleProgressHook',
              'HandTraceHook', 'OriginalCheckpointHook', 'ResumeFingerprintHook',
              'ResumeGuardHook', 'SafeCheckpointHook', 'SampleCoverageHook',
              'WorkDirLockHook'],
    'LOOPS': ['AlternatingTrainLoop'],
    'DATA_SAMPLERS': ['AlternatingHandBatchSampler'],
    'DATASETS': ['HAViDDataset', 'KTHDataset'],
    'TRANSFORMS': ['ConfineFrameRange', 'FastVideoDecode', 'FastVideoInit', 'RepeatAugment',
                   'SafeDecordInit', 'VideoRandAugment'],
    'MODELS': ['MAEVisionTransformer', 'ViTRecognizer3D', 'DualHandRecognizer',
               'HandAwareBlending', 'ShardedExponentialMovingAverage'],
    'METRICS': ['HandAccMetric', 'TemporalSegmentationMetric'],
}
IN_MMENGINE_ROOT = {'RUNNERS': ['DataRootRunner', 'ShardedRunner'],
                    'MODEL_WRAPPERS': ['DeviceAwareDDP', 'ShardedDataParallel']}


@pytest.mark.parametrize('registry,name', [(r, n) for r, names in IN_MMACTION.items()
                                           for n in names])
def test_registered_in_mmaction_not_in_mmengine_root(registry, name):
    assert name in getattr(mmaction_registry, registry).module_dict
    assert name not in getattr(mmengine_registry, registry).module_dict


@pytest.mark.parametrize('registry,name', [(r, n) for r, names in IN_MMENGINE_ROOT.items()
                                           for n in names])
def test_runners_and_wrappers_found_without_a_scope(registry, name):
    """The intended exception: MMEngine's own unscoped look-up finds them."""
    assert mmengine_registry.__dict__[registry].get(name) is not None
    assert getattr(mmaction_registry, registry).get(name) is not None
