"""Runs under ``torchrun --nproc_per_node=2`` (gloo, CPU) for
tests/test_e2e/test_sharded_training.py.

One launch, several short Runner trainings in the same two processes (imports cost more
than the trainings): each scenario writes its checkpoints under OUT/<scenario>/ and the
tests compare the files.

    python -m torch.distributed.run --nproc_per_node=2 tests/sharded_worker.py \
        OUT HAVID_ROOT MOTION_ROOT KTH_ROOT [scenario ...]
"""
from __future__ import annotations

import copy
import json
import os
import sys

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import RUNNERS, init_default_scope
from mmengine.runner import Runner

import mmaction_ext  # noqa: F401
from mmaction_ext.utils.dist import init_cpu_distributed

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_CLASSES = dict(lh=3, rh=4)
TINY_ARCH = dict(embed_dims=32, depth=2, num_heads=2)
SHARDED = dict(runner_type='ShardedRunner',
               model_wrapper_cfg=dict(_delete_=True, type='ShardedDataParallel'))


def _pipeline() -> list:
    return [dict(type='DecordInit'),
            dict(type='SampleFrames', clip_len=4, num_clips=1, test_mode=True),
            dict(type='DecordDecode'), dict(type='Resize', scale=(32, 32), keep_ratio=False),
            dict(type='FormatShape', input_format='NCTHW'), dict(type='PackActionInputs')]


def _common(work_dir: str, with_cp: bool, max_iters: int) -> dict:
    return dict(
        _base_=os.path.join(REPO, 'configs/_base_/ext_runtime.py'),
        work_dir=work_dir, experiment_name=os.path.basename(work_dir),
        optim_wrapper=dict(
            optimizer=dict(type='AdamW', lr=1e-2, weight_decay=0.05),
            constructor='LearningRateDecayOptimizerConstructor',
            paramwise_cfg=dict(decay_rate=0.8, decay_type='layer_wise', num_layers=2),
            clip_grad=dict(max_norm=0.5)),
        param_scheduler=[dict(type='LinearLR', start_factor=0.2, by_epoch=False, begin=0,
                              end=3)],
        default_hooks=dict(logger=dict(interval=1),
                           checkpoint=dict(by_epoch=False, interval=3, max_keep_ckpts=-1,
                                           save_last=False)),
        log_processor=dict(by_epoch=False),
        randomness=dict(seed=0), launcher='pytorch',
        backbone=dict(type='MAEVisionTransformer', arch=TINY_ARCH, img_size=32, num_frames=4,
                      drop_path_rate=0.1, with_cp=with_cp),
        max_iters=max_iters)


class StateBytesHook(Hook):
    """Before the last optimizer step (gradients and Adam moments all exist), count the
    bytes this rank holds with bench/fsdp_memory.py's ``state_bytes``."""

    def before_train(self, runner) -> None:
        sys.path.insert(0, os.path.join(REPO, 'bench'))
        from fsdp_memory import state_bytes
        self.held = {}

        def count(optimizer, *_) -> None:
            self.held = state_bytes(runner.model, optimizer)

        runner.optim_wrapper.optimizer.register_step_pre_hook(count)


def single_head_cfg(motion: str, work_dir: str, sharded: bool, init: str,
                    max_iters: int = 6) -> dict:
    cfg = _common(work_dir, with_cp=sharded, max_iters=max_iters)
    backbone = cfg.pop('backbone')
    cfg.pop('max_iters')
    # 2 micro-batches per step: the wrappers' no_sync (DDP's and FSDP's) in play
    cfg['optim_wrapper']['accumulative_counts'] = 2
    cfg.update(
        model=dict(type='ViTRecognizer3D', backbone=backbone,
                   cls_head=dict(type='TimeSformerHead', num_classes=4, in_channels=32),
                   data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW',
                                          mean=[114.75] * 3, std=[57.4] * 3)),
        train_dataloader=dict(
            batch_size=2, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=dict(type='VideoDataset', ann_file=f'{motion}/train_list.txt',
                         data_prefix=dict(video=f'{motion}/videos'), pipeline=_pipeline())),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=1000),
        load_from=init)
    return _finish(cfg, sharded)


