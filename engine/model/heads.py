"""Output heads: one classifier per column, over that column's own vocabulary.

The seed used one tied 307-way head and *multiplied* the logits of other columns' classes by 0, so those
classes kept logit 0 and could still win the argmax. Here each column has its own head, MASK (the
absorbing state) is -inf so it is never emitted, and the global view fills other columns' classes with
-inf. The instrument head also sees the prompt: which instruments were asked for decides which categories
a generated track may take.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.model.aligned import ALIGNED_COLUMNS, ALIGNED_OFFSETS
from engine.model.config import ModelConfig
from engine.model.pitch_classes import pitch_class_table
from engine.model.rhythm import BAR_OFFSETS
from engine.representation.vocab import (
    COL_INSTRUMENT,
    COL_ONSET,
    COL_PITCH,
    COLUMN_OFFSETS,
    COLUMN_SIZES,
    FIRST_POS,
    GLOBAL_SIZE,
    MASK,
    N_COLUMNS,
)


class ColumnHeads(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.proj = nn.ModuleList([nn.Linear(cfg.cell_embed_dim, v) for v in COLUMN_SIZES])
        self.prompt_to_instrument = nn.Linear(cfg.d_model, cfg.cell_embed_dim)
        self.pitch_classes = cfg.pitch_classes
        if cfg.pitch_classes:  # one 12-way score shared by every octave of a pitch class (and by chords)
            self.register_buffer("pc_table", pitch_class_table(), persistent=False)
            self.pitch_class = nn.Linear(cfg.cell_embed_dim, 12, bias=False)
        self.rhythm_context = cfg.rhythm_context
        if cfg.rhythm_context:  # per row, how much to favour each neighbouring bar's onsets
            self.rhythm_gate = nn.Linear(cfg.cell_embed_dim, len(BAR_OFFSETS))
        self.copy_context = cfg.copy_context
        if cfg.copy_context:  # per cell, how much to favour each aligned row's class (a pointer)
            self.copy_gate = nn.ModuleList([nn.Linear(cfg.cell_embed_dim, len(ALIGNED_OFFSETS)) for _ in ALIGNED_COLUMNS])

    def logits_per_column(self, h: torch.Tensor, prompt: torch.Tensor,
                          rhythm: torch.Tensor | None = None,
                          aligned: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Per-cell hidden [B, R, 4, e] and prompt [B, d] -> [B, R, V_c] for each column, MASK = -inf.
        ``rhythm`` [B, R, O, P]: the neighbouring onsets (``rhythm_context``; None rounds without them).
        ``aligned`` [B, R, O, 3]: the aligned rows' token ids (``copy_context``; None: without them)."""
        out = []
        for c in range(N_COLUMNS):
            x = h[..., c, :]
            if c == COL_INSTRUMENT:
                x = x + self.prompt_to_instrument(prompt)[:, None, :]
            logits = self.proj[c](x)
            if c == COL_PITCH and self.pitch_classes:
                logits = logits + self.pitch_class(x) @ self.pc_table.T
            if c == COL_ONSET and rhythm is not None and self.rhythm_context:
                copy = torch.einsum("bro,brop->brp", self.rhythm_gate(x), rhythm.to(x.dtype))
                logits = torch.cat([logits[..., :FIRST_POS], logits[..., FIRST_POS:] + copy], dim=-1)
            if c in ALIGNED_COLUMNS and aligned is not None and self.copy_context:
                k = ALIGNED_COLUMNS.index(c)  # a MASK id points at MASK, which is -inf below anyway
                logits = logits.scatter_add(-1, aligned[..., k], self.copy_gate[k](x).to(logits.dtype))
            logits[..., MASK] = float("-inf")
            out.append(logits)
        return out

    def global_logits(self, h: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        """[B, R, 4, GLOBAL_SIZE]: column c's classes at COLUMN_OFFSETS[c], every other class -inf."""
        return to_global(self.logits_per_column(h, prompt))


def to_global(per_column: list[torch.Tensor]) -> torch.Tensor:
    """Scatter per-column logits into the global id space; classes of other columns get -inf (never 0)."""
    B, R = per_column[0].shape[:2]
    out = per_column[0].new_full((B, R, N_COLUMNS, GLOBAL_SIZE), float("-inf"))
    for c, logits in enumerate(per_column):
        out[:, :, c, COLUMN_OFFSETS[c] : COLUMN_OFFSETS[c] + COLUMN_SIZES[c]] = logits
    return out
