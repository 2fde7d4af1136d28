"""GPU check of sharded training: one ViT train step, DDP (bf16 autocast) vs sharded.

    torchrun --nproc_per_node=N bench/fsdp_gpu_step.py --arch l [--batch 2] [--steps 5]
        [--modes ddp,sharded,offload] [--with-cp]
    torchrun --nproc_per_node=2 bench/fsdp_gpu_step.py --dry-run     # CPU, tiny: checks it runs

Per mode, a ViTRecognizer3D (arch, 16 x 224^2 clips, 75 classes) takes one warm-up step and
then ``--steps`` AdamW steps; rank 0 prints peak GPU memory (``max_memory_allocated``,
the largest over ranks) and clips/s (all ranks). Modes: ``ddp`` = DeviceAwareDDP with
bf16 autocast (what ``--amp`` gives), ``sharded`` = ShardedDataParallel (bf16 compute),
``offload`` = sharded with ``cpu_offload=True``. Written for the issue's GPU check; no GPU
was lent when it was written, so only ``--dry-run`` has run (tests/test_e2e/test_sharded_training.py
does not run it; run it by hand).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import time

import torch
import torch.distributed as dist


def _model(arch, frames: int, size: int, with_cp: bool, device: str):
    from mmaction.registry import MODELS

    from mmaction_ext.models.backbones.mae_vit import resolve_arch
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='ViTRecognizer3D',
        backbone=dict(type='MAEVisionTransformer', arch=arch, img_size=size,
                      num_frames=frames, with_cp=with_cp),
        cls_head=dict(type='TimeSformerHead', num_classes=75,
                      in_channels=resolve_arch(arch)['embed_dims']),
        data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW')))
    model.init_weights()
    return model.to(device)


def run_mode(mode: str, args, device: str) -> tuple[float, float]:
    """(peak GiB over ranks, clips/s over all ranks) of ``args.steps`` steps."""
    from mmaction_ext.engine import DeviceAwareDDP, ShardedDataParallel
    model = _model(args.arch, args.frames, args.size, args.with_cp, device)
    if mode == 'ddp':
        wrapper = DeviceAwareDDP(model, device_ids=[torch.cuda.current_device()]
                                 if device == 'cuda' else None)
        autocast = torch.autocast(device, dtype=torch.bfloat16)
    else:
        wrapper = ShardedDataParallel(model, cpu_offload=mode == 'offload',
                                      mixed_precision='bf16' if device == 'cuda' else None)
        autocast = contextlib.nullcontext()
    optimizer = torch.optim.AdamW(wrapper.parameters(), lr=1e-4)
    inputs = torch.randn(args.batch, 1, 3, args.frames, args.size, args.size, device=device)
    labels = torch.arange(args.batch, device=device) % 75

    def step() -> None:
        # mode='tensor' + cross-entropy: the stock head's accuracy goes through numpy,
        # which has no bf16 (autocast would make the scores bf16)
        with autocast:
            scores = wrapper(inputs, mode='tensor', stage='head')
        loss = torch.nn.functional.cross_entropy(scores.float(), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()  # warm-up: optimizer states exist from here on
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    dist.barrier()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    if device == 'cuda':
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    peak = torch.tensor([torch.cuda.max_memory_allocated() / 2 ** 30
                         if device == 'cuda' else float('nan')])
    dist.all_reduce(peak, op=dist.ReduceOp.MAX)
    clips = args.batch * args.steps * dist.get_world_size() / elapsed
    return peak.item(), clips


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', default='l')
    parser.add_argument('--batch', type=int, default=2, help='clips per GPU')
    parser.add_argument('--frames', type=int, default=16)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--modes', default='ddp,sharded,offload')
    parser.add_argument('--with-cp', action='store_true')
    parser.add_argument('--dry-run', action='store_true', help='CPU, tiny ViT, 1 step')
    args = parser.parse_args(argv)
    if args.dry_run:
        args.arch = dict(embed_dims=32, depth=2, num_heads=2)
        args.frames, args.size, args.steps, args.batch = 4, 32, 1, 1
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    import mmaction_ext  # noqa: F401
    init_default_scope('mmaction')
    MMLogger.get_current_instance().setLevel('WARNING')
    device = 'cuda' if torch.cuda.is_available() and not args.dry_run else 'cpu'
    if device == 'cuda':
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0)))
    dist.init_process_group('nccl' if device == 'cuda' else 'gloo')
    rows = []
    for mode in args.modes.split(','):
        rows.append((mode, *run_mode(mode, args, device)))
        if device == 'cuda':
            torch.cuda.empty_cache()  # the previous mode's model is gone with its frame
    if dist.get_rank() == 0:
        name = args.arch if isinstance(args.arch, str) else 'tiny'
        print(f'ViT-{name}, {args.frames}x{args.size}^2, {args.batch} clips/GPU, '
              f'with_cp={args.with_cp}, {dist.get_world_size()} ranks, {device}')
        print('| mode | peak GiB/GPU | clips/s |\n|---|---|---|')
        for mode, peak, clips in rows:
            print(f'| {mode} | {peak:.2f} | {clips:.2f} |')
    dist.destroy_process_group()


if __name__ == '__main__':
    main()
