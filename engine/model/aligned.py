"""Aligned rows: for each row, the row that holds the same rank in its track's block one, two or four bars
away, as token ids.

Rows sit in blocks of one (bar, track), sorted by onset, and a regenerated block's slots are filled from
the first. A part that repeats a bar therefore repeats it row for row: slot k of bar b plays what row k of
bar b - 1 (or b - 4) played. The rhythm context (rhythm.py) gave each row the multi-hot of its track's
onsets in a neighbouring bar, which says *where* the track played but not *which slot* takes which onset;
its gate stayed near zero and groove did not move. Here each row gets one row per offset (its onset,
pitch and duration, embedded with the model's own token tables) and each head may point at the copied
class, so "play what this slot played a bar ago" is a direct read-out that still leaves the model free to
change it (a fill, a chord change, the end of a phrase).

What each offset says: the aligned row's known cells (MASK where not yet known: given cells, and in
absorbing sampling those committed so far); PAD when that bar lies inside the window but the track has
no row of that rank there (it played fewer notes, or none); MASK when that bar lies outside the window.
Chord and bar rows (track 0) get MASK.

Measured (model card, validation split, 92 regions): stage 4 + 1,200 CPU steps with this option gave
groove similarity 0.918 against 0.913 for the same steps without it (copy-previous-bars 0.919) and
evaluation perplexity 2.40 against 2.43, the 4-bar spans 0.927 against 0.919 and the melodies 0.852
against 0.840.
"""

from __future__ import annotations

import torch

from engine.model.blocks import block_rank
from engine.representation.vocab import COL_DURATION, COL_ONSET, COL_PITCH, MASK, PAD

ALIGNED_OFFSETS: tuple[int, ...] = (-4, -2, -1, 1, 2, 4)  # bars before (-) and after (+) a row
ALIGNED_COLUMNS: tuple[int, ...] = (COL_ONSET, COL_PITCH, COL_DURATION)


def aligned_plan(track_id: torch.Tensor, bar_index: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What ``aligned_rows`` reads, from the layout alone: (row index [B, R, O] of the same-rank row
    ``offset`` bars away, fill [B, R, O] = -1 where that row exists, else the PAD or MASK it gets).

    The layout does not change while a request is sampled, so samplers compute this once (the [B, R, R]
    comparisons are most of the cost) and ``gather_aligned`` reads the current tokens each step."""
    rank = block_rank(track_id, bar_index)
    big = torch.iinfo(bar_index.dtype).max
    first = torch.where(valid, bar_index, torch.full_like(bar_index, big)).min(1).values  # [B]
    last = torch.where(valid, bar_index, torch.full_like(bar_index, -1)).max(1).values
    is_part = valid & (track_id > 0)
    same = (track_id[:, :, None] == track_id[:, None, :]) & (rank[:, :, None] == rank[:, None, :])
    same &= is_part[:, :, None] & is_part[:, None, :]  # [B, i, j]
    gap = bar_index[:, None, :] - bar_index[:, :, None]  # bar of j minus bar of i
    index, fills = [], []
    for off in ALIGNED_OFFSETS:
        match = same & (gap == off)
        has = match.any(-1)  # [B, R]
        index.append(match.to(torch.int8).argmax(-1))  # the one matching row (0 where none)
        target = bar_index + off
        inside = (target >= first[:, None]) & (target <= last[:, None]) & is_part
        fill = torch.where(inside, torch.full_like(target, PAD), torch.full_like(target, MASK))
        fills.append(torch.where(has, torch.full_like(fill, -1), fill))
    return torch.stack(index, dim=2), torch.stack(fills, dim=2)


def gather_aligned(known: torch.Tensor, plan: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """long [B, R, O, len(ALIGNED_COLUMNS)]: ``aligned_rows`` from a precomputed ``aligned_plan``."""
    index, fill = plan
    B, R, n_off = index.shape
    cols = torch.tensor(ALIGNED_COLUMNS, device=known.device)
    content = known.index_select(2, cols)  # [B, R, C]
    got = content.gather(1, index.reshape(B, R * n_off, 1).expand(B, R * n_off, len(ALIGNED_COLUMNS)))
    got = got.view(B, R, n_off, len(ALIGNED_COLUMNS))
    return torch.where((fill < 0)[..., None], got, fill[..., None].expand_as(got))


def aligned_rows(known: torch.Tensor, track_id: torch.Tensor, bar_index: torch.Tensor,
                 valid: torch.Tensor) -> torch.Tensor:
    """long [B, R, len(ALIGNED_OFFSETS), len(ALIGNED_COLUMNS)]: token ids of the same-rank row of the same
    track ``offset`` bars away (see the module docstring for PAD and MASK)."""
    return gather_aligned(known, aligned_plan(track_id, bar_index, valid))
