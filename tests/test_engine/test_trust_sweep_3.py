"""Trust III sweep (issue #21, docs/robustness.md "Trust III"): time (resume), identity
(ranks, checkpoints, class lists) and scope (batch neighbours, dumps). Each hostile input
gets a clear error naming both sides, or a documented correct outcome.
"""
from __future__ import annotations

import os
import re
import types
from unittest import mock

import numpy as np
import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.runner import BaseLoop

from mmaction_ext.engine.hooks import class_agreement_hook as cah
from mmaction_ext.engine.hooks import rank_agreement_hook as rah
from mmaction_ext.engine.hooks import resume_fingerprint_hook as rfh
from mmaction_ext.engine.hooks import run_identity
from mmaction_ext.engine.hooks.uniform_clip_size_hook import (
    MixedClipSizeError,
    UniformClipSizeHook,
    check_uniform_batch,
)
from mmaction_ext.utils.dist import first_disagreement, gather_from_ranks

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
DEMO = os.path.join(REPO, 'configs/demo/vit-tiny_synthetic-motion.py')
ITER = os.path.join(REPO, 'configs/demo/vit-tiny_synthetic-motion_iter.py')


@pytest.fixture(autouse=True)
def mmaction_scope():
    init_default_scope('mmaction')
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


class Clips(list):
    """A dataset of (filename, label[, hand]) tuples under ``root``."""

    def __init__(self, items, root='/data/videos', classes=None, num_classes=None,
                 ann_file='/data/list.txt'):
        super().__init__(items)
        self.data_prefix = dict(video=root)
        self.ann_file = ann_file
        self.metainfo = {k: v for k, v in (('classes', classes), ('num_classes', num_classes))
                         if v is not None}

    def get_data_info(self, i):
        name, label, *hand = self[i]
        info = dict(filename=os.path.join(self.data_prefix['video'], name), label=label,
                    sample_idx=i)
        if hand:
            info['hand'] = hand[0]
        return info


SAMPLES = [('train/a.avi', 0), ('train/b.avi', 1), ('train/c.avi', 2)]


def _runner(samples=SAMPLES, root='/data/videos', batch_size=8, resume=True, **cfg_changes):
    cfg = Config.fromfile(ITER)
    cfg.merge_from_dict(cfg_changes)
    loader = types.SimpleNamespace(dataset=Clips(samples, root), batch_size=batch_size,
                                   batch_sampler=None)
    return types.SimpleNamespace(train_loop=types.SimpleNamespace(dataloader=loader), cfg=cfg,
                                 _resume=resume, logger=MMLogger.get_current_instance())


def _resume_error(before, after, world=(1, 1)) -> str | None:
    """The refusal text when ``after`` resumes a checkpoint written by ``before``."""
    checkpoint = {'meta': {}}
    with mock.patch.object(rfh, 'get_world_size', return_value=world[0]):
        rfh.ResumeFingerprintHook().before_save_checkpoint(before, checkpoint)
    with mock.patch.object(rfh, 'get_world_size', return_value=world[1]):
        try:
            rfh.ResumeFingerprintHook().after_load_checkpoint(after, checkpoint)
        except rfh.ResumeMismatchError as err:
            return str(err)
    return None


# ---------------------------------------------------------------- resume: what changes the run

def test_resume_with_the_same_effective_batch_split_over_more_ranks_is_refused():
    message = _resume_error(_runner(batch_size=8), _runner(batch_size=4), world=(1, 2))
    assert ('same effective batch split differently: 8 (8 per rank x 1 ranks x 1 accumulated)'
            ' -> 8 (4 per rank x 2 ranks x 1 accumulated)') in message


def test_resume_with_another_train_pipeline_names_the_key():
    pipeline = Config.fromfile(ITER).train_pipeline
    pipeline[4]['size'] = 56  # RandomCrop
    message = _resume_error(_runner(), _runner(train_dataloader=dict(
        dataset=dict(pipeline=pipeline))))
    assert 'train_dataloader.dataset.pipeline[4].size: 64 -> 56' in message


def test_resume_with_another_sampler_names_it():
    message = _resume_error(_runner(), _runner(
        train_dataloader=dict(sampler=dict(shuffle=False))))
    assert 'train_dataloader.sampler.shuffle: True -> False' in message


def test_resume_with_amp_switched_on_is_refused():
    message = _resume_error(_runner(), _runner(optim_wrapper=dict(type='AmpOptimWrapper')))
    assert "optim_wrapper.type: unset -> 'AmpOptimWrapper'" in message


