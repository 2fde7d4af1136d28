"""The position table step of the conversion: rebuild a fixed sinusoid, resample a
learned table for the configured token grid, never guess the grid it was trained for."""
from __future__ import annotations

import math
from typing import Any, Dict, Mapping, Tuple

from torch import Tensor

from .errors import CheckpointLoadError
from .pos_embed import grid_candidates, infer_pos_grid, interpolate_pos_embed, is_sinusoid_table
from .report import LoadReport


def _grid_hint(args: Any, patch_weight: Tensor | None) -> Tuple[int, int, int] | None:
    """(T', H', W') from saved args; patch and (if args lack it) tubelet from the weights."""
    try:
        p = patch_weight.shape[-1]
        tubelet = getattr(args, 'tubelet_size', None) or patch_weight.shape[2]
        s = int(args.input_size) // p
        return int(args.num_frames) // int(tubelet), s, s
    except (AttributeError, TypeError, ValueError):
        return None


def handle_pos_embed(out: Dict[str, Tensor], target: Mapping[str, Tensor], bb: str,
                      report: LoadReport, pos_grid: Tuple[int, int, int] | None,
                      args: Any) -> None:
    key = bb + 'pos_embed'
    if key not in target:
        return
    tgt = target[key]
    if pos_grid is None:
        pos_grid = infer_pos_grid(tgt.shape[1], (8, 0, 0))
    grid_txt = 'x'.join(map(str, pos_grid))
    if key not in out:
        if is_sinusoid_table(tgt):  # a function of the config, not a weight
            out[key] = tgt
            report.pos_embed = f'fixed sinusoid (not saved) built for {grid_txt} tokens'
            report.generated.append(key)
        return
    table = out[key]
    if table.dim() == 2:
        table = table.unsqueeze(0)
    if is_sinusoid_table(table):
        out[key] = tgt
        report.pos_embed = f'fixed sinusoid in checkpoint, rebuilt for {grid_txt} tokens'
        return
    if table.shape == tgt.shape:
        out[key] = table
        report.pos_embed = f'learned table loaded ({grid_txt} tokens)'
        return
    src, why = _source_grid(table.shape[1], args,
                            out.get(bb + 'patch_embed.projection.weight'))
    out[key] = interpolate_pos_embed(table, src, pos_grid)
    report.pos_embed = (f'learned table resampled {"x".join(map(str, src))} -> {grid_txt} '
                        f'(bicubic in space, linear in time; source grid: {why})')


def _source_grid(num_tokens: int, args: Any,
                 patch_weight: Tensor | None) -> Tuple[Tuple[int, int, int], str]:
    """The token grid a saved learned table was trained for: never a guess.

    From the saved ``args`` (num_frames, input_size) when they fit, else the only
    T x S x S grid with that many tokens; several candidates are refused.
    """
    hint = _grid_hint(args, patch_weight)
    if hint is not None and math.prod(hint) == num_tokens:
        return hint, 'grid from the saved args'
    fits = grid_candidates(num_tokens)
    if len(fits) == 1:
        return fits[0], f'the only grid with {num_tokens} tokens'
    shown = ', '.join('x'.join(map(str, g)) for g in fits) or 'none'
    raise CheckpointLoadError(
        f'the checkpoint\'s learned position table has {num_tokens} tokens and the file does '
        f'not record the clip it was trained with (no args.num_frames/args.input_size'
        + (f' that fit: they give {"x".join(map(str, hint))}' if hint else '')
        + f'), so its token grid (T x H x W) could be {shown}. Convert it once, naming that '
        f'clip: python tools/convert_checkpoint.py SRC DST --config CFG --frames F --size S '
        f'(frames and crop size of its training), then load DST.')
