"""Dual-hand recognition: one backbone, a head per hand, per-hand batch blending."""
from .dual_hand_recognizer import DualHandRecognizer
from .hand_blending import HandAwareBlending

__all__ = ['DualHandRecognizer', 'HandAwareBlending']