def test_resume_with_another_drop_path_rate_is_refused_but_not_another_pretrained_path():
    assert 'model.backbone.drop_path_rate: 0.0 -> 0.1' in _resume_error(
        _runner(), _runner(model=dict(backbone=dict(drop_path_rate=0.1))))
    assert _resume_error(_runner(), _runner(
        model=dict(backbone=dict(pretrained='/elsewhere/vit.pth')))) is None


def test_resume_accepts_other_paths_workers_and_a_longer_schedule():
    after = _runner(root='/mnt/copy/videos', train_cfg=dict(max_iters=40), train_dataloader=dict(
        num_workers=7, persistent_workers=False, dataset=dict(
            ann_file='/mnt/copy/train.txt', data_prefix=dict(video='/mnt/copy/videos'))))
    assert _resume_error(_runner(), after) is None


def test_resume_with_the_list_reordered_says_so():
    message = _resume_error(_runner(), _runner(samples=SAMPLES[::-1]))
    assert ("same samples in another order (first difference at position 0: "
            "'train/a.avi label=0' -> 'train/c.avi label=2')") in message


def test_resume_names_added_and_removed_clips():
    message = _resume_error(_runner(), _runner(samples=SAMPLES[:2] + [('train/d.avi', 2)]))
    assert ('3 samples on both sides: 1 only in the checkpoint (train/c.avi); 1 only now '
            '(train/d.avi)') in message


def test_resume_of_a_legacy_fingerprint_compares_what_it_can():
    legacy = {'meta': {rfh.META_KEY: dict(samples=3, sample_list='0123', batch_size=8,
                                          world_size=1, optimizer='x')}}
    rfh.ResumeFingerprintHook().after_load_checkpoint(_runner(), legacy)  # same counts
    with pytest.raises(rfh.ResumeMismatchError, match=r'samples: 3 -> 2'):
        rfh.ResumeFingerprintHook().after_load_checkpoint(_runner(samples=SAMPLES[:2]), legacy)


def test_resume_of_a_huge_dataset_keeps_only_the_digest(monkeypatch):
    monkeypatch.setattr(rfh, 'MAX_STORED_RECORDS', 2)
    message = _resume_error(_runner(), _runner(samples=[('train/a.avi', 1)] + SAMPLES[1:]))
    assert 'training samples: 3 -> 3, their names or labels differ (too many to list)' in message


def test_the_stored_fingerprint_loads_back_with_the_safe_loader(tmp_path):
    from mmaction_ext.checkpoint import safe_torch_load
    checkpoint = {'meta': {}}
    rfh.ResumeFingerprintHook().before_save_checkpoint(_runner(), checkpoint)
    torch.save(checkpoint, tmp_path / 'ckpt.pth')
    stored = safe_torch_load(str(tmp_path / 'ckpt.pth'))['meta'][rfh.META_KEY]
    assert stored['sample_records'] == ['train/a.avi label=0', 'train/b.avi label=1',
                                        'train/c.avi label=2']
    assert stored['settings']['optim_wrapper.optimizer.lr'] == '0.002'


def test_numpy_and_tensor_labels_give_the_same_record():
    plain = run_identity.sample_records(Clips([('a.avi', 3)]))
    assert run_identity.sample_records(Clips([('a.avi', np.int64(3))])) == plain
    assert run_identity.sample_records(Clips([('a.avi', torch.tensor(3))])) == plain


def test_records_without_a_shared_prefix_are_relative_to_the_common_folder():
    """HAViD joins each hand's own folder: names are taken below their common parent."""
    lh = Clips([('x', 0)], root='')
    lh.get_data_info = lambda i: dict(filename=['/a/havid/lh/1.mp4', '/a/havid/rh/1.mp4'][i],
                                      label=0, hand=['lh', 'rh'][i])
    lh.append(('y', 0))
    assert run_identity.sample_records(lh) == ['lh/1.mp4 label=0 hand=lh',
                                               'rh/1.mp4 label=0 hand=rh']


# ---------------------------------------------------------------- ranks

def test_gather_without_a_process_group_is_this_process_only():
    assert gather_from_ranks({'x': 1}) == [{'x': 1}]
    assert first_disagreement([1, 1, 2, 1]) == 2 and first_disagreement([5, 5]) is None


def _gathered(per_rank):
    """Stand in for all_gather_object: the n-th call returns per_rank[n]."""
    calls = iter(per_rank)
    return lambda value: next(calls)


