"""The 3-D input embedding: a table of rows x 4 cells becomes one vector per row.

Unlike the seed (a flat 512-token sequence where the 4 columns exist only as positions mod 4), each cell
is a vector [B, R, 4, e] and a row is the combination of its four cells. What the model needs to know
besides the cells is added per row: where the row is (row position, bar index), which of its cells are
given (so it knows what to fill), the prompt (tempo class, wanted instruments) and the diffusion time.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from engine.model.aligned import ALIGNED_COLUMNS, ALIGNED_OFFSETS
from engine.model.blocks import MAX_BLOCK_RANK, block_rank
from engine.model.config import ModelConfig
from engine.model.density import N_BUCKETS
from engine.model.pitch_classes import pitch_class_table
from engine.model.rhythm import BAR_OFFSETS, N_POSITIONS
from engine.representation.vocab import COL_PITCH, COLUMN_SIZES, N_CATEGORIES, N_COLUMNS, TEMPO_TOKENS


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal features of a (float) time [B] -> [B, dim], as in DDPM / DiffuSeq."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    return torch.nn.functional.pad(emb, (0, dim % 2))


class SAEmbedding(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        d, e = cfg.d_model, cfg.cell_embed_dim
        self.cfg = cfg
        # One table per column, MASK included (the absorbing state); also the embedding diffusion's x0.
        self.tokens = nn.ModuleList([nn.Embedding(v, e) for v in COLUMN_SIZES])
        if cfg.pitch_classes or cfg.chord_context:
            self.register_buffer("pc_table", pitch_class_table(), persistent=False)
        if cfg.pitch_classes:  # a note and the chords that contain its pitch class share directions
            self.pitch_class = nn.Linear(12, e, bias=False)
        # "concat": Linear(4e -> d), keeps which column said what. "sum": BERT-style sum of the 4 cells
        # (plus a learned column vector so the columns stay distinguishable), projected if e != d.
        if cfg.combine == "concat":
            self.combine = nn.Linear(N_COLUMNS * e, d)
        else:
            self.column = nn.Parameter(torch.zeros(N_COLUMNS, e))
            self.combine = nn.Linear(e, d) if e != d else nn.Identity()
        self.row_pos = nn.Embedding(cfg.max_rows, d)
        self.bar = nn.Embedding(cfg.max_bars, d)
        # The row's rank inside its (bar, track) block: slot k of a regenerated block. Real notes fill the
        # first slots and PAD the rest, so "how far into the block" is what tells a note from an empty
        # slot; without it a model trained 1,500 steps gave every slot the same P(PAD) = 0.48.
        self.block_rank = nn.Embedding(MAX_BLOCK_RANK, d)
        if cfg.chord_context:  # the chord under the row's onset, as pitch classes
            self.chord = nn.Linear(12, d, bias=False)
        if cfg.rhythm_context:  # the track's onsets in the bars around the row
            self.rhythm = nn.Linear(len(BAR_OFFSETS) * N_POSITIONS, d, bias=False)
        if cfg.copy_context:  # the same-rank rows of the track in the bars around, in the token tables
            self.aligned = nn.Linear(len(ALIGNED_OFFSETS) * len(ALIGNED_COLUMNS) * e, d, bias=False)
        if cfg.density_condition:  # the part's notes per bar (density.py), 0 = unknown
            self.density = nn.Embedding(N_BUCKETS, d)
        self.given_pattern = nn.Embedding(2**N_COLUMNS, d)  # 4 bits per row: which cells are conditions
        # Prompt: tempo class (NULL = unknown/dropped) + instrument multi-hot (all zeros = no prompt).
        self.tempo = nn.Embedding(len(TEMPO_TOKENS), d)
        self.instruments = nn.Linear(N_CATEGORIES, d)
        self.no_instruments = nn.Parameter(torch.zeros(d))
        self.time = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        self.norm = nn.LayerNorm(d)
        self.drop = nn.Dropout(cfg.dropout)

    def embed_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """Column-local ids [B, R, 4] -> cell vectors [B, R, 4, e] (each column in its own table)."""
        cells = [self.tokens[c](tokens[..., c]) for c in range(N_COLUMNS)]
        if self.cfg.pitch_classes:
            cells[COL_PITCH] = cells[COL_PITCH] + self.pitch_class(self.pc_table[tokens[..., COL_PITCH]])
        return torch.stack(cells, dim=-2)

    def prompt(self, tempo: torch.Tensor, instruments: torch.Tensor) -> torch.Tensor:
        """tempo [B] long, instruments [B, 18] multi-hot (a zero row = no prompt) -> [B, d]."""
        instruments = instruments.float()
        has = instruments.sum(-1, keepdim=True) > 0
        return self.tempo(tempo) + torch.where(has, self.instruments(instruments), self.no_instruments)

    def forward(
        self,
        cells: torch.Tensor,
        given: torch.Tensor,
        track_id: torch.Tensor,
        bar_index: torch.Tensor,
        t: torch.Tensor,
        prompt: torch.Tensor,
        chord: torch.Tensor | None = None,
        rhythm: torch.Tensor | None = None,
        aligned: torch.Tensor | None = None,
        rank: torch.Tensor | None = None,
        density: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """cells [B, R, 4, e], given [B, R, 4] bool, track_id and bar_index [B, R], t [B] float,
        prompt [B, d], chord [B, R, 12] (with ``chord_context``), rhythm [B, R, O, P] (with
        ``rhythm_context``), aligned [B, R, O, 3] token ids (with ``copy_context``), rank [B, R] the
        rows' ``block_rank`` when computed beforehand, density [B, R] the rows' density buckets (with
        ``density_condition``; None = all unknown) -> [B, R, d]."""
        B, R = cells.shape[:2]
        if R > self.cfg.max_rows:
            raise ValueError(f"{R} rows exceed the model's max_rows {self.cfg.max_rows}")
        # A window of a sparse song can span more bars than max_bars: those bars share the last bar
        # embedding (row positions and the bar heads still tell them apart) instead of failing an infill.
        bar_index = bar_index.clamp(0, self.cfg.max_bars - 1)
        if self.cfg.combine == "concat":
            x = self.combine(cells.reshape(B, R, -1))
        else:
            x = self.combine((cells + self.column).sum(dim=-2))
        bits = (given.long() << torch.arange(N_COLUMNS, device=given.device)).sum(-1)
        x = x + self.row_pos(torch.arange(R, device=cells.device))[None]
        x = x + self.bar(bar_index) + self.block_rank(block_rank(track_id, bar_index) if rank is None else rank) + self.given_pattern(bits)
        if self.cfg.chord_context:
            if chord is None:
                raise ValueError("a chord_context model needs the sounding chord of every row")
            x = x + self.chord(chord)
        if self.cfg.rhythm_context:
            if rhythm is None:
                raise ValueError("a rhythm_context model needs the neighbouring onsets of every row")
            x = x + self.rhythm(rhythm.flatten(2))
        if self.cfg.copy_context:
            if aligned is None:
                raise ValueError("a copy_context model needs the aligned rows of every row")
            vecs = [self.tokens[c](aligned[..., k]) for k, c in enumerate(ALIGNED_COLUMNS)]  # [B, R, O, e] each
            x = x + self.aligned(torch.stack(vecs, dim=-2).flatten(2))
        if self.cfg.density_condition:
            x = x + self.density(torch.zeros_like(track_id) if density is None else density)
        x = x + (prompt + self.time(timestep_embedding(t, self.cfg.d_model)))[:, None, :]
        return self.drop(self.norm(x))
