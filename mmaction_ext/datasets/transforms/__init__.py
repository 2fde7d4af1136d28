"""Transforms registered into MMAction2's ``TRANSFORMS`` registry."""
from .confine_frame_range import ConfineFrameRange
from .fast_video_decode import FastVideoDecode
from .fast_video_init import FastVideoInit
from .repeat_augment import RepeatAugment
from .safe_decord_init import SafeDecordInit
from .spread_sample_frames import SpreadSampleFrames
from .video_rand_augment import VideoRandAugment

__all__ = ['ConfineFrameRange', 'FastVideoDecode', 'FastVideoInit', 'RepeatAugment',
           'SafeDecordInit', 'SpreadSampleFrames', 'VideoRandAugment']
