"""onnxruntime against torch eager on CPU: clips/s, held-out parity, infer_video end to end.

    python bench/onnx_cpu.py --demo-checkpoint CKPT --data-root DIR [--runs 3]
        [--vit-s-clips 3] [--demo-clips 40] [--skip-vit-s]

1. Throughput: batch-1 forward of ViT-S 16x224 (random weights, 400 classes) and of the
   demo model (configs/demo/dual-hand_vit-tiny_synthetic-havid.py, 8x64x128), torch eager
   (``torch.set_num_threads``) and onnxruntime (``intra_op_num_threads``) at 1 and 2
   threads, measured alternately in each run; clips/s per run, ratio ORT/torch of the
   medians. ``uptime`` is recorded before and after: on a shared machine the figures
   move with the load and must be re-measured on a quiet one.
2. Parity on the demo model's held-out clips (its test dataloader): max |logits| diff
   per hand and whether top-1 agrees on every clip.
3. ``VideoInferencer`` (tools/infer_video.py's engine) on one synthetic 240-frame video
   with each backend: wall seconds (decode, pipeline and model).
Prints markdown tables.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

import mmaction_ext  # noqa: F401
from mmaction_ext.apis.onnx_backend import OnnxRecognizer
from mmaction_ext.apis.onnx_export import ExportableRecognizer, export_onnx

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_CFG = os.path.join(REPO, 'configs/demo/dual-hand_vit-tiny_synthetic-havid.py')


def uptime() -> str:
    return subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()


def vit_s_model():
    from mmaction.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='ViTRecognizer3D',
        backbone=dict(type='MAEVisionTransformer', arch='s', img_size=224, num_frames=16),
        cls_head=dict(type='TimeSformerHead', num_classes=400, in_channels=384),
        data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW')))
    model.init_weights()
    return model.eval()


def demo_model(checkpoint: str | None):
    from mmaction.registry import MODELS
    model = MODELS.build(Config.fromfile(DEMO_CFG).model)
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu')
    return model.eval()


def clips_per_second(fn, clips: list) -> float:
    start = time.perf_counter()
    for c in clips:
        fn(c)
    return len(clips) / (time.perf_counter() - start)


def throughput(name: str, model, shape, n: int, runs: int, folder: str) -> list[str]:
    path = os.path.join(folder, f'{name}.onnx')
    export_onnx(model, shape, path)
    wrapper = ExportableRecognizer(model, shape, False).eval()
    rng = torch.Generator().manual_seed(0)
    clips = [torch.randn(1, *shape, generator=rng) for _ in range(n)]
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        runner = OnnxRecognizer(path, threads=threads)
        with torch.no_grad():
            wrapper(clips[0])                     # warm-up, both
        runner(clips[0].numpy())
        eager, ort = [], []
        for _ in range(runs):
            with torch.no_grad():
                eager.append(clips_per_second(wrapper, clips))
            ort.append(clips_per_second(runner, [c.numpy() for c in clips]))
        me, mo = statistics.median(eager), statistics.median(ort)
        rows.append(f'| {name} | {threads} | {", ".join(f"{v:.2f}" for v in eager)} | '
                    f'{", ".join(f"{v:.2f}" for v in ort)} | {mo / me:.2f}x |')
    return rows


def heldout_parity(model, checkpoint: str, data_root: str, folder: str) -> str:
    from mmengine.runner import Runner
    cfg = Config.fromfile(DEMO_CFG)
    loader_cfg = cfg.test_dataloader
    loader_cfg.dataset.data_root = data_root
    loader_cfg.num_workers, loader_cfg.persistent_workers = 0, False
    loader = Runner.build_dataloader(loader_cfg)
    path = os.path.join(folder, 'demo_heldout.onnx')
    export_onnx(model, (3, 8, 64, 128), path)
    runner = OnnxRecognizer(path)
    diff, clips, same = {'lh': 0.0, 'rh': 0.0}, 0, True
    for batch in loader:
        with torch.no_grad():
            x = model.data_preprocessor(batch, False)['inputs'].flatten(0, 1)
            feats = model.backbone(x)
            ref = {'lh': model.lh_head(feats), 'rh': model.rh_head(feats)}
        got = runner(x.numpy())
        for hand in ref:
            diff[hand] = max(diff[hand], float(np.abs(got[hand] - ref[hand].numpy()).max()))
            same &= bool((got[hand].argmax(1) == ref[hand].numpy().argmax(1)).all())
        clips += len(x)
    return (f'| demo ({os.path.basename(checkpoint)}) | {clips} held-out clips | '
            f'lh {diff["lh"]:.1e}, rh {diff["rh"]:.1e} | {"yes" if same else "NO"} |')


def infer_video_rows(checkpoint: str, folder: str) -> list[str]:
    from mmaction_ext.apis import VideoInferencer
    from mmaction_ext.synthetic import write_video
    rng = np.random.default_rng(0)
    video = write_video(os.path.join(folder, 'long.mp4'),
                        rng.integers(0, 256, (240, 64, 128, 3), dtype=np.uint8))
    onnx_path = os.path.join(folder, 'demo_infer.onnx')
    model = demo_model(checkpoint)
    export_onnx(model, (3, 8, 64, 128), onnx_path)
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for backend, weights in (('pytorch', checkpoint), ('onnxruntime', onnx_path)):
            inf = VideoInferencer(DEMO_CFG, weights, backend=backend, threads=threads)
            inf(video)                                        # warm-up
            start = time.perf_counter()
            scores = inf(video)
            wall = time.perf_counter() - start
            rows.append(f'| {backend} | {threads} | {len(scores.starts)} windows | '
                        f'{wall:.2f} s |')
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--demo-checkpoint', help='trained demo model (tools/run_demo.sh)')
    parser.add_argument('--data-root', default='data/synthetic_havid')
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--vit-s-clips', type=int, default=3)
    parser.add_argument('--demo-clips', type=int, default=40)
    parser.add_argument('--skip-vit-s', action='store_true')
    args = parser.parse_args()
    init_default_scope('mmaction')
    before = uptime()
    with tempfile.TemporaryDirectory() as folder:
        rows = []
        if not args.skip_vit_s:
            rows += throughput('ViT-S 16x224', vit_s_model(), (3, 16, 224, 224),
                               args.vit_s_clips, args.runs, folder)
        demo = demo_model(args.demo_checkpoint)
        rows += throughput('demo dual-hand 8x64x128', demo, (3, 8, 64, 128),
                           args.demo_clips, args.runs, folder)
        print('| model | threads | torch eager clips/s (runs) | onnxruntime clips/s (runs) '
              '| ORT/torch (medians) |\n|---|---|---|---|---|')
        print('\n'.join(rows))
        if args.demo_checkpoint:
            torch.set_num_threads(2)
            print('\n| model | clips | max abs logit diff | same top-1 on every clip |\n'
                  '|---|---|---|---|')
            print(heldout_parity(demo, args.demo_checkpoint, args.data_root, folder))
            print('\n| infer_video backend | threads | video (240 frames, 64x128) | wall |\n'
                  '|---|---|---|---|')
            print('\n'.join(infer_video_rows(args.demo_checkpoint, folder)))
    print(f'\nload before: {before}\nload after:  {uptime()}')


if __name__ == '__main__':
    main()
