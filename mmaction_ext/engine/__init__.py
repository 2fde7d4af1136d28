"""Training-loop pieces registered into MMAction2/MMEngine registries."""
from .alternating_train_loop import AlternatingTrainLoop
from .alternation_state_hook import AlternationStateHook
from .device_aware_ddp import DeviceAwareDDP
from .hand_batch_sampler import AlternatingHandBatchSampler
from .hand_trace_hook import HandTraceHook

__all__ = ['DeviceAwareDDP', 'AlternatingTrainLoop', 'AlternationStateHook',
           'AlternatingHandBatchSampler', 'HandTraceHook']
