"""datasets registered into MMAction2's registries."""
from .confine_frame_range import ConfineFrameRange  # noqa: F401
from .fast_video_decode import FastVideoDecode  # noqa: F401
from .fast_video_init import FastVideoInit  # noqa: F401
from .havid_dataset import HAViDDataset  # noqa: F401
from .kth_dataset import KTHDataset  # noqa: F401
from .repeat_augment import RepeatAugment  # noqa: F401
from .safe_decord_init import SafeDecordInit  # noqa: F401
from .video_rand_augment import VideoRandAugment  # noqa: F401
