"""The evaluation guards in-process: which weights came from the file, which samples scored."""
from __future__ import annotations

import os
import types

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from reference_vit import RefViT

from mmaction_ext.engine.hooks.checkpoint_coverage_hook import (
    CheckpointCoverageHook,
    PartialCheckpointError,
)
from mmaction_ext.engine.hooks.sample_coverage_hook import SampleCoverageHook, gathered_order
from mmaction_ext.evaluation.functional.coverage import MissingSamplesError, coverage_problems

TINY = dict(embed_dims=48, depth=2, num_heads=4)
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


@pytest.fixture(autouse=True)
def mmaction_scope():
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


def fake_runner(model):
    return types.SimpleNamespace(model=model, _has_loaded=False, _train_loop={},
                                 _load_from='ckpt.pth')


def problems_after_loading(model, path) -> list[str]:
    hook = CheckpointCoverageHook()
    runner = fake_runner(model)
    hook.before_run(runner)
    if path is not None:
        load_checkpoint(model, str(path))
    return hook.check(runner)


def backbone():
    return dict(type='MAEVisionTransformer', arch=TINY, img_size=32, num_frames=4)


def test_converter_fresh_head_is_named(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / 'k400.pth'
    torch.save({'model': RefViT(num_classes=400).state_dict()}, path)
    model = MODELS.build(dict(type='ViTRecognizer3D', backbone=backbone(),
                              cls_head=dict(type='TimeSformerHead', num_classes=6,
                                            in_channels=48)))
    assert problems_after_loading(model, path) == [
        'cls_head: 400 classes in the file, 6 in the config (a fresh random head)']


def test_dual_hand_head_class_count_is_named(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / 'adh.pth'
    torch.save({'model': RefViT(dual=True).state_dict()}, path)
    lh, rh = (RefViT(dual=True).state_dict()[f'{h}_head.weight'].shape[0] for h in ('lh', 'rh'))
    model = MODELS.build(dict(type='DualHandRecognizer', backbone=backbone(),
                              lh_head=dict(num_classes=lh, in_channels=48),
                              rh_head=dict(num_classes=rh + 1, in_channels=48)))
    assert problems_after_loading(model, path) == [
        f'rh_head: {rh} classes in the file, {rh + 1} in the config (a fresh random head)']


def test_missing_backbone_tensor_in_stock_recognizer_is_named(tmp_path):
    model = MODELS.build(dict(type='Recognizer3D', backbone=backbone(),
                              cls_head=dict(type='TimeSformerHead', num_classes=5,
                                            in_channels=48)))
    sd = {k: v for k, v in model.state_dict().items() if 'blocks.1.attn.proj' not in k}
    torch.save({'state_dict': sd}, tmp_path / 'c.pth')
    found = problems_after_loading(model, tmp_path / 'c.pth')
    assert found == ['2 tensors are not in the file: backbone.blocks.1.attn.proj.weight, '
                     'backbone.blocks.1.attn.proj.bias']


def test_complete_file_and_generated_sinusoid_pass(tmp_path):
    """A VideoMAE file does not store its fixed sinusoid table: generated, not random."""
    torch.manual_seed(0)
    torch.save({'model': RefViT().state_dict()}, tmp_path / 'ft.pth')
    model = MODELS.build(dict(type='ViTRecognizer3D', backbone=backbone(),
                              cls_head=dict(type='TimeSformerHead', num_classes=5,
                                            in_channels=48)))
    assert problems_after_loading(model, tmp_path / 'ft.pth') == []


def test_nothing_loaded_is_refused_and_opt_in_marks_the_results(monkeypatch):
    model = MODELS.build(backbone())
    runner = fake_runner(model)
    hook = CheckpointCoverageHook()
    hook.before_run(runner)
    with pytest.raises(PartialCheckpointError, match='no checkpoint was loaded'):
        hook.before_test(runner)
    monkeypatch.setenv('MMACTION_EXT_ALLOW_PARTIAL_CHECKPOINT', '1')
    hook.before_test(runner)
    metrics = {'acc/top1': 0.5}
    hook.after_test_epoch(runner, metrics)
    assert 'no checkpoint was loaded' in metrics['PARTIAL_CHECKPOINT']


# ---- sample coverage ----

class Dataset(list):
    """Stands for a BaseDataset: its packing transform gets ``sample_idx`` added."""

    pipeline = types.SimpleNamespace(transforms=[types.SimpleNamespace(meta_keys=('a',))])

    def get_data_info(self, i):
        return {'filename': f'/data/clip{i}.avi'}


class Loader(types.SimpleNamespace):
    def __len__(self):
        return self.n


def run_loader(batches, size=5, drop_last=False):
    """Feed the hook one evaluation whose loader yields ``batches`` of sample indices."""
    hook = SampleCoverageHook()
    loader = Loader(dataset=Dataset(range(size)), drop_last=drop_last, n=len(batches))
    hook._start(types.SimpleNamespace(dataloader=loader))
    assert Dataset.pipeline.transforms[0].meta_keys == ('a', 'sample_idx')
    for i, batch in enumerate(batches):
        hook.after_test_iter(None, i, None, [{'sample_idx': j} for j in batch])


@pytest.mark.parametrize('batches,message', [
    ([[0, 1], [2, 3]], '1 of 5 samples never scored: [4 (clip4.avi)]'),
    ([[0, 1], [2, 3], [4, 0]], None),                 # extra results past the size are cut
    ([[0, 1], [1, 3], [4, 2]], 'samples scored twice: [1 (clip1.avi)]'),
    ([[0, 1], [2, 3], [4]], None),
])
def test_sample_coverage_single_process(batches, message):
    if message is None:
        run_loader(batches)
    else:
        with pytest.raises(MissingSamplesError) as err:
            run_loader(batches)
        assert message in str(err.value)


def test_distributed_padding_is_cut_as_mmengine_does():
    """DefaultSampler on 2 ranks pads 5 samples to 6 (index 0 twice); the evaluator cuts it."""
    assert gathered_order([[0, 2, 4], [1, 3, 0]], 5) == [0, 1, 2, 3, 4]
    assert coverage_problems(gathered_order([[0, 2, 4], [1, 3, 0]], 5), 5) == []
    assert coverage_problems(gathered_order([[0, 2], [1, 3]], 5), 5) == [
        '1 of 5 samples never scored: [4]']


def test_fresh_head_still_named_after_original_checkpoint_hook_converted_first():
    """tools/test.py path: OriginalCheckpointHook converts, then the model loads native keys."""
    from mmengine.runner.checkpoint import _load_checkpoint_to_model

    from mmaction_ext.engine.hooks.original_checkpoint_hook import OriginalCheckpointHook
    torch.manual_seed(0)
    checkpoint = {'model': RefViT(num_classes=400).state_dict()}
    model = MODELS.build(dict(type='ViTRecognizer3D', backbone=backbone(),
                              cls_head=dict(type='TimeSformerHead', num_classes=6,
                                            in_channels=48)))
    runner = fake_runner(model)
    hook = CheckpointCoverageHook()
    hook.before_run(runner)
    OriginalCheckpointHook().after_load_checkpoint(runner, checkpoint)
    _load_checkpoint_to_model(model, checkpoint)
    assert hook.check(runner) == [
        'cls_head: 400 classes in the file, 6 in the config (a fresh random head)']


def _convert(tmp_path, monkeypatch, checkpoint, num_classes=6) -> str:
    """tools/convert_checkpoint.py SRC DST --config CFG, in-process."""
    import importlib.util
    import sys
    spec = importlib.util.spec_from_file_location(
        'convert_checkpoint', os.path.join(REPO, 'tools', 'convert_checkpoint.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    src, dst, cfg = tmp_path / 'orig.pth', tmp_path / 'conv.pth', tmp_path / 'model.py'
    torch.save(checkpoint, src)
    cfg.write_text(f'model = dict(type="ViTRecognizer3D", backbone={backbone()!r}, '
                   f'cls_head=dict(type="TimeSformerHead", num_classes={num_classes}, '
                   f'in_channels=48))\n')
    monkeypatch.setattr(sys, 'argv', ['convert_checkpoint.py', str(src), str(dst),
                                      '--config', str(cfg)])
    tool.main()
    return str(dst)


def _evaluate_problems(path, num_classes=6) -> list[str]:
    from mmengine.runner import Runner  # noqa: F401 - registers nothing; plain load below
    from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model
    model = MODELS.build(dict(type='ViTRecognizer3D', backbone=backbone(),
                              cls_head=dict(type='TimeSformerHead', num_classes=num_classes,
                                            in_channels=48)))
    runner = fake_runner(model)
    hook = CheckpointCoverageHook()
    hook.before_run(runner)
    checkpoint = _load_checkpoint(path)
    hook.after_load_checkpoint(runner, checkpoint)
    _load_checkpoint_to_model(model, checkpoint)
    return hook.check(runner)


def test_a_converted_file_remembers_its_fresh_head(tmp_path, monkeypatch):
    """tools/convert_checkpoint.py stores the head it built; evaluating it is refused."""
    torch.manual_seed(0)
    dst = _convert(tmp_path, monkeypatch, {'model': RefViT(num_classes=400).state_dict()})
    assert _evaluate_problems(dst) == [
        'cls_head: 400 classes in the file, 6 in the config (a fresh random head)']


def test_a_converted_pre_training_file_keeps_its_gaps(tmp_path, monkeypatch):
    """Pre-training files lack fc_norm and the head: converted, they stay missing."""
    from reference_vit import pretrain_state_dict
    torch.manual_seed(0)
    dst = _convert(tmp_path, monkeypatch, {'model': pretrain_state_dict(RefViT())})
    saved = torch.load(dst, weights_only=True)['state_dict']
    assert 'backbone.fc_norm.weight' not in saved and 'decoder.head.weight' not in saved
    problems = _evaluate_problems(dst)
    assert len(problems) == 1 and problems[0].startswith('4 tensors are not in the file: ')
