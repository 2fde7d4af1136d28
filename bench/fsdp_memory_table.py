"""Per-GPU training memory of ViT-B/L/H/g, DDP vs sharded, computed from the architectures.

    python bench/fsdp_memory_table.py [--gpus 1 8 16] [--frames 16] [--size 224]
        [--heads 75 75] [--measure]

Parameters are counted from :class:`MAEVisionTransformer` built on the meta device (no
memory, no time) plus the heads. Model states use mixed-precision AdamW: fp32 weights,
fp32 gradients, two fp32 moments = 16 bytes per parameter; DDP holds all of them on every
GPU, ``ShardedDataParallel`` 1/N of them, plus the units being gathered (bf16 weights of
the current and the prefetched block, one block's unsharded gradients in bf16 and fp32).

Activations (per clip) are what a block keeps for backward with fused attention
(``scaled_dot_product_attention``, no N x N matrix), for s tokens of width h, mlp ratio r,
with the sharded run's dtypes (blocks in bf16, fp32 between blocks): input of each norm
and linear, q/k/v, attention output, fc1 output and GELU output, ``8 s h + 2 s rh`` bf16
values; with ``with_cp`` a block keeps its fp32 input and bf16 attention output, the last
block is not checkpointed, and backward recomputes one block at a time. ``--measure``
checks these per-block figures against torch's ``MemTracker`` on real 2- and 3-block
models of each width (minutes on a CPU); tests/test_tools/test_fsdp_memory_table.py does the same
for a small width.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch

GIB = 2 ** 30
STATE_BYTES = 4 + 4 + 8  # fp32 weight, fp32 grad, AdamW exp_avg + exp_avg_sq
ACT_BYTES = 2  # bf16
RESIDUAL_BYTES = 4  # fp32 between blocks (ShardedDataParallel's output_dtype)


@dataclass
class Arch:
    name: str
    params: int        # backbone + heads
    block_params: int  # one block (one FSDP unit)
    depth: int
    width: int
    mlp_ratio: float
    tokens: int
    num_heads: int
    hidden: int  # MLP hidden width (int(width * mlp_ratio))


def build_backbone(arch, frames: int = 16, size: int = 224, device: str = 'meta',
                   with_cp: bool = False):
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    import mmaction_ext  # noqa: F401
    init_default_scope('mmaction')
    with torch.device(device):
        return MODELS.build(dict(type='MAEVisionTransformer', arch=arch, img_size=size,
                                 num_frames=frames, with_cp=with_cp))


def describe(arch: str | dict, frames: int = 16, size: int = 224,
             heads: tuple[int, ...] = (75, 75)) -> Arch:
    """Sizes of ``arch`` ('b', 'l', 'h', 'g' or an arch dict) for ``frames`` x ``size``^2
    clips."""
    backbone = build_backbone(arch, frames, size)
    settings = backbone.arch_settings
    width = settings['embed_dims']
    params = sum(p.numel() for p in backbone.parameters())
    params += sum(width * n + n for n in heads)
    block = sum(p.numel() for p in backbone.blocks[0].parameters())
    tokens = (frames // backbone.tubelet_size) * (size // settings['patch_size']) ** 2
    if isinstance(arch, str):
        name = f'ViT-{arch}' if arch == 'g' else f'ViT-{arch.upper()}'
    else:
        name = f'ViT-{arch["embed_dims"]}x{arch["depth"]}'
    return Arch(name, params, block, settings['depth'], width,
                settings['mlp_ratio'], tokens, settings['num_heads'],
                backbone.blocks[0].mlp.layers[0][0].out_features)


def block_activation_bytes(a: Arch, with_cp: bool) -> float:
    """Bytes one block keeps for backward, per clip (see module docstring): bf16 values,
    the attention kernel's fp32 log-sum-exp per token and head and, without with_cp,
    the two layer norms' mean and 1/std per token. With with_cp the kept block input is
    fp32: ``ShardedDataParallel``'s blocks hand fp32 back (the root stays fp32)."""
    lse = a.tokens * a.num_heads * 4
    if with_cp:
        return a.tokens * a.width * (RESIDUAL_BYTES + ACT_BYTES) + lse
    norm_stats = 2 * 2 * a.tokens * ACT_BYTES
    return (8 * a.width + 2 * a.hidden) * a.tokens * ACT_BYTES + lse + norm_stats


def activation_bytes(a: Arch, with_cp: bool, clips: int = 1) -> float:
    """Peak activation bytes of the backbone per GPU for ``clips`` clips (bf16)."""
    full = block_activation_bytes(a, False)
    if with_cp:  # kept inputs, last block whole, one block recomputed in backward
        per_clip = (a.depth - 1) * block_activation_bytes(a, True) + 2 * full
    else:
        per_clip = a.depth * full
    return per_clip * clips


