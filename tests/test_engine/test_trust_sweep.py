"""Adversarial sweep (docs/robustness.md, "Trust" rows): each input gets a clear error or a
documented, correct outcome; none gives a silent wrong result, runs code or loses a file.
"""
from __future__ import annotations

import errno
import logging
import os
import re
import types
from unittest import mock

import mmengine
import pytest
import torch
from dataset_helpers import havid, havid_root, kth_list, touch
from mmaction.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.runner import load_checkpoint

from mmaction_ext.checkpoint import CheckpointLoadError, safe_torch_load
from mmaction_ext.datasets.havid_dataset import HAViDDataset, HAViDListError
from mmaction_ext.datasets.kth.kth_meta import KTHFormatError
from mmaction_ext.engine.hooks.resume_guard_hook import (
    START_ENV,
    NothingToResumeError,
    ResumeGuardHook,
)
from mmaction_ext.fileio.list_reader import ListFileNotFoundError
from mmaction_ext.utils.cfg_options import UnknownConfigKeyError, check_cfg_options
from mmaction_ext.utils.disk_errors import DiskFullError, explain_disk_full

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
DEMO = os.path.join(REPO, 'configs/demo/vit-tiny_synthetic-motion.py')
KTH_VIDEO = 'boxing/person01_boxing_d1_uncomp.avi'


@pytest.fixture(autouse=True)
def mmaction_scope():
    init_default_scope('mmaction')
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


# ---------------------------------------------------------------- damaged checkpoints

def _flip(path, member_suffix: str, out) -> None:
    import struct
    import zipfile
    data = bytearray(open(path, 'rb').read())
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(member_suffix))
    start = info.header_offset
    name_len, extra_len = struct.unpack('<HH', data[start + 26:start + 30])  # local header
    data[start + 30 + name_len + extra_len + 5] ^= 0x10
    open(out, 'wb').write(bytes(data))


@pytest.mark.parametrize('member', ['data/0', 'data.pkl'])
def test_bit_flipped_checkpoint_is_detected(tmp_path, member):
    """torch.load itself loads a flipped weight silently; the CRC check refuses it."""
    good, bad = tmp_path / 'good.pth', tmp_path / 'bad.pth'
    torch.save({'state_dict': {'w': torch.arange(100.0)}}, good)
    _flip(good, member, bad)
    if member == 'data/0':
        assert not torch.equal(torch.load(bad, weights_only=True)['state_dict']['w'],
                               torch.arange(100.0))  # the upstream symptom
    with pytest.raises(CheckpointLoadError, match=r"bad.pth' is damaged: Bad CRC-32"):
        load_checkpoint(torch.nn.Linear(1, 1), str(bad))
    assert torch.equal(safe_torch_load(str(good))['state_dict']['w'], torch.arange(100.0))


# ---------------------------------------------------------------- config typos

@pytest.mark.parametrize('option,message', [
    ('test_dataloder.batch_size', "no key 'test_dataloder' (did you mean 'test_dataloader'?)"),
    ('default_hooks.chekpoint.interval', "default_hooks has no key 'chekpoint' (did you mean "
                                         "'checkpoint'?)"),
    ('lod_from', "no key 'lod_from' (did you mean 'load_from'?)"),
    ('test_pipeline.9.size', 'test_pipeline has only 7 entries'),
])
def test_cfg_option_typo_is_refused(option, message):
    cfg = Config.fromfile(DEMO)
    with pytest.raises(UnknownConfigKeyError) as err:
        check_cfg_options(cfg, {option: 1})
    assert message in str(err.value) and f'--cfg-options {option}' in str(err.value)
    check_cfg_options(cfg, {'test_dataloader.drop_last': True, 'load_from': 'x.pth',
                            'randomness.seed': 1})  # new leaves of real dicts are fine


@pytest.mark.parametrize('cfg,key', [
    (dict(type='KTHDataset', ann_fle='x.txt', pipeline=[]), 'ann_fle'),
    (dict(type='HAViDDataset', data_root='.', split='train', pipeline=[], num_clases=3),
     'num_clases'),
    (dict(type='TimeSformerHead', num_classes=5, in_channels=8, dropout_rato=0.5),
     'dropout_rato'),
])
def test_unknown_key_in_a_component_names_it(cfg, key):
    registry = MODELS if cfg['type'].endswith('Head') else DATASETS
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{key}'"):
        registry.build(cfg)


