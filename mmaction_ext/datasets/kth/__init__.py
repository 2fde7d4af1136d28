"""KTH: the dataset, its file names, its ``00sequences.txt`` and its folder tree."""
from .kth_dataset import KTHDataset

__all__ = ['KTHDataset']
