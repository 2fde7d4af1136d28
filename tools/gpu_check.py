"""Measurements behind tools/gpu_check.sh: ViT train-step throughput, memory, MFU, fused attention.

    python tools/gpu_check.py vit [--arch b] [--frames 16] [--size 224] [--batch 8]
        [--steps 10] [--dtype bf16] [--json OUT]
    python tools/gpu_check.py train-log WORK_DIR --batch 8 [--frames 16] [--size 224]

``vit``: MMAction2's stock ``VisionTransformer`` and the project's ``MAEVisionTransformer``
(same network, fused ``scaled_dot_product_attention``), each with a Linear head,
cross-entropy and AdamW, under autocast; steps alternate between the two models so both
see the same clocks and load. Prints clips/s, the ratio, peak memory of one step (CUDA:
``max_memory_allocated`` above what was allocated before it), model FLOP utilisation and
which attention kernels the profiler saw for each model. Runs on CPU too (for a dry run).

FLOPs: forward multiply-adds from the architecture (patch embedding, qkv/proj/MLP
matmuls, the two attention products; ViT-B 16x224 gives 180 G, the figure usually quoted
as "180 GFLOPs"), counted as 2 FLOPs each and x3 for forward + backward. MFU = achieved
FLOP/s / the GPU's dense bf16 peak (table below; ``--peak-tflops`` for other GPUs).
"""
from __future__ import annotations

import argparse
import glob
import json
import os.path as osp
import statistics
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

# dense (no sparsity) bf16 tensor-core peaks, TFLOP/s, from NVIDIA's data sheets
PEAK_BF16_TFLOPS = {'H100 80GB HBM3': 989.4, 'H100 SXM': 989.4, 'H200': 989.4,
                    'H100 NVL': 835.0, 'H100 PCIe': 756.0, 'A100': 312.0}
FUSED_MARKERS = ('flash', 'fmha', 'efficient_attention', 'cudnn_attention',
                 'scaled_dot_product')


def forward_macs(dims: int, depth: int, frames: int, size: int, patch: int = 16,
                 tubelet: int = 2, mlp_ratio: float = 4.0) -> float:
    """Multiply-adds of one clip's forward pass through the backbone."""
    tokens = (frames // tubelet) * (size // patch) ** 2
    per_block = tokens * dims * dims * (4 + 2 * mlp_ratio) + 2 * tokens * tokens * dims
    return depth * per_block + tokens * dims * 3 * tubelet * patch * patch


def peak_tflops(device_name: str, override: float | None) -> float | None:
    if override:
        return override
    for key, value in PEAK_BF16_TFLOPS.items():
        if key in device_name:
            return value
    return None


def build(kind: str, arch: str, frames: int, size: int, num_classes: int = 75):
    # isort: off
    import mmaction_ext  # noqa: F401  first: compat fixes precede mmaction.models
    import torch
    from mmaction.models.backbones import VisionTransformer
    from mmaction_ext.models.backbones import MAEVisionTransformer
    from mmaction_ext.models.backbones.mae_vit import resolve_arch
    # isort: on
    spec = resolve_arch(arch)
    if kind == 'stock':
        backbone = VisionTransformer(img_size=size, patch_size=spec['patch_size'],
                                     embed_dims=spec['embed_dims'], depth=spec['depth'],
                                     num_heads=spec['num_heads'], mlp_ratio=spec['mlp_ratio'],
                                     num_frames=frames)
    else:
        backbone = MAEVisionTransformer(arch=arch, img_size=size, num_frames=frames)
    model = torch.nn.Sequential(backbone, torch.nn.Linear(spec['embed_dims'], num_classes))
    return model, spec


def vit(args: argparse.Namespace) -> dict:
    import torch
    device = torch.device('cuda' if torch.cuda.is_available() and not args.cpu else 'cpu')
    dtype = dict(bf16=torch.bfloat16, fp16=torch.float16, fp32=torch.float32)[args.dtype]
    arch = json.loads(args.arch) if args.arch.startswith('{') else args.arch
    torch.manual_seed(0)
    models, opts = {}, {}
    for kind in ('stock', 'ours'):
        models[kind], spec = build(kind, arch, args.frames, args.size)
        models[kind].to(device).train()
        opts[kind] = torch.optim.AdamW(models[kind].parameters(), lr=1e-4)
    x = torch.randn(args.batch, 3, args.frames, args.size, args.size, device=device)
    y = torch.randint(0, 75, (args.batch,), device=device)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)

    def step(kind: str) -> float:
        sync()
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            loss = torch.nn.functional.cross_entropy(models[kind](x).float(), y)
        loss.backward()
        opts[kind].step()
        opts[kind].zero_grad(set_to_none=True)
        sync()
        return time.perf_counter() - start

    memory = {}
    for kind in models:  # warm-up (kernel selection, optimizer state) and step memory
        step(kind)
        if device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
            step(kind)
            memory[kind] = (torch.cuda.max_memory_allocated() - before) / 2**30
        else:
            step(kind)
    times = {k: [] for k in models}
    for r in range(args.steps):
        for kind in (('stock', 'ours') if r % 2 == 0 else ('ours', 'stock')):
            times[kind].append(step(kind))
    kernels = {kind: attention_kernels(lambda k=kind: step(k), device.type) for kind in models}

    macs = forward_macs(spec['embed_dims'], spec['depth'], args.frames, args.size,
                        spec['patch_size'], mlp_ratio=spec['mlp_ratio'])
    name = torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'
    peak = peak_tflops(name, args.peak_tflops) if device.type == 'cuda' else None
    result = dict(device=name, torch=torch.__version__, dtype=args.dtype, batch=args.batch,
                  shape=f'{args.frames}x{args.size}', forward_gmacs=macs / 1e9,
                  peak_tflops=peak, models={})
    for kind in models:
        clips = args.batch / statistics.median(times[kind])
        tflops = clips * 3 * 2 * macs / 1e12
        result['models'][kind] = dict(
            clips_per_s=clips, step_s=statistics.median(times[kind]),
            step_peak_gib=memory.get(kind), achieved_tflops=tflops,
            mfu=tflops / peak if peak else None, attention_kernels=kernels[kind],
            fused_attention=any(m in k.lower() for k in kernels[kind] for m in FUSED_MARKERS))
    result['speedup'] = statistics.median(s / o for s, o in zip(times['stock'], times['ours']))
    return result