def test_a_rank_with_other_class_names_is_refused():
    ours = Clips(SAMPLES, classes=('run', 'walk', 'jump'))
    theirs = Clips(SAMPLES, classes=('run', 'walk', 'box'))
    summary = lambda d: (3, run_identity.records_digest(run_identity.sample_records(d)),  # noqa
                         rah._classes(d))
    records = run_identity.sample_records(ours)
    with mock.patch.object(rah, 'gather_from_ranks', _gathered(
            [[summary(ours), summary(theirs)], [records, records]])):
        with pytest.raises(rah.RankDisagreementError,
                           match=re.escape("other classes on rank 1 than on rank 0: (('run', "
                                           "'walk', 'box'), 'None') vs (('run', 'walk', 'jump')")):
            rah.check_dataset_agrees('val', ours)


def test_ranks_testing_other_weights_are_refused():
    runner = types.SimpleNamespace(world_size=2, model=torch.nn.Linear(2, 2))
    with mock.patch.object(rah, 'gather_from_ranks', lambda value: [value, 'f00']):
        with pytest.raises(rah.RankDisagreementError, match='rank 1 tests other weights'):
            rah.RankAgreementHook().before_test(runner)


def test_weights_digest_sees_one_changed_bit():
    model = torch.nn.Linear(3, 2)
    before = rah.weights_digest(model)
    with torch.no_grad():
        model.weight.view(-1)[0] = torch.nextafter(model.weight.view(-1)[0], torch.tensor(9.))
    assert rah.weights_digest(model) != before


def test_a_single_process_run_gathers_nothing():
    runner = types.SimpleNamespace(world_size=1)
    with mock.patch.object(rah, 'gather_from_ranks', side_effect=AssertionError('gathered')):
        rah.RankAgreementHook().before_run(runner)
        rah.RankAgreementHook().before_test(runner)


def test_ranks_reading_the_same_files_at_other_mount_points_agree():
    a, b = Clips(SAMPLES, root='/node0/data/videos'), Clips(SAMPLES, root='/mnt/x/videos')
    assert run_identity.sample_records(a) == run_identity.sample_records(b)


def _two_rank_worker(rank, port, results):
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=2)
    samples = SAMPLES if rank == 0 else SAMPLES[:2] + [('train/c.avi', 0)]
    try:
        rah.check_dataset_agrees('train', Clips(samples))
        results[rank] = 'agreed'
    except rah.RankDisagreementError as err:
        results[rank] = str(err)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_ranks_both_refuse_a_relabelled_clip():
    import torch.multiprocessing as mp
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_two_rank_worker, args=(29571, results), nprocs=2)
        results = dict(results)
    for rank in (0, 1):  # both raise: neither waits for the other in a later collective
        assert ("1 changed ('train/c.avi label=2' -> 'train/c.avi label=0')" in results[rank])


# ---------------------------------------------------------------- batch neighbours

def _batch(*shapes, idx=True):
    samples = []
    for i in range(len(shapes)):
        sample = ActionDataSample()
        if idx:
            sample.set_metainfo(dict(sample_idx=i))
        samples.append(sample)
    return dict(inputs=[torch.zeros(s) for s in shapes], data_samples=samples)


def test_upstream_preprocessor_zero_pads_a_clip_next_to_a_larger_one():
    """The hazard the guard exists for (MMAction2's behaviour, not ours)."""
    pre = MODELS.build(dict(type='ActionDataPreprocessor', mean=[1., 1., 1.], std=[1., 1., 1.],
                            format_shape='NCTHW'))
    small = torch.full((1, 3, 2, 4, 4), 3.)
    alone = pre(dict(inputs=[small], data_samples=[ActionDataSample()]))['inputs']
    paired = pre(dict(inputs=[small, torch.full((1, 3, 2, 6, 6), 3.)],
                      data_samples=[ActionDataSample(), ActionDataSample()]))['inputs']
    assert alone.shape[-2:] == (4, 4) and paired.shape[-2:] == (6, 6)
    assert torch.equal(paired[0, ..., :4, :4], alone[0])
    assert torch.all(paired[0, ..., 4:, :] == -1.)  # (0 - mean) / std: black borders


def test_a_uniform_batch_and_a_stacked_tensor_pass():
    check_uniform_batch(_batch((1, 3, 2, 4, 4), (1, 3, 2, 4, 4)))
    check_uniform_batch(dict(inputs=torch.zeros(2, 1, 3, 2, 4, 4)))


