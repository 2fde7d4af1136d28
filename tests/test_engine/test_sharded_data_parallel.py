"""ShardedDataParallel / ShardedRunner in one process (a 1-rank gloo group): loading,
gathering, optimizer-state sharding, refusals. Real 2-rank sharding is in
tests/test_e2e/test_sharded_training.py."""
from __future__ import annotations

import datetime

import pytest
import torch
import torch.distributed as dist
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from reference_vit import RefViT
from torch.distributed.tensor import DTensor

from mmaction_ext.engine import ShardedDataParallel
from mmaction_ext.engine.runner.sharded_runner import ShardedRunner


@pytest.fixture(autouse=True)
def mmaction_scope():
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


@pytest.fixture
def group(tmp_path):
    if dist.is_initialized():
        pytest.skip('a process group already exists in this process')
    store = dist.FileStore(str(tmp_path / 'store'), 1)
    dist.init_process_group('gloo', store=store, rank=0, world_size=1,
                            timeout=datetime.timedelta(seconds=60))
    yield
    dist.destroy_process_group()


def recognizer(seed: int = 0):
    torch.manual_seed(seed)
    model = MODELS.build(dict(
        type='ViTRecognizer3D',
        backbone=dict(type='MAEVisionTransformer', arch=dict(embed_dims=32, depth=2,
                                                             num_heads=2),
                      img_size=32, num_frames=4),
        cls_head=dict(type='TimeSformerHead', num_classes=4, in_channels=32),
        data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW')))
    return model


def _loss(wrapper) -> torch.Tensor:
    from mmaction.structures import ActionDataSample
    torch.manual_seed(5)
    samples = [ActionDataSample().set_gt_label(torch.tensor(i)) for i in range(2)]
    return wrapper(torch.randn(2, 1, 3, 4, 32, 32), samples, mode='loss')['loss_cls']


def test_refuses_without_a_process_group():
    if dist.is_initialized():
        pytest.skip('a process group already exists in this process')
    with pytest.raises(RuntimeError, match='--launcher pytorch'):
        ShardedDataParallel(recognizer())


def test_names_a_wrong_unit_list(group):
    with pytest.raises(ValueError, match="'backbone.blokcs'.*backbone.blocks"):
        ShardedDataParallel(recognizer(), unit_lists=('backbone.blokcs',))
    with pytest.raises(ValueError, match="'backbone' is a MAEVisionTransformer, not a Module"):
        ShardedDataParallel(recognizer(), unit_lists=('backbone',))
    with pytest.raises(ValueError, match="mixed_precision='fp16'"):
        ShardedDataParallel(recognizer(), mixed_precision='fp16')


def test_shards_per_block_and_initialises_before(group):
    model = recognizer()
    wrapper = ShardedDataParallel(model)
    assert model.is_init  # init_weights ran before sharding
    assert all(isinstance(p, DTensor) for p in model.parameters())
    from torch.distributed.fsdp import FSDPModule
    assert isinstance(model, FSDPModule)
    assert all(isinstance(block, FSDPModule) for block in model.backbone.blocks)
    assert not isinstance(model.cls_head, FSDPModule)  # heads are in the root unit
    assert wrapper.mixed_precision is None  # 'auto' on CPU: fp32


def test_original_checkpoint_loads_into_shards_like_into_a_plain_model(group, tmp_path):
    torch.manual_seed(3)
    path = str(tmp_path / 'original.pth')
    torch.save({'module': RefViT(dim=32, depth=2, heads=2, num_classes=4).state_dict()}, path)
    plain = recognizer()
    plain.init_weights()
    load_checkpoint(plain, path)
    sharded = recognizer(seed=1)  # other initial weights: all must be overwritten
    wrapper = ShardedDataParallel(sharded)
    load_checkpoint(sharded, path)  # what load_from / tools/test.py do
    assert sharded.last_load_report.heads['cls_head'].startswith('kept')
    with wrapper.full_state():
        gathered = sharded.state_dict()
    assert gathered.keys() == plain.state_dict().keys()
    for key, value in plain.state_dict().items():
        assert type(gathered[key]) is torch.Tensor
        assert torch.equal(gathered[key], value), key
    assert isinstance(sharded.state_dict()['cls_head.fc_cls.weight'], DTensor)  # restored


def test_optimizer_state_round_trip(group):
    model = recognizer()
    wrapper = ShardedDataParallel(model)
    optimizer = torch.optim.AdamW(wrapper.parameters(), lr=1e-2)
    _loss(wrapper).backward()
    optimizer.step()
    with wrapper.full_state(optimizer):
        saved = optimizer.state_dict()
    name = 'backbone.blocks.0.attn.qkv.weight'
    full = saved['state'][name]['exp_avg']
    assert type(full) is torch.Tensor
    # a fresh sharded model + optimizer resumes: full states are sliced into shards
    model2 = recognizer()
    wrapper2 = ShardedDataParallel(model2)
    optimizer2 = torch.optim.AdamW(wrapper2.parameters(), lr=1e-2)
    assert wrapper2.shard_optimizer_state_dict(optimizer2, saved) == \
        2 * len(list(model2.parameters()))  # exp_avg and exp_avg_sq of every parameter
    optimizer2.load_state_dict(saved)
    param = dict(model2.named_parameters())[name]
    restored = optimizer2.state[param]['exp_avg']
    assert isinstance(restored, DTensor)
    assert torch.equal(restored.full_tensor(), full)


def test_cpu_offload_trains(group):
    model = recognizer()
    wrapper = ShardedDataParallel(model, cpu_offload=True)
    optimizer = torch.optim.AdamW(wrapper.parameters(), lr=1e-2)
    before = {k: v.full_tensor().clone() for k, v in model.state_dict().items()
              if isinstance(v, DTensor)}
    _loss(wrapper).backward()
    optimizer.step()
    moved = [k for k, v in model.state_dict().items()
             if k in before and not torch.equal(v.full_tensor(), before[k])]
    assert moved


@pytest.mark.parametrize('extra,error', [
    (dict(custom_hooks=[dict(type='EMAHook', ema_type='MomentumAnnealingEMA')]),
     'MomentumAnnealingEMA'),
    (dict(optim_wrapper=dict(type='AmpOptimWrapper', dtype='bfloat16',
                             optimizer=dict(type='AdamW', lr=1e-3))), '--amp'),
])
def test_runner_refuses_what_it_cannot_shard(group, tmp_path, extra, error):
    cfg = dict(
        model=dict(type='ViTRecognizer3D',
                   backbone=dict(type='MAEVisionTransformer',
                                 arch=dict(embed_dims=32, depth=1, num_heads=2),
                                 img_size=32, num_frames=4),
                   cls_head=dict(type='TimeSformerHead', num_classes=4, in_channels=32),
                   data_preprocessor=dict(type='ActionDataPreprocessor',
                                          format_shape='NCTHW')),
        work_dir=str(tmp_path), launcher='pytorch', default_scope='mmaction',
        model_wrapper_cfg=dict(type='ShardedDataParallel'),
        train_dataloader=dict(batch_size=1, dataset=dict(type='VideoDataset', ann_file='',
                                                         pipeline=[]),
                              sampler=dict(type='DefaultSampler')),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)))
    cfg.update(extra)
    from mmengine.config import Config
    runner = ShardedRunner.from_cfg(Config(cfg))
    assert isinstance(runner.model, ShardedDataParallel)
    with pytest.raises(NotImplementedError, match=error):
        runner.train()