def state_bytes(a: Arch, gpus: int, sharded: bool) -> dict[str, float]:
    """Per-GPU bytes of weights, gradients, AdamW states (+ gathered units if sharded)."""
    share = 1 / gpus if sharded else 1
    out = dict(params=4 * a.params * share, grads=4 * a.params * share,
               optimizer=8 * a.params * share)
    out['gathered'] = (2 * 2 + 2 + 4) * a.block_params if sharded and gpus > 1 else 0
    return out


def table(archs: list[str], gpus: list[int], frames: int, size: int,
          heads: tuple[int, ...]) -> str:
    rows = []
    head = ['model', 'params', 'tokens/clip', 'DDP: w+g+Adam /GPU']
    head += [f'sharded {n} GPU{"s" if n > 1 else ""}: w+g+Adam (+gathered) /GPU' for n in gpus]
    head += ['activations/clip', 'activations/clip, with_cp']
    rows.append('| ' + ' | '.join(head) + ' |')
    rows.append('|' + '---|' * len(head))
    for name in archs:
        a = describe(name, frames, size, heads)
        ddp = sum(state_bytes(a, 1, False).values())
        cells = [a.name, f'{a.params / 1e6:.0f} M', str(a.tokens), f'{ddp / GIB:.1f} GiB']
        for n in gpus:
            s = state_bytes(a, n, True)
            gathered = s.pop('gathered')
            cells.append(f'{sum(s.values()) / GIB:.2f} (+{gathered / GIB:.2f}) GiB')
        cells += [f'{activation_bytes(a, False) / GIB:.2f} GiB',
                  f'{activation_bytes(a, True) / GIB:.2f} GiB']
        rows.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(rows)


def _as_sharded_bf16(model) -> None:
    """What ``ShardedDataParallel(mixed_precision='bf16')`` does to dtypes: blocks compute
    in bf16 with bf16 inputs and fp32 outputs; the rest stays fp32."""
    for block in model.blocks:
        block.to(torch.bfloat16)
        block.register_forward_pre_hook(lambda mod, args: (args[0].to(torch.bfloat16),))
        block.register_forward_hook(lambda mod, args, out: out.float())


def measured_block_activation(arch, frames: int, size: int, with_cp: bool) -> float:
    """Activation bytes one (checkpointed) block adds, by torch's MemTracker (CPU, the
    sharded run's dtypes): the difference between a 3-block and a 2-block model."""
    from torch.distributed._tools.mem_tracker import MemTracker

    from mmaction_ext.models.backbones.mae_vit import resolve_arch
    settings = resolve_arch(arch)
    kept = []
    for depth in (2, 3):
        model = build_backbone(dict(settings, depth=depth), frames, size, 'cpu', with_cp)
        _as_sharded_bf16(model)
        model.train()
        x = torch.randn(1, 3, frames, size, size)
        tracker = MemTracker()
        tracker.track_external(model, x)
        with tracker:
            out = model(x)
            snapshot = tracker.get_tracker_snapshot('current')
            del out
        device = next(iter(snapshot))
        kept.append(next(v for k, v in snapshot[device].items()
                         if getattr(k, 'value', k) == 'Activation'))
    return kept[1] - kept[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--archs', nargs='+', default=['b', 'l', 'h', 'g'])
    parser.add_argument('--gpus', nargs='+', type=int, default=[1, 8, 16])
    parser.add_argument('--frames', type=int, default=16)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--heads', nargs='+', type=int, default=[75, 75])
    parser.add_argument('--measure', action='store_true')
    args = parser.parse_args()
    print(f'{args.frames} frames x {args.size}^2, heads {args.heads}; AdamW with fp32 '
          'master weights; activations per clip (batch 1) with the sharded run\'s '
          'dtypes: bf16 blocks, fp32 between blocks\n')
    print(table(args.archs, args.gpus, args.frames, args.size, tuple(args.heads)))
    if args.measure:
        print('\nper-block activations, formula vs MemTracker (MiB):')
        for name in args.archs:
            a = describe(name, args.frames, args.size, tuple(args.heads))
            for cp in (False, True):
                formula = block_activation_bytes(a, cp) / 2 ** 20
                got = measured_block_activation(name, args.frames, args.size, cp) / 2 ** 20
                print(f'  {a.name} with_cp={cp}: formula {formula:.1f}, measured {got:.1f}')


if __name__ == '__main__':
    main()