def dual_hand_cfg(havid: str, work_dir: str, sharded: bool, init: str | None,
                  max_iters: int = 6) -> dict:
    cfg = _common(work_dir, with_cp=False, max_iters=max_iters)
    backbone = cfg.pop('backbone')
    cfg.pop('max_iters')
    dataset = dict(type='HAViDDataset', data_root=havid, num_classes=NUM_CLASSES,
                   pipeline=_pipeline())
    cfg.update(
        model=dict(
            type='DualHandRecognizer', backbone=backbone,
            lh_head=dict(num_classes=3, in_channels=32),
            rh_head=dict(num_classes=4, in_channels=32),
            data_preprocessor=dict(
                type='ActionDataPreprocessor', format_shape='NCTHW', mean=[114.75] * 3,
                std=[57.4] * 3,
                blending=dict(type='HandAwareBlending', num_classes=NUM_CLASSES,
                              blending=dict(type='MixupBlending', alpha=0.4)))),
        train_dataloader=dict(
            batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
            batch_sampler=dict(type='AlternatingHandBatchSampler', switch_every=2),
            dataset=dict(dataset, split='train')),
        train_cfg=dict(type='AlternatingTrainLoop', max_iters=max_iters, val_interval=100),
        custom_hooks=[dict(type='EMAHook', momentum=0.1)],
        load_from=init)
    return _finish(cfg, sharded)


def _finish(cfg: dict, sharded: bool) -> dict:
    if sharded:
        cfg.update(copy.deepcopy(SHARDED))
    return cfg


def to_config(cfg: dict, options: dict | None = None) -> Config:
    """Write ``cfg`` as a config file (so ``_base_`` resolves), then apply ``options``
    the way ``--cfg-options`` does."""
    path = cfg['work_dir'] + '_cfg.py'
    if dist.get_rank() == 0:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            for key, value in cfg.items():
                f.write(f'{key} = {value!r}\n')
    dist.barrier()
    config = Config.fromfile(path)
    if options:
        config.merge_from_dict(options)
    return config


def build(config: Config) -> Runner:
    if 'runner_type' in config:
        return RUNNERS.build(config)
    return Runner.from_cfg(config)


def save_init(model_cfg: dict, path: str) -> str:
    """The same initial weights for the DDP and the sharded run (rank 0 writes)."""
    if dist.get_rank() == 0:
        init_default_scope('mmaction')
        from mmaction.registry import MODELS
        torch.manual_seed(1)
        model = MODELS.build(copy.deepcopy(model_cfg))
        model.init_weights()
        torch.save({'state_dict': model.state_dict()}, path)
    dist.barrier()
    return path


def save_original_init(path: str) -> str:
    """An original VideoMAEv2-format file (``module`` wrapper, ``head.*``, ``fc1``...):
    the sharded run converts it and slices it into its shards after sharding."""
    if dist.get_rank() == 0:
        from reference_vit import RefViT
        torch.manual_seed(1)
        ref = RefViT(dim=32, depth=2, heads=2, frames=4, size=32, num_classes=4)
        torch.save({'module': ref.state_dict()}, path)
    dist.barrier()
    return path


def scenario_single(out: str, motion: str) -> None:
    init = save_original_init(f'{out}/init_single_original.pth')
    for name, sharded in (('single_ddp', False), ('single_sharded', True)):
        runner = build(to_config(single_head_cfg(motion, f'{out}/{name}', sharded, init)))
        meter = StateBytesHook()
        runner.register_hook(meter)
        runner.train()
        with open(f'{out}/{name}/state_bytes_rank{dist.get_rank()}.json', 'w') as f:
            json.dump(meter.held, f)