def test_idle_head_gradients_released_from_dtensors(group):
    """DualHandRecognizer.release_idle_head_grads on sharded (DTensor) gradients: after
    a left-hand batch the right head keeps its weights although Adam has momentum."""
    from mmaction.structures import ActionDataSample
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='DualHandRecognizer',
        backbone=dict(type='MAEVisionTransformer', arch=dict(embed_dims=32, depth=1,
                                                             num_heads=2),
                      img_size=32, num_frames=4),
        lh_head=dict(num_classes=3, in_channels=32), rh_head=dict(num_classes=4, in_channels=32),
        data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW')))
    wrapper = ShardedDataParallel(model)
    optimizer = torch.optim.AdamW(wrapper.parameters(), lr=1e-2)

    def release(*_) -> None:  # as AlternatingTrainLoop installs it
        model.release_idle_head_grads()

    optimizer.register_step_pre_hook(release)

    def step(hand: str) -> None:
        samples = [ActionDataSample(metainfo=dict(hand=hand)).set_gt_label(torch.tensor(1))
                   for _ in range(2)]
        losses = wrapper(torch.randn(2, 1, 3, 4, 32, 32), samples, mode='loss')
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optimizer.step()
        optimizer.zero_grad()

    step('rh')  # the right head now has Adam momentum
    rh_before = model.rh_head.fc_cls.weight.full_tensor().clone()
    lh_before = model.lh_head.fc_cls.weight.full_tensor().clone()
    step('lh')
    assert torch.equal(model.rh_head.fc_cls.weight.full_tensor(), rh_before)
    assert not torch.equal(model.lh_head.fc_cls.weight.full_tensor(), lh_before)