# ---------------------------------------------------------------- invalid values

@pytest.mark.parametrize('option,value,message', [
    ('num_classes', 3, 'num_classes must be a per-hand dict such as num_classes=dict(lh=...'),
    ('label_map', 'labels.txt', 'label_map must be a per-hand dict'),
    ('ann_files', dict(left='a.txt'), "ann_files has keys ['left']; the hands are"),
])
def test_havid_number_where_a_per_hand_dict_is_expected(tmp_path, option, value, message):
    havid_root(str(tmp_path))
    with pytest.raises(HAViDListError, match=re.escape(message)):
        havid(str(tmp_path), **{option: value})


def test_havid_negative_label_without_class_count(tmp_path):
    lh_list = havid_root(str(tmp_path), lh_text='c0.avi 0\nc1.avi -1\n')
    with pytest.raises(HAViDListError, match=re.escape(f'{lh_list}:2: label -1 is negative')):
        havid(str(tmp_path), num_classes=None)


def test_list_file_that_is_a_directory(tmp_path):
    with pytest.raises(ListFileNotFoundError, match='is a folder, not a file'):
        KTHDataset_from(tmp_path, ann_file=str(tmp_path))
    havid_root(str(tmp_path))
    folder = tmp_path / 'lh_v0' / 'adir'
    folder.mkdir()
    with pytest.raises((HAViDListError, ListFileNotFoundError), match='is a folder, not a file'):
        havid(str(tmp_path), ann_files=dict(lh=str(folder), rh=str(folder)),
               video_dirs=dict(lh=str(tmp_path / 'lh_v0' / 'videos'),
                               rh=str(tmp_path / 'rh_v0' / 'videos')))


def KTHDataset_from(tmp_path, **kwargs):  # noqa: N802 - reads as the class it builds
    return DATASETS.build(dict(type='KTHDataset', pipeline=[],
                               data_prefix=dict(video=str(tmp_path)), **kwargs))


# ---------------------------------------------------------------- sample identity

@pytest.mark.parametrize('second', [f'./{KTH_VIDEO}', f'boxing/../{KTH_VIDEO}',
                                    f'boxing//{KTH_VIDEO[7:]}'])
def test_kth_same_file_under_two_names_is_a_duplicate(tmp_path, second):
    touch(str(tmp_path / 'videos' / KTH_VIDEO))
    with pytest.raises(KTHFormatError, match='repeats line 1'):
        kth_list(tmp_path, f'{KTH_VIDEO} 0\n{second} 0\n')


def test_havid_same_file_through_a_link_is_a_duplicate(tmp_path):
    lh_list = havid_root(str(tmp_path), lh_text='c0.avi 0\nalias.avi 0\n')
    os.symlink(tmp_path / 'lh_v0' / 'videos' / 'c0.avi',
               tmp_path / 'lh_v0' / 'videos' / 'alias.avi')
    with pytest.raises(HAViDListError, match=re.escape(
            f"{lh_list}:2: alias.avi is already listed on line 1 (same file as 'c0.avi'")):
        havid(str(tmp_path))


def test_havid_warns_about_stock_decord_init(tmp_path):
    havid_root(str(tmp_path))
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        HAViDDataset(str(tmp_path), 'train', pipeline=[dict(type='DecordInit')],
                     num_classes=dict(lh=3, rh=3))
    finally:
        logger.removeHandler(handler)
    assert any('stock DecordInit crashes' in r.getMessage() for r in records)


# ---------------------------------------------------------------- resume

def _runner(tmp_path, resume=True, load_from=None):
    return types.SimpleNamespace(_resume=resume, _load_from=load_from, _has_loaded=False,
                                 work_dir=str(tmp_path), logger=MMLogger.get_current_instance())


