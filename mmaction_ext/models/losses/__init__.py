"""Losses registered into MMAction2's ``MODELS`` registry."""
from .ms_tcn_loss import MSTCNLoss

__all__ = ['MSTCNLoss']