def test_sharded_ema_mirrors_the_model_and_swaps_in_place(group):
    """EMAHook swaps averaged and live weights by parameters()/buffers() order; the swap
    must reach FSDP's own shard storage (what the next forward all-gathers)."""
    from mmengine.hooks import EMAHook

    from mmaction_ext.engine import ShardedExponentialMovingAverage
    model = recognizer()
    wrapper = ShardedDataParallel(model)
    ema = ShardedExponentialMovingAverage(model, momentum=0.5)
    assert [n for n, _ in ema.module.named_parameters()] == \
        [n for n, _ in model.named_parameters()]
    assert [n for n, _ in ema.module.named_buffers()] == [n for n, _ in model.named_buffers()]
    assert ema.state_dict().keys() == {'module.' + k for k in model.state_dict()} | {'steps'}
    ema.update_parameters(model)
    optimizer = torch.optim.AdamW(wrapper.parameters(), lr=1e-1)
    _loss(wrapper).backward()
    optimizer.step()
    ema.update_parameters(model)  # now EMA = halfway between old and new weights
    hook = EMAHook()
    hook.ema_model, hook.src_model = ema, model
    wrapper.eval()
    averaged_weights = {k: v.full_tensor().clone() for k, v in ema.module.named_parameters()}
    with torch.no_grad():
        live = _loss(wrapper)
        hook._swap_ema_parameters()  # before validation
        for name, param in model.named_parameters():
            assert torch.equal(param.full_tensor(), averaged_weights[name]), name
        averaged = _loss(wrapper)  # the forward all-gathers the swapped-in shards
        hook._swap_ema_parameters()  # after validation
        assert torch.equal(_loss(wrapper), live)
    assert not torch.equal(averaged, live)
    # the same loss from a plain model holding the averaged weights: every unit (the
    # root's patch embedding and head too) computed with the swapped-in shards
    plain = recognizer()
    plain.load_state_dict(averaged_weights, strict=False)
    plain.eval()
    with torch.no_grad():
        assert torch.allclose(_loss(plain), averaged, atol=1e-6)


def test_bf16_blocks_fp32_heads(group):
    """bf16 compute (what 'auto' picks on GPU): the blocks in bf16, the root (heads, loss)
    in fp32, since MMAction2's heads turn scores into numpy, which has no bf16."""
    reference = ShardedDataParallel(recognizer(), mixed_precision=None)
    model = recognizer()
    wrapper = ShardedDataParallel(model, mixed_precision='bf16')
    seen = {}

    def note(name: str):
        def hook(module, inputs, output) -> None:
            seen.setdefault(name, output.dtype)
        return hook

    model.backbone.blocks[0].mlp.register_forward_hook(note('block'))
    model.cls_head.fc_cls.register_forward_hook(note('head'))
    loss = _loss(wrapper)
    assert seen == {'block': torch.bfloat16, 'head': torch.float32}
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(_loss(reference).item(), rel=2e-2)
    loss.backward()
    assert all(p.grad.dtype == torch.float32 for p in model.parameters())
