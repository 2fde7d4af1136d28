"""Training-loop pieces registered into MMAction2/MMEngine registries."""
from .alternating_train_loop import AlternatingTrainLoop
from .alternation_state_hook import AlternationStateHook
from .atomic_local_backend import AtomicLocalBackend, register_atomic_local_backend
from .console_progress_hook import ConsoleProgressHook
from .device_aware_ddp import DeviceAwareDDP
from .hand_batch_sampler import AlternatingHandBatchSampler
from .hand_trace_hook import HandTraceHook
from .original_checkpoint_hook import OriginalCheckpointHook
from .safe_checkpoint_hook import SafeCheckpointHook

register_atomic_local_backend()

__all__ = ['DeviceAwareDDP', 'AlternatingTrainLoop', 'AlternationStateHook',
           'AlternatingHandBatchSampler', 'HandTraceHook', 'AtomicLocalBackend',
           'SafeCheckpointHook', 'OriginalCheckpointHook', 'ConsoleProgressHook']
