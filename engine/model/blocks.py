"""Blocks: the run of rows of one (bar, track), and each row's rank inside it.

Rows of a bar's part sit together, sorted by onset; a regenerated block's slots are filled from the first.
The rank is what tells slot k from slot k + 1 (embedding.py) and what lines up a bar with the bar it
repeats (aligned.py).
"""

from __future__ import annotations

import torch

MAX_BLOCK_RANK = 64  # ranks past this share the last embedding


def block_rank(track_id: torch.Tensor, bar_index: torch.Tensor) -> torch.Tensor:
    """[B, R] rank of each row inside its run of rows with the same (bar, track): 0, 1, 2, ..."""
    B, R = track_id.shape
    pos = torch.arange(R, device=track_id.device).expand(B, R)
    new_block = torch.ones_like(track_id, dtype=torch.bool)
    new_block[:, 1:] = (track_id[:, 1:] != track_id[:, :-1]) | (bar_index[:, 1:] != bar_index[:, :-1])
    start = torch.where(new_block, pos, torch.zeros_like(pos)).cummax(dim=1).values
    return (pos - start).clamp(max=MAX_BLOCK_RANK - 1)
