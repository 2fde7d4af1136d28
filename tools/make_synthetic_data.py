"""Write a small synthetic video dataset whose labels decide the motion.

    python tools/make_synthetic_data.py classification data/synthetic_demo [--classes 4]
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmaction_ext.synthetic import make_classification_dataset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='kind', required=True)
    cls = sub.add_parser('classification', help='single-label clips, VideoDataset lists')
    cls.add_argument('root')
    cls.add_argument('--classes', type=int, default=4)
    cls.add_argument('--train-per-class', type=int, default=40)
    cls.add_argument('--val-per-class', type=int, default=6)
    cls.add_argument('--frames', type=int, default=16)
    cls.add_argument('--size', type=int, default=64, help='square frame side in pixels')
    cls.add_argument('--ext', default='.avi', choices=['.avi', '.mp4'])
    cls.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    if args.kind == 'classification':
        lists = make_classification_dataset(
            args.root, args.classes, {'train': args.train_per_class, 'val': args.val_per_class},
            args.frames, (args.size, args.size), args.ext, args.seed)
        for split, path in lists.items():
            print(f'{split}: {path}')


if __name__ == '__main__':
    main()
