"""Helpers on top of MMAction2's stock inference APIs (``init_recognizer``,
``inference_recognizer``, ``MMAction2Inferencer``), which work with the plugin as is."""
from .hand_results import hand_classes, hand_predictions

__all__ = ['hand_classes', 'hand_predictions']
