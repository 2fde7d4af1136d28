"""evaluation registered into MMAction2's registries."""
from .hand_acc_metric import HandAccMetric  # noqa: F401