def test_several_odd_clips_are_named_and_counted():
    dataset = Clips([(f'v{i}.avi', 0) for i in range(8)])
    shapes = [(1, 3, 2, 4, 4)] * 3 + [(1, 3, 2, 6, 6)] * 5
    shapes = shapes[3:] + shapes[:3]  # five 6x6 clips, then the three odd 4x4 ones
    with pytest.raises(MixedClipSizeError) as err:
        check_uniform_batch(_batch(*shapes), dataset, 'test batch 2')
    text = str(err.value)
    assert text.startswith('test batch 2 mixes clip sizes: /data/videos/v5.avi is 1x3x2x4x4')
    assert 'the other 5 clips are 1x3x2x6x6' in text


def test_an_odd_clip_without_sample_idx_is_named_by_position():
    with pytest.raises(MixedClipSizeError, match=r'clip 1 of the batch is 1x3x2x6x6'):
        check_uniform_batch(_batch((1, 3, 2, 4, 4), (1, 3, 2, 6, 6), (1, 3, 2, 4, 4), idx=False))


def test_a_training_batch_of_mixed_sizes_is_refused():
    hook = UniformClipSizeHook()
    loop = types.SimpleNamespace(dataloader=types.SimpleNamespace(dataset=Clips(SAMPLES)))
    hook.before_train(types.SimpleNamespace(train_loop=loop))
    with pytest.raises(MixedClipSizeError, match=r'training batch 4 mixes clip sizes: '
                                                 r'/data/videos/train/b.avi is 1x3x2x6x6'):
        hook.before_train_iter(None, 4, _batch((1, 3, 2, 4, 4), (1, 3, 2, 6, 6),
                                               (1, 3, 2, 4, 4)))