def test_resume_with_nothing_to_resume(tmp_path, monkeypatch):
    with pytest.raises(NothingToResumeError, match=re.escape(
            f'--resume: nothing to resume in {tmp_path}')) as err:
        ResumeGuardHook().before_run(_runner(tmp_path))
    assert isinstance(err.value, FileNotFoundError)
    monkeypatch.setenv(START_ENV, '1')  # job scripts that always pass --resume
    ResumeGuardHook().before_run(_runner(tmp_path))
    monkeypatch.delenv(START_ENV)
    torch.save({}, tmp_path / 'iter_10.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_10.pth'))
    ResumeGuardHook().before_run(_runner(tmp_path))  # something to resume: no error
    ResumeGuardHook().before_run(_runner(tmp_path / 'none', resume=False))


# ---------------------------------------------------------------- disk full, atomic dumps

def test_out_of_disk_space_says_so_and_where(tmp_path, monkeypatch):
    dump = tmp_path / 'preds.pkl'
    mmengine.dump([1, 2], str(dump))

    def full(fd):  # a full disk surfaces at write()/fsync(), without a file name
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(os, 'fsync', full)
    with pytest.raises(DiskFullError, match=re.escape(
            f'out of disk space writing {dump} (')) as err:  # names the file
        with explain_disk_full(str(tmp_path)):
            mmengine.dump([3, 4, 5], str(dump))
    assert 'GB free on' in str(err.value) and '--resume' in str(err.value)
    monkeypatch.undo()
    assert mmengine.load(str(dump)) == [1, 2]  # nothing lost
    assert sorted(os.listdir(tmp_path)) == ['preds.pkl']  # no temporary file left


def test_dump_replaced_atomically_survives_a_crash(tmp_path, monkeypatch):
    """DumpResults writes through MMEngine's file backend: temporary file, then rename."""
    dump = tmp_path / 'preds.pkl'
    mmengine.dump([1, 2], str(dump))

    def crash(src, dst):
        raise KeyboardInterrupt('killed between write and rename')
    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(KeyboardInterrupt):
        mmengine.dump(list(range(10 ** 5)), str(dump))
    monkeypatch.undo()
    assert mmengine.load(str(dump)) == [1, 2]


# ---------------------------------------------------------------- batch independence

def test_a_clips_prediction_does_not_depend_on_its_batch():
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(DEMO).model).eval()
    clips = torch.randint(0, 255, (3, 1, 3, 8, 64, 64)).float()
    from mmaction.structures import ActionDataSample
    with torch.no_grad():
        together = model.test_step(dict(inputs=list(clips),
                                        data_samples=[ActionDataSample() for _ in clips]))
        alone = [model.test_step(dict(inputs=[c], data_samples=[ActionDataSample()]))[0]
                 for c in clips]
    for a, b in zip(together, alone):
        torch.testing.assert_close(a.pred_score, b.pred_score, rtol=0, atol=1e-6)


# ---------------------------------------------------------------- shared work dir

def test_two_training_runs_in_one_work_dir(tmp_path):
    import socket
    import subprocess
    import sys

    from mmengine.runner import BaseLoop

    from mmaction_ext.engine.hooks.work_dir_lock_hook import (
        LOCK_NAME,
        WorkDirInUseError,
        WorkDirLockHook,
    )
    runner = types.SimpleNamespace(work_dir=str(tmp_path), logger=MMLogger.get_current_instance(),
                                   _train_loop=mock.Mock(spec=BaseLoop))
    other = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        (tmp_path / LOCK_NAME).write_text(f'{other.pid}@{socket.gethostname()}\n')
        with pytest.raises(WorkDirInUseError, match=f'in use by another training run '
                                                    f'\\(process {other.pid}@'):
            WorkDirLockHook().before_run(runner)
    finally:
        other.kill()
        other.wait()
    hook = WorkDirLockHook()  # the holder is gone: its lock is taken over
    hook.before_run(runner)
    assert (tmp_path / LOCK_NAME).read_text().startswith(f'{os.getpid()}@')
    hook.after_run(runner)
    assert not (tmp_path / LOCK_NAME).exists()


# ---------------------------------------------------------------- resume fingerprint

def _training_runner(samples, batch_size=8, resume=True):
    class Data(list):
        def get_data_info(self, i):
            return dict(filename=self[i][0], label=self[i][1])
    loader = types.SimpleNamespace(dataset=Data(samples), batch_size=batch_size,
                                   batch_sampler=None)
    cfg = Config(dict(param_scheduler=[dict(type='CosineAnnealingLR', T_max=10)],
                      optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3))))
    return types.SimpleNamespace(train_loop=types.SimpleNamespace(dataloader=loader),
                                 cfg=cfg, _resume=resume, logger=MMLogger.get_current_instance())


