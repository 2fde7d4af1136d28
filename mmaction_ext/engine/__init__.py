"""Training-loop pieces registered into MMAction2/MMEngine registries."""
import torch.distributed

from .alternating_train_loop import AlternatingTrainLoop
from .alternation_state_hook import AlternationStateHook
from .atomic_local_backend import AtomicLocalBackend, register_atomic_local_backend
from .checkpoint_coverage_hook import CheckpointCoverageHook
from .console_progress_hook import ConsoleProgressHook
from .data_root_runner import DataRootRunner
from .device_aware_ddp import DeviceAwareDDP
from .hand_batch_sampler import AlternatingHandBatchSampler
from .hand_trace_hook import HandTraceHook
from .original_checkpoint_hook import OriginalCheckpointHook
from .resume_fingerprint_hook import ResumeFingerprintHook
from .resume_guard_hook import ResumeGuardHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .sample_coverage_hook import SampleCoverageHook
from .work_dir_lock_hook import WorkDirLockHook

register_atomic_local_backend()

if torch.distributed.is_available():  # sharded training needs torch.distributed (FSDP2)
    from .sharded_data_parallel import ShardedDataParallel
    from .sharded_ema import ShardedExponentialMovingAverage
    from .sharded_runner import ShardedRunner

__all__ = ['DeviceAwareDDP', 'AlternatingTrainLoop', 'AlternationStateHook',
           'AlternatingHandBatchSampler', 'HandTraceHook', 'AtomicLocalBackend',
           'SafeCheckpointHook', 'OriginalCheckpointHook', 'DataRootRunner',
           'CheckpointCoverageHook', 'SampleCoverageHook', 'ResumeGuardHook',
           'WorkDirLockHook', 'ResumeFingerprintHook', 'ShardedDataParallel',
           'ShardedRunner', 'ShardedExponentialMovingAverage', 'ConsoleProgressHook']
