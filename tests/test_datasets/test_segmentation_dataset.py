"""SegmentationFeatureDataset on the MS-TCN / authors' layout; bad layouts via tools/train.py."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from mmaction.registry import DATASETS
from segmentation_helpers import CLASSES, DIMS, REPO, make_layout, tiny_config

import mmaction_ext  # noqa: F401
from mmaction_ext.datasets.segmentation_layout import SegmentationLayoutError

HAND_MAPS = dict(lh='mapping_left_hand.txt', rh='mapping_right_hand.txt')


def _build(root, **kw):
    cfg = dict(type='SegmentationFeatureDataset', data_root=str(root),
               ann_file='splits/train.bundle', mapping=HAND_MAPS)
    cfg.update(kw)
    return DATASETS.build(cfg)


def test_dual_hand_samples_and_metainfo(tmp_path):
    truth = make_layout(str(tmp_path))
    ds = _build(tmp_path)
    assert len(ds) == 3
    assert ds.metainfo['classes'] == CLASSES and ds.metainfo['num_classes'] == dict(lh=3, rh=4)
    assert ds.metainfo['feature_dims'] == DIMS
    sample = ds[1]
    assert sample['inputs']['lh'].shape == (6, 55) and sample['inputs']['rh'].shape == (7, 55)
    ds_meta = sample['data_samples'].metainfo
    assert ds_meta['video'] == 'v1' and ds_meta['num_frames'] == 55
    np.testing.assert_array_equal(sample['data_samples'].rh_gt_labels.numpy(), truth['v1']['rh'])
    # the feature file is (D, T) as MS-TCN reads it: the label's row is raised
    feats = np.load(tmp_path / 'features/left_hand/v1.npy')
    assert feats.shape == (6, 55)
    assert (feats[:3].argmax(0) == truth['v1']['lh']).mean() > 0.9


def test_shared_mapping_and_sample_rate(tmp_path):
    make_layout(str(tmp_path))
    ds = _build(tmp_path, mapping='mapping.txt', sample_rate=4)
    assert ds.metainfo['num_classes'] == dict(lh=7, rh=7)   # one list for both hands
    sample = ds[0]
    assert sample['inputs']['lh'].shape == (6, 10)           # 40 frames, every 4th
    assert len(sample['data_samples'].lh_gt_labels) == 40    # truth stays full rate
    assert sample['data_samples'].metainfo['sample_rate'] == 4


def test_one_stream_layout_as_breakfast(tmp_path):
    make_layout(str(tmp_path), tracks=('label',))
    assert os.path.isfile(tmp_path / 'features' / 'v0.npy')
    assert os.path.isfile(tmp_path / 'groundTruth' / 'v0.txt')
    ds = _build(tmp_path, tracks=('label',), mapping='mapping.txt')
    assert ds.metainfo['classes'] == CLASSES['lh'] and ds[0]['inputs']['label'].shape == (6, 40)


def _break(root, fault: str) -> str:
    """Damage a layout as a user might; return the text the error must contain."""
    if fault == 'length':
        path = root / 'groundTruth/right_hand/v2.txt'
        path.write_text(path.read_text() + 'rh_01\n')
        return 'features/right_hand/v2.npy has 33 frames but'
    if fault == 'label':
        path = root / 'groundTruth/left_hand/v1.txt'
        lines = path.read_text().splitlines()
        lines[4] = 'lh_99'
        path.write_text('\n'.join(lines) + '\n')
        return "groundTruth/left_hand/v1.txt:5: unknown label 'lh_99'"
    if fault == 'missing':
        os.remove(root / 'features/left_hand/v0.npy')
        return 'features/left_hand/v0.npy: no such feature file'
    if fault == 'pickle':
        np.save(root / 'features/left_hand/v0.npy', np.array([{'a': 1}], dtype=object))
        return 'features/left_hand/v0.npy: not a plain numpy array'
    raise ValueError(fault)


@pytest.mark.parametrize('fault', ['length', 'label', 'missing', 'pickle'])
def test_bad_layouts_name_the_file(tmp_path, fault):
    make_layout(str(tmp_path))
    expected = _break(tmp_path, fault)
    with pytest.raises(SegmentationLayoutError) as err:
        _build(tmp_path)
    assert expected in str(err.value)


@pytest.mark.slow
@pytest.mark.parametrize('fault', ['length', 'label', 'missing'])
def test_bad_layouts_through_train_tool(tmp_path, fault):
    data = tmp_path / 'data'
    make_layout(str(data))
    expected = _break(data, fault)
    cfg = tiny_config(str(tmp_path / 'cfg.py'), str(data))
    res = subprocess.run([sys.executable, 'tools/train.py', cfg, '--work-dir',
                          str(tmp_path / 'work')], cwd=REPO, capture_output=True, text=True,
                         timeout=600, env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
    assert res.returncode != 0
    assert expected in res.stdout + res.stderr, (res.stdout + res.stderr)[-3000:]


def test_layout_text_files_through_the_list_reader(tmp_path):
    """BOM and CRLF (a Windows editor) read as the plain file; not-UTF-8 text, a folder
    and an empty bundle are errors naming the file (and line)."""
    from mmaction_ext.datasets.segmentation_layout import read_bundle, read_mapping, read_truth
    truth = tmp_path / 'v.txt'
    truth.write_bytes(b'\xef\xbb\xbflh_01\r\nlh_01\r\nlh_00\r\n')
    assert read_truth(str(truth), CLASSES['lh']).tolist() == [1, 1, 0]
    truth.write_bytes(b'lh_01\nlh_0\xe9\n')
    with pytest.raises(SegmentationLayoutError, match=rf'{truth}:2: not UTF-8 text'):
        read_truth(str(truth), CLASSES['lh'])
    bundle = tmp_path / 'split.bundle'
    bundle.write_bytes(b'\xef\xbb\xbfv0.txt\r\n\r\n#v1.txt\r\n')  # no comments in a bundle
    assert read_bundle(str(bundle)) == ['v0', '#v1']
    bundle.write_text('\n')
    with pytest.raises(SegmentationLayoutError, match=rf'{bundle}: the split file is empty'):
        read_bundle(str(bundle))
    with pytest.raises(SegmentationLayoutError,
                       match=rf'mapping file {tmp_path} is a folder, not a file'):
        read_mapping(str(tmp_path))
