"""Write a small synthetic video dataset whose labels decide the motion.

    python tools/make_synthetic_data.py classification data/synthetic_demo [--classes 4]
    python tools/make_synthetic_data.py havid data/synthetic_havid [--layout authors]
    python tools/make_synthetic_data.py havid-long data/havid_long [--count 1] [--minutes 3]
        [--pause-s MIN MAX] [--start-index N]
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys

from mmaction_ext.synthetic import make_classification_dataset
from mmaction_ext.synthetic.havid import is_current, make_havid_dataset
from mmaction_ext.synthetic.long_video import make_long_havid_video
from mmaction_ext.utils.cli import run_tool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--verbose', action='store_true', help='tracebacks of errors')
    sub = parser.add_subparsers(dest='kind', required=True)
    cls = sub.add_parser('classification', help='single-label clips, VideoDataset lists')
    cls.add_argument('root')
    cls.add_argument('--classes', type=int, default=4)
    cls.add_argument('--train-per-class', type=int, default=40)
    cls.add_argument('--val-per-class', type=int, default=6)
    cls.add_argument('--test-per-class', type=int, default=8)
    cls.add_argument('--frames', type=int, default=16)
    cls.add_argument('--size', type=int, default=64, help='square frame side in pixels')
    cls.add_argument('--ext', default='.avi', choices=['.avi', '.mp4'])
    cls.add_argument('--seed', type=int, default=0)
    hv = sub.add_parser('havid', help='dual-hand clips in HA-ViD layouts (lh_v0/, rh_v0/)')
    hv.add_argument('root')
    hv.add_argument('--layout', default='dual_hand', choices=['dual_hand', 'authors'])
    hv.add_argument('--lh-classes', type=int, default=3)
    hv.add_argument('--rh-classes', type=int, default=4)
    hv.add_argument('--train-per-class', type=int, nargs=2, default=[80, 64],
                    metavar=('LH', 'RH'), help='training clips per class of each hand')
    hv.add_argument('--val-per-class', type=int, nargs=2, default=[40, 30], metavar=('LH', 'RH'),
                    help='held-out clips per class (120 per hand: one clip < 1 point)')
    hv.add_argument('--frames', type=int, default=24,
                    help='frames per clip (the demo model reads 8, from a random start)')
    hv.add_argument('--reuse', action='store_true',
                    help='keep data this generator version already wrote with these options')
    hv.add_argument('--size', type=int, nargs=2, default=[64, 128], metavar=('H', 'W'),
                    help='frame height and width (each hand gets one half of the width)')
    hv.add_argument('--ext', default='.mp4', choices=['.avi', '.mp4'])
    hv.add_argument('--view', type=int, default=0)
    hv.add_argument('--seed', type=int, default=0)
    lg = sub.add_parser('havid-long', help='untrimmed dual-hand videos + per-frame gt.csv')
    lg.add_argument('root')
    lg.add_argument('--count', type=int, default=1, help='videos long_000.mp4, ...')
    lg.add_argument('--start-index', type=int, default=0,
                    help='first file number (long_<start-index>.mp4; seeds still seed + i)')
    lg.add_argument('--minutes', type=float, default=3.0)
    lg.add_argument('--fps', type=int, default=25)
    lg.add_argument('--segment-s', type=float, nargs=2, default=[3.0, 12.0],
                    metavar=('MIN', 'MAX'), help='segment length range, per hand')
    lg.add_argument('--pause-s', type=float, nargs=2, default=[0.0, 0.0], metavar=('MIN', 'MAX'),
                    help='each new segment starts with the hand still for this long '
                         '(ambiguous windows at boundaries; default none)')
    lg.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    if args.kind == 'havid-long':
        for i in range(args.count):
            path = osp.join(args.root, f'long_{args.start_index + i:03d}.mp4')
            make_long_havid_video(path, args.minutes * 60, args.fps,
                                  segment_s=tuple(args.segment_s), seed=args.seed + i,
                                  pause_s=tuple(args.pause_s))
            print(f'{path} (+ {osp.splitext(path)[0]}.gt.csv)')
    if args.kind == 'havid':
        per_class = {'train': dict(zip(('lh', 'rh'), args.train_per_class)),
                     'val': dict(zip(('lh', 'rh'), args.val_per_class))}
        recipe = dict(layout=args.layout,
                      num_classes={'lh': args.lh_classes, 'rh': args.rh_classes},
                      per_class=per_class, num_frames=args.frames, size=tuple(args.size),
                      ext=args.ext, view=args.view, level='pt', seed=args.seed)
        lists = args.reuse and is_current(args.root, **recipe)
        if lists:
            print(f'{args.root}: written earlier by this generator with these options, kept')
        else:
            lists = make_havid_dataset(args.root, **recipe)
        for hand, splits in lists.items():
            for split, path in splits.items():
                print(f'{hand} {split}: {path}')
    if args.kind == 'classification':
        lists = make_classification_dataset(
            args.root, args.classes,
            {'train': args.train_per_class, 'val': args.val_per_class,
             'test': args.test_per_class},
            args.frames, (args.size, args.size), args.ext, args.seed)
        for split, path in lists.items():
            print(f'{split}: {path}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