def attention_kernels(run_step, device_type: str) -> list[str]:
    """Names of attention-like kernels/ops one training step launches."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device_type == 'cuda'
                                           else [])
    with profile(activities=activities) as prof:
        run_step()
    names = {e.name for e in prof.events() if not e.name.startswith('autograd::')}
    keys = FUSED_MARKERS + ('softmax', 'attention')
    return sorted(n for n in names if any(k in n.lower() for k in keys)
                  and 'log_softmax' not in n.lower() and 'LogSoftmax' not in n)[:12]


def print_vit(result: dict) -> None:
    print(f"device {result['device']}, torch {result['torch']}, {result['dtype']} autocast, "
          f"batch {result['batch']}, {result['shape']}, forward {result['forward_gmacs']:.3g} "
          f"GMAC/clip (x2 FLOP, x3 fwd+bwd), peak {result['peak_tflops']} TFLOP/s")
    for kind, m in result['models'].items():
        mem = f"{m['step_peak_gib']:.2f} GiB" if m['step_peak_gib'] is not None else 'n/a'
        mfu = f"{100 * m['mfu']:.1f}%" if m['mfu'] is not None else 'n/a'
        print(f"  {kind:5s}: {m['clips_per_s']:8.2f} clips/s  step peak {mem:>10s}  "
              f"{m['achieved_tflops']:7.2f} TFLOP/s  MFU {mfu:>6s}  fused attention "
              f"{'YES' if m['fused_attention'] else 'no'}")
        print(f"         kernels: {', '.join(m['attention_kernels']) or '-'}")
    print(f"  ours / stock training throughput: {result['speedup']:.2f}x")


def train_log(args: argparse.Namespace) -> dict:
    """clips/s, memory and MFU of a finished MMEngine run, from its scalars.json."""
    files = sorted(glob.glob(osp.join(args.work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise SystemExit(f'{args.work_dir}: no */vis_data/scalars.json; did training run?')
    records = [json.loads(line) for line in open(files[-1]) if '"time"' in line]
    records = [r for r in records if 'loss' in r or 'lr' in r] or records
    if len(records) < 2:
        raise SystemExit(f'{files[-1]}: fewer than 2 logged iterations; lower logger interval')
    step = statistics.median(r['time'] for r in records[1:])  # first log includes warm-up
    clips = args.batch / step
    macs = forward_macs(args.dims, args.depth, args.frames, args.size)
    peak = args.peak_tflops
    if peak is None:
        import torch
        if torch.cuda.is_available():
            peak = peak_tflops(torch.cuda.get_device_name(), None)
    tflops = clips * 3 * 2 * macs / 1e12
    result = dict(log=files[-1], iterations_logged=len(records), step_s=step,
                  clips_per_s=clips,  # MMEngine logs 'memory' (MiB) on CUDA only
                  memory_mib=max((r['memory'] for r in records if 'memory' in r), default=None),
                  achieved_tflops=tflops, mfu=tflops / peak if peak else None)
    mfu = f"{100 * result['mfu']:.1f}%" if result['mfu'] is not None else 'n/a'
    print(f"training: {clips:.2f} clips/s (median {step:.3f} s/iter, batch {args.batch}), "
          f"max memory {result['memory_mib']} MiB, {tflops:.2f} TFLOP/s, MFU {mfu}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('vit', help='stock vs project ViT train step')
    p.add_argument('--arch', default='b', help="'s', 'b', ... or a JSON dict of dims")
    p.add_argument('--frames', type=int, default=16)
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--steps', type=int, default=10)
    p.add_argument('--dtype', choices=('bf16', 'fp16', 'fp32'), default='bf16')
    p.add_argument('--cpu', action='store_true', help='even if a GPU is present')
    p.add_argument('--peak-tflops', type=float, default=None)
    p.add_argument('--json', default=None, help='also write the result here')
    t = sub.add_parser('train-log', help='throughput of a finished training run')
    t.add_argument('work_dir')
    t.add_argument('--batch', type=int, required=True)
    t.add_argument('--frames', type=int, default=16)
    t.add_argument('--size', type=int, default=224)
    t.add_argument('--dims', type=int, default=768)
    t.add_argument('--depth', type=int, default=12)
    t.add_argument('--peak-tflops', type=float, default=None)
    t.add_argument('--json', default=None)
    args = parser.parse_args()
    if args.cmd == 'vit':
        result = vit(args)
        print_vit(result)
    else:
        result = train_log(args)
    if args.json:
        from mmaction_ext.fileio import write_json
        write_json(args.json, result)


if __name__ == '__main__':
    main()
