"""Small, learnable synthetic videos in real formats (for tests, demos and benchmarks).

Real KTH/HA-ViD videos and real weights cannot be downloaded here, so the project tests
its real loading code on files it writes itself. A clip's label decides its motion, so a
short CPU training run shows that learning happens end to end.
"""
from .classification import make_classification_dataset
from .havid import make_havid_dataset
from .long_video import make_long_havid_video
from .motion import motion_for_label, render_clip
from .video_io import write_video

__all__ = ['motion_for_label', 'render_clip', 'write_video', 'make_classification_dataset',
           'make_havid_dataset', 'make_long_havid_video']
