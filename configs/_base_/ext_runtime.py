# Runtime shared by every mmaction_ext config: MMAction2's own defaults plus the plugin.
_base_ = 'mmaction::_base_/default_runtime.py'

custom_imports = dict(imports=['mmaction_ext'], allow_failed_imports=False)

# `--cfg-options data_root=DIR` moves every dataset path recorded as `parsed_data_paths`
# (config variables are resolved at parse time, so stock MMEngine would ignore it).
runner_type = 'DataRootRunner'

# DataLoader workers are started by a single-threaded fork server, not forked from the
# (multi-threaded) trainer: on Python < 3.12 such a fork can deadlock in the child
# (CPython gh-112275; seen as rare DDP hangs after "Saving checkpoint"). See
# mmaction_ext/compat/fork_server.py and docs/robustness.md.
env_cfg = dict(mp_cfg=dict(mp_start_method='forkserver'))

# MMEngine passes device_ids=[LOCAL_RANK] to DDP even for a CPU model, which DDP refuses;
# this wrapper drops them for CPU modules and is plain MMDistributedDataParallel on GPU.
model_wrapper_cfg = dict(
    type='DeviceAwareDDP', broadcast_buffers=False, find_unused_parameters=False)

# Checkpoints written atomically, the previous one kept until the new one is whole, and
# `last_checkpoint` repaired before `--resume auto` if a crash left it broken.
# Original VideoMAEv2/AMD/ADH-ViT files get MMEngine's layout before hooks such as
# EMAHook read them (in default_hooks, which merge by key, so custom_hooks cannot drop it).
# Evaluation is refused when a weight did not come from the checkpoint (fresh head,
# backbone-only file; tools/test.py --allow-partial-checkpoint overrides) or when the
# loader would not score each sample exactly once (drop_last, a repeating sampler).
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'),
                     original_checkpoint=dict(type='OriginalCheckpointHook'),
                     checkpoint_coverage=dict(type='CheckpointCoverageHook'),
                     sample_coverage=dict(type='SampleCoverageHook'),
                     # `--resume` with no checkpoint in the work dir is an error
                     resume_guard=dict(type='ResumeGuardHook'),
                     # `--resume` of a run whose data, batch or schedule changed is an error
                     resume_fingerprint=dict(type='ResumeFingerprintHook'),
                     # a second training run in a live run's work dir is an error
                     work_dir_lock=dict(type='WorkDirLockHook'),
                     # ranks that read different lists (or test other weights): an error
                     rank_agreement=dict(type='RankAgreementHook'),
                     # a batch of mixed clip sizes (zero-padded by the preprocessor): an error
                     uniform_clip_size=dict(type='UniformClipSizeHook'),
                     # a label outside the head, or class names/counts that disagree
                     # between lists, heads and checkpoints: an error naming both sides
                     class_agreement=dict(type='ClassAgreementHook'))