@pytest.mark.parametrize('change,message', [
    (dict(samples=[('a.avi', 0), ('b.avi', 0)]),                          # a relabelled clip
     "1 changed ('b.avi label=1' -> 'b.avi label=0')"),
    (dict(samples=[('a.avi', 0)]), '2 samples in the checkpoint, 1 now'),  # a shorter list
    (dict(batch_size=4), 'effective batch 8 (8 per rank x 1 ranks x 1 accumulated) -> 4'),
])
def test_resume_refuses_a_run_that_sees_other_data(change, message, monkeypatch):
    from mmaction_ext.engine.hooks.resume_fingerprint_hook import (
        ALLOW_ENV,
        ResumeFingerprintHook,
        ResumeMismatchError,
    )
    checkpoint = {'meta': {}}
    ResumeFingerprintHook().before_save_checkpoint(
        _training_runner([('a.avi', 0), ('b.avi', 1)]), checkpoint)
    same = _training_runner([('a.avi', 0), ('b.avi', 1)])
    ResumeFingerprintHook().after_load_checkpoint(same, checkpoint)  # unchanged: resumes
    kwargs = {'samples': [('a.avi', 0), ('b.avi', 1)], **change}
    with pytest.raises(ResumeMismatchError, match=re.escape(message)) as err:
        ResumeFingerprintHook().after_load_checkpoint(_training_runner(**kwargs), checkpoint)
    assert 'load_from=<checkpoint>' in str(err.value)
    ResumeFingerprintHook().after_load_checkpoint(  # load_from (fine-tuning) is not checked
        _training_runner(**kwargs, resume=False), checkpoint)
    monkeypatch.setenv(ALLOW_ENV, '1')
    ResumeFingerprintHook().after_load_checkpoint(_training_runner(**kwargs), checkpoint)


def test_list_files_written_by_prepare_kth_survive_a_crash(tmp_path, monkeypatch):
    """tools/prepare_kth.py replaces list files atomically (a rerun killed mid-write)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'prepare_kth', os.path.join(REPO, 'tools', 'prepare_kth.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    found = {'person01_boxing_d1': KTH_VIDEO}
    path = tool.write_lists(str(tmp_path), found, {'train': (1,)})['train']
    before = open(path).read()
    assert before == f'{KTH_VIDEO} 0\n'

    def crash(src, dst):
        raise KeyboardInterrupt('killed between write and rename')
    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(KeyboardInterrupt):
        tool.write_lists(str(tmp_path), {}, {'train': (1,)})
    monkeypatch.undo()
    assert open(path).read() == before
    assert sorted(os.listdir(tmp_path)) == ['kth_train_videos.txt']


# ---------------------------------------------------------------- crashing data worker

class _CrashingClips(torch.utils.data.Dataset):
    """Stands for a decoder that segfaults on one file (as stock DecordInit can)."""

    def __init__(self, mark_dir):
        self.mark_dir = mark_dir
        self.files = ['/data/ok.avi', '/data/truncated.avi']

    def __len__(self):
        return 2

    def __getitem__(self, i):
        from mmaction_ext.datasets.worker_marks import mark_reading
        mark_reading(self.mark_dir, self.files[i])
        if 'truncated' in self.files[i]:
            import signal
            os.kill(os.getpid(), signal.SIGSEGV)
        return i


def test_a_crashing_data_worker_names_the_file():
    from mmaction_ext.datasets.worker_marks import (
        WorkerCrashError,
        explain_worker_crash,
        new_mark_dir,
    )
    loader = torch.utils.data.DataLoader(_CrashingClips(new_mark_dir()), num_workers=1,
                                         multiprocessing_context='fork')
    with pytest.raises(WorkerCrashError, match=r'DataLoader worker \(pid.*\d+\) (is killed by '
                       r'signal|exited unexpectedly).*: pid \d+ was reading /data/truncated.avi'):
        with explain_worker_crash():
            list(loader)
