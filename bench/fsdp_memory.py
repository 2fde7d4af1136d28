"""Per-rank parameter + gradient + optimizer-state memory: ShardedDataParallel vs DDP.

    OMP_NUM_THREADS=1 python bench/fsdp_memory.py [--arch s|b|l|h|g] [--ranks 2]

Starts ``--ranks`` CPU processes (gloo), builds the same ViTRecognizer3D in each, wraps it
in DDP (``DeviceAwareDDP``) and then, afresh, in ``ShardedDataParallel``, takes one AdamW
step (so gradients and both Adam moments exist) and counts the bytes each rank holds in
parameters, gradients and optimizer states (a DTensor counts its local shard only).
Memory is counted from the tensors themselves, so the figures are exact and do not
depend on allocator caching or machine load. Exits 1 if sharded / DDP > ``--max-ratio``.
"""
from __future__ import annotations

import argparse
import os
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _bytes(tensor: torch.Tensor) -> int:
    from torch.distributed.tensor import DTensor
    if isinstance(tensor, DTensor):
        tensor = tensor.to_local()
    return tensor.numel() * tensor.element_size()


def state_bytes(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, int]:
    """Bytes this rank holds in parameters, their gradients and optimizer states."""
    params = list(model.parameters())
    return dict(
        params=sum(_bytes(p) for p in params),
        grads=sum(_bytes(p.grad) for p in params if p.grad is not None),
        optimizer=sum(_bytes(v) for state in optimizer.state.values()
                      for v in state.values() if torch.is_tensor(v)))


def _build(arch: str):
    from mmaction.registry import MODELS

    from mmaction_ext.models.backbones.mae_vit import resolve_arch
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='ViTRecognizer3D',
        backbone=dict(type='MAEVisionTransformer', arch=arch, img_size=32, num_frames=4),
        cls_head=dict(type='TimeSformerHead', num_classes=75,
                      in_channels=resolve_arch(arch)['embed_dims']),
        data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW')))
    model.init_weights()
    return model


def _step(wrapper, module) -> torch.optim.Optimizer:
    from mmaction.structures import ActionDataSample
    optimizer = torch.optim.AdamW(wrapper.parameters(), lr=1e-3)
    inputs = torch.randn(2, 1, 3, 4, 32, 32)
    samples = [ActionDataSample().set_gt_label(torch.tensor(i)) for i in range(2)]
    losses = wrapper(inputs, samples, mode='loss')
    losses['loss_cls'].backward()
    optimizer.step()
    return optimizer


def _worker(rank: int, world: int, arch: str, port: int, queue) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    import mmaction_ext  # noqa: F401
    from mmaction_ext.engine import DeviceAwareDDP, ShardedDataParallel
    init_default_scope('mmaction')
    MMLogger.get_current_instance().setLevel('WARNING')  # no init_weights report
    results = {}
    for name in ('ddp', 'sharded'):
        model = _build(arch)
        wrapper = (DeviceAwareDDP(model) if name == 'ddp' else ShardedDataParallel(model))
        optimizer = _step(wrapper, model)
        results[name] = state_bytes(model, optimizer)
        del wrapper, model, optimizer
    queue.put((rank, results))
    dist.barrier()
    dist.destroy_process_group()


def measure(arch: str = 's', ranks: int = 2, port: int = 29650) -> dict[int, dict]:
    """``{rank: {'ddp': {...bytes}, 'sharded': {...bytes}}}``."""
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(r, ranks, arch, port, queue))
             for r in range(ranks)]
    for p in procs:
        p.start()
    results = dict(queue.get(timeout=900) for _ in procs)
    for p in procs:
        p.join()
        if p.exitcode:
            raise RuntimeError(f'worker exited with {p.exitcode}')
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', default='s', help='s | b | l | h | g (g needs ~32 GB RAM)')
    parser.add_argument('--ranks', type=int, default=2)
    parser.add_argument('--port', type=int, default=29650)
    parser.add_argument('--max-ratio', type=float, default=0.6)
    args = parser.parse_args()
    results = measure(args.arch, args.ranks, args.port)
    mib = 2 ** 20
    print(f'ViT-{args.arch.upper()} + 75-class head, AdamW, fp32, {args.ranks} CPU ranks '
          '(gloo); MiB per rank\n')
    print('| rank | wrapper | parameters | gradients | optimizer states | total |')
    print('|---|---|---|---|---|---|')
    worst = 0.0
    for rank in sorted(results):
        totals = {}
        for name in ('ddp', 'sharded'):
            b = results[rank][name]
            totals[name] = sum(b.values())
            print(f'| {rank} | {name} | {b["params"] / mib:.1f} | {b["grads"] / mib:.1f} | '
                  f'{b["optimizer"] / mib:.1f} | {totals[name] / mib:.1f} |')
        worst = max(worst, totals['sharded'] / totals['ddp'])
    print(f'\nsharded / DDP per rank (worst rank): {worst:.3f}x')
    if worst > args.max_ratio:
        print(f'FAIL: above {args.max_ratio}x')
        sys.exit(1)


if __name__ == '__main__':
    main()
