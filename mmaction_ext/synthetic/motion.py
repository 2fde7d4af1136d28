"""Render clips whose motion is decided by the label.

Each labelled region holds a textured square on a noisy background. The label picks the
square's velocity (one of 8 directions times a speed), so no single frame tells the
class: a model has to compare frames. Colours, start position and noise are random.
"""
from __future__ import annotations

import math

import numpy as np

Region = tuple[int, int, int, int]  # x0, y0, x1, y1 (pixels, exclusive end)


def motion_for_label(label: int, num_classes: int) -> tuple[float, float]:
    """Velocity (dx, dy) in units of the region's size per frame for ``label``.

    Directions go round the compass first (8 of them), then speeds grow, so classes
    that are close in index differ in direction rather than in a hard-to-see speed.
    """
    if not 0 <= label < num_classes:
        raise ValueError(f'label {label} outside [0, {num_classes})')
    directions = min(num_classes, 8)
    angle = 2 * math.pi * (label % directions) / directions
    speed = 0.035 * (1 + label // directions)
    return speed * math.cos(angle), speed * math.sin(angle)


def _draw_region(frames: np.ndarray, region: Region, label: int, num_classes: int,
                 rng: np.random.Generator) -> None:
    x0, y0, x1, y1 = region
    w, h = x1 - x0, y1 - y0
    side = max(4, int(0.25 * min(w, h)))
    dx, dy = motion_for_label(label, num_classes)
    colour = rng.integers(120, 256, size=3)
    texture = rng.integers(0, 60, size=(side, side, 1))
    patch = np.clip(colour[None, None, :] - texture, 0, 255).astype(np.uint8)
    # Start where the whole trajectory fits, so the square never bounces: a bounce
    # reverses the motion and would make the clip look like another class.
    px = _start(rng, w - side, dx * w * (frames.shape[0] - 1))
    py = _start(rng, h - side, dy * h * (frames.shape[0] - 1))
    for t in range(frames.shape[0]):
        x = _reflect(px + dx * w * t, w - side)
        y = _reflect(py + dy * h * t, h - side)
        xi, yi = x0 + int(round(x)), y0 + int(round(y))
        frames[t, yi:yi + side, xi:xi + side] = patch


def _start(rng: np.random.Generator, room: float, travel: float) -> float:
    """A start coordinate in [0, room] from which ``travel`` pixels stay inside."""
    slack = room - abs(travel)
    if slack <= 0:  # too fast to fit: start centred, the walls reflect it
        return max(0.0, room / 2 - travel / 2)
    return rng.uniform(0, slack) + max(0.0, -travel)


def _reflect(v: float, limit: float) -> float:
    """Fold a coordinate back into [0, limit] as a ball bouncing off the walls."""
    if limit <= 0:
        return 0.0
    period = 2 * limit
    v = v % period
    return period - v if v > limit else v


def render_clip(regions: list[tuple[Region, int]], num_classes: int, num_frames: int,
                height: int, width: int, rng: np.random.Generator,
                noise: int = 20) -> np.ndarray:
    """Render a clip ``(T, H, W, 3)`` uint8 with one moving square per region.

    Args:
        regions: ``[(region, label), ...]``; e.g. two halves of the frame for two hands.
        num_classes: classes of the labels (decides the set of motions).
        num_frames, height, width: clip shape.
        rng: random generator (appearance, start position, noise).
        noise: amplitude of the per-pixel background noise.
    """
    base = rng.integers(0, 80, size=(1, 1, 1, 3))
    frames = (base + rng.integers(0, noise + 1, size=(num_frames, height, width, 1)))
    frames = frames.astype(np.uint8)
    for region, label in regions:
        _draw_region(frames, region, label, num_classes, rng)
    return frames
