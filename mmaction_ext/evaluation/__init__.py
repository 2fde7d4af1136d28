"""evaluation registered into MMAction2's registries."""
from .hand_acc_metric import HandAccMetric  # noqa: F401
from .temporal_segmentation_metric import TemporalSegmentationMetric  # noqa: F401
