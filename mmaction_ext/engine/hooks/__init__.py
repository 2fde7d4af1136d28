"""Hooks registered into MMAction2's ``HOOKS`` registry."""
from .alternation_state_hook import AlternationStateHook
from .checkpoint_coverage_hook import CheckpointCoverageHook
from .class_agreement_hook import ClassAgreementHook
from .console_progress_hook import ConsoleProgressHook
from .hand_trace_hook import HandTraceHook
from .original_checkpoint_hook import OriginalCheckpointHook
from .rank_agreement_hook import RankAgreementHook
from .resume_fingerprint_hook import ResumeFingerprintHook
from .resume_guard_hook import ResumeGuardHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .sample_coverage_hook import SampleCoverageHook
from .uniform_clip_size_hook import UniformClipSizeHook
from .work_dir_lock_hook import WorkDirLockHook

__all__ = ['AlternationStateHook', 'CheckpointCoverageHook', 'ClassAgreementHook',
           'ConsoleProgressHook', 'HandTraceHook', 'OriginalCheckpointHook', 'RankAgreementHook',
           'ResumeFingerprintHook', 'ResumeGuardHook', 'SafeCheckpointHook',
           'SampleCoverageHook', 'UniformClipSizeHook', 'WorkDirLockHook']