def test_scores_of_same_size_clips_do_not_depend_on_batch_neighbours():
    cfg = Config.fromfile(DEMO)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    clips = [torch.randint(0, 255, (1, 3, 8, 64, 64)).float() for _ in range(3)]

    def scores(group):
        samples = [ActionDataSample().set_gt_label(torch.tensor([0])) for _ in group]
        with torch.no_grad():
            out = model.test_step(dict(inputs=list(group), data_samples=samples))
        return [o.pred_score for o in out]
    together = scores(clips)
    for clip, score in zip(clips, together):
        torch.testing.assert_close(scores([clip])[0], score, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------- classes: lists, heads, ckpts

class _Loop(BaseLoop):
    def run(self):
        pass


def _class_runner(model, **datasets):
    runner = types.SimpleNamespace(model=model, _train_loop=None, _val_loop=None,
                                   _test_loop=None, _resume=False)
    for split, dataset in datasets.items():
        setattr(runner, f'_{split}_loop', _Loop(runner, types.SimpleNamespace(dataset=dataset)))
    return runner


def _recognizer(num_classes):
    return types.SimpleNamespace(cls_head=types.SimpleNamespace(num_classes=num_classes))


def test_a_label_beyond_the_head_is_refused_naming_file_and_head():
    runner = _class_runner(_recognizer(4), test=Clips(SAMPLES + [('val/z.avi', 7)]))
    with pytest.raises(cah.ClassMismatchError, match=re.escape(
            "test list (/data/list.txt): /data/videos/val/z.avi has label 7, but the model's "
            'cls_head has 4 classes (labels 0-3)')):
        cah.ClassAgreementHook().before_run(runner)


def test_a_negative_label_is_refused():
    runner = _class_runner(_recognizer(4), train=Clips([('a.avi', -1)]))
    with pytest.raises(cah.ClassMismatchError, match='has label -1'):
        cah.ClassAgreementHook().before_run(runner)


def test_each_hand_is_checked_against_its_own_head():
    dual = types.SimpleNamespace(num_classes=dict(lh=4, rh=3))
    fits = Clips([('l.mp4', 3, 'lh'), ('r.mp4', 2, 'rh')])
    cah.ClassAgreementHook().before_run(_class_runner(dual, val=fits))
    beyond = Clips([('l.mp4', 3, 'lh'), ('r.mp4', 3, 'rh')])
    with pytest.raises(cah.ClassMismatchError, match=r"r.mp4 has label 3, but the model's "
                                                     r'rh_head has 3 classes'):
        cah.ClassAgreementHook().before_run(_class_runner(dual, val=beyond))


def test_a_dataset_class_count_other_than_the_head_is_refused():
    kth = Clips(SAMPLES, classes=('boxing', 'handclapping', 'handwaving', 'jogging',
                                  'running', 'walking'))
    with pytest.raises(cah.ClassMismatchError, match=r"has 6 classes, the model's cls_head "
                                                     r'has 5'):
        cah.ClassAgreementHook().before_run(_class_runner(_recognizer(5), test=kth))
    per_hand = Clips(SAMPLES, num_classes=dict(lh=3, rh=4))
    with pytest.raises(cah.ClassMismatchError, match=r"4 classes for hand rh, the model's "
                                                     r'rh_head has 5'):
        cah.ClassAgreementHook().before_run(_class_runner(
            types.SimpleNamespace(num_classes=dict(lh=3, rh=5)), test=per_hand))


def test_a_checkpoint_trained_on_other_class_names_is_refused_when_testing():
    runner = _class_runner(_recognizer(3), test=Clips(SAMPLES, classes=('a', 'b', 'c')))
    checkpoint = {'meta': {'dataset_meta': {'classes': ('a', 'c', 'b')}}}
    with pytest.raises(cah.ClassMismatchError, match=re.escape(
            "trained with classes ('a', 'c', 'b'), the test dataset (/data/list.txt) has "
            "('a', 'b', 'c')")):
        cah.ClassAgreementHook().after_load_checkpoint(runner, checkpoint)
    same = {'meta': {'dataset_meta': {'classes': ['a', 'b', 'c']}}}
    cah.ClassAgreementHook().after_load_checkpoint(runner, same)
    cah.ClassAgreementHook().after_load_checkpoint(runner, {'meta': {'dataset_meta': {}}})


def test_fine_tuning_from_a_checkpoint_of_other_classes_is_allowed():
    runner = _class_runner(_recognizer(3), train=Clips(SAMPLES, classes=('a', 'b', 'c')))
    checkpoint = {'meta': {'dataset_meta': {'classes': ('x', 'y', 'z')}}}
    cah.ClassAgreementHook().after_load_checkpoint(runner, checkpoint)  # load_from
    runner._resume = True
    with pytest.raises(cah.ClassMismatchError, match='the train dataset'):
        cah.ClassAgreementHook().after_load_checkpoint(runner, checkpoint)


def test_tools_test_adds_the_trust_hooks_to_any_config():
    import importlib.util
    spec = importlib.util.spec_from_file_location('test_tool', os.path.join(REPO, 'tools',
                                                                           'test.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cfg = Config(dict(default_hooks=dict()))
    tool.add_trust_hooks(cfg, types.SimpleNamespace(allow_partial_checkpoint=False))
    kinds = {hook['type'] for hook in cfg.default_hooks.values()}
    assert {'RankAgreementHook', 'UniformClipSizeHook', 'ClassAgreementHook'} <= kinds


# ---------------------------------------------------------------- dumps and analyze_results

def _result(scores, gt, **extra):
    return dict(pred_score=np.array(scores, dtype=np.float32), gt_label=np.array([gt]), **extra)


def test_analysis_refuses_a_dump_mixing_class_counts(tmp_path):
    from mmaction_ext.evaluation.error_analysis import analyze
    with pytest.raises(ValueError, match='4 .*5'):
        analyze([_result([.9, .1, 0, 0], 0), _result([.1, .9, 0, 0, 0], 1)], str(tmp_path))


def test_analysis_names_a_label_beyond_the_scores(tmp_path):
    from mmaction_ext.evaluation.error_analysis import analyze
    with pytest.raises(ValueError, match='label 7'):
        analyze([_result([.9, .1, 0, 0], 0), _result([.1, .9, 0, 0], 7)], str(tmp_path))


def test_analysis_refuses_a_dump_scoring_a_sample_twice(tmp_path):
    from mmaction_ext.evaluation.error_analysis import analyze
    with pytest.raises(ValueError, match='sample_idx 0'):
        analyze([_result([.9, .1], 0, sample_idx=0), _result([.9, .1], 0, sample_idx=0),
                 _result([.1, .9], 0, sample_idx=1)], str(tmp_path))


def test_analysis_refuses_a_config_whose_labels_disagree_with_the_dump(tmp_path):
    from mmaction_ext.evaluation.error_analysis import analyze
    with pytest.raises(ValueError, match='b.avi'):
        analyze([_result([.9, .1], 0), _result([.1, .9], 1)], str(tmp_path),
                infos=[dict(filename='b.avi', label=1), dict(filename='a.avi', label=0)])
