"""Backbones: the VideoMAEv2 / AMD ViT."""
from .mae_vit import ARCH_SETTINGS, MAEVisionTransformer

__all__ = ['MAEVisionTransformer', 'ARCH_SETTINGS']
