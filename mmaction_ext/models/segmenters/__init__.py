"""Temporal action segmenters over per-frame features, registered into ``MODELS``."""
from .dual_hand_ms_tcn import DualHandMSTCN
from .ms_tcn import MSTCN

__all__ = ['MSTCN', 'DualHandMSTCN']
