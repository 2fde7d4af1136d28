"""Recognizers."""
from .vit_recognizer import ViTRecognizer3D

__all__ = ['ViTRecognizer3D']
