"""Dataset test helpers shared by tests/test_datasets and tests/test_engine: placeholder
HA-ViD and KTH trees whose list files the tests vary."""
from __future__ import annotations

import os

from mmaction_ext.datasets import KTHDataset
from mmaction_ext.datasets.havid_dataset import HAViDDataset

NUM_CLASSES = {'lh': 3, 'rh': 3}


def touch(path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, 'w').close()


def havid_root(root: str, lh_text: str | None = None) -> str:
    """A ``dual_hand`` tree with placeholder videos; ``lh_text`` replaces the lh list."""
    for hand in ('lh', 'rh'):
        for i in range(3):
            touch(os.path.join(root, f'{hand}_v0', 'videos', f'c{i}.avi'))
        text = ''.join(f'c{i}.avi {i}\n' for i in range(3))
        if hand == 'lh' and lh_text is not None:
            text = lh_text
        with open(os.path.join(root, f'{hand}_v0', 'train_list_video.txt'), 'w') as f:
            f.write(text)
    return os.path.join(root, 'lh_v0', 'train_list_video.txt')


def havid(root: str, **kwargs) -> HAViDDataset:
    kwargs.setdefault('num_classes', NUM_CLASSES)
    return HAViDDataset(root, 'train', pipeline=[], **kwargs)


def kth_list(tmp_path, text: str, **kwargs) -> KTHDataset:
    video_root = str(tmp_path / 'videos')
    for person in (1, 2):
        touch(os.path.join(video_root, 'boxing', f'person{person:02d}_boxing_d1_uncomp.avi'))
    ann = tmp_path / 'list.txt'
    ann.write_text(text)
    return KTHDataset(pipeline=[], ann_file=str(ann), data_prefix=dict(video=video_root),
                      **kwargs)