def scenario_dual(out: str, havid: str) -> None:
    init = save_init(dual_hand_cfg(havid, f'{out}/x', False, None)['model'],
                     f'{out}/init_dual.pth')
    for name, sharded in (('dual_ddp', False), ('dual_sharded', True)):
        build(to_config(dual_hand_cfg(havid, f'{out}/{name}', sharded, init))).train()
    # resume the sharded run from its mid-epoch checkpoint (iteration 3 of 5 per epoch)
    cfg = to_config(dual_hand_cfg(havid, f'{out}/dual_resumed', True, None))
    cfg.resume, cfg.load_from = True, f'{out}/dual_sharded/iter_3.pth'
    build(cfg).train()


def _tiny_loader_options(loader: str) -> dict:
    return {f'{loader}.batch_size': 1, f'{loader}.num_workers': 0,
            f'{loader}.persistent_workers': False}


def scenario_configs(out: str, havid: str, kth: str) -> None:
    """The shipped configs, shrunk (architecture, data, schedule) as --cfg-options does."""
    tiny_g = dict(_delete_=True, embed_dims=32, depth=2, num_heads=2, patch_size=14,
                  mlp_ratio=48 / 11)
    options = {'model.backbone.arch': tiny_g, 'model.lh_head.in_channels': 32,
               'model.rh_head.in_channels': 32, 'model.backbone.pretrained': None,
               # one epoch (5 global batches), then sharded validation and a best
               # checkpoint saved from after_val_epoch (all ranks gather there too)
               'train_cfg': dict(_delete_=True, type='AlternatingTrainLoop', max_iters=5,
                                 val_interval=1),
               'train_dataloader.batch_sampler.switch_every': 1,
               'optim_wrapper.paramwise_cfg.num_layers': 2,
               'auto_scale_lr.enable': False, 'work_dir': f'{out}/cfg_vit_g',
               'default_hooks.checkpoint': dict(type='SafeCheckpointHook', by_epoch=False,
                                                interval=5, save_best='hand_acc/mean_top1',
                                                rule='greater')}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options.update(_tiny_loader_options(loader))
        options[f'{loader}.dataset.data_root'] = havid
    cfg = Config.fromfile(os.path.join(REPO, 'configs/havid_alternating_vit-g_fsdp.py'))
    cfg.merge_from_dict(options)
    cfg.launcher = 'pytorch'
    build(cfg).train()

    options = {'model.backbone.arch': dict(TINY_ARCH, _delete_=True),
               'model.cls_head.in_channels': 32, 'load_from': None,
               'train_cfg': dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2,
                                 val_interval=100),
               'optim_wrapper.paramwise_cfg.num_layers': 2, 'work_dir': f'{out}/cfg_vit_l',
               'log_processor': dict(by_epoch=False),
               'default_hooks.checkpoint': dict(type='SafeCheckpointHook', by_epoch=False,
                                                interval=2, save_best=None)}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options.update(_tiny_loader_options(loader))
        options.update({f'{loader}.dataset.data_prefix.video': kth,
                        f'{loader}.dataset.sequences_file': None,
                        f'{loader}.dataset.persons': 11, f'{loader}.dataset.scenarios': ['d1']})
    options['train_dataloader.sampler'] = dict(type='InfiniteSampler', shuffle=True)
    cfg = Config.fromfile(os.path.join(REPO, 'configs/kth_videomae_vit-l_fsdp.py'))
    cfg.merge_from_dict(options)
    cfg.launcher = 'pytorch'
    build(cfg).train()


def main(argv: list[str]) -> None:
    out, havid, motion, kth, *scenarios = argv
    init_cpu_distributed('pytorch')
    os.makedirs(out, exist_ok=True)
    scenarios = scenarios or ['single', 'dual', 'configs']
    if 'single' in scenarios:
        scenario_single(out, motion)
    if 'dual' in scenarios:
        scenario_dual(out, havid)
    if 'configs' in scenarios:
        scenario_configs(out, havid, kth)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1:])
