"""SAModel: embedding -> long-axis BERT encoder -> per-cell hidden -> per-column heads.

One network serves both diffusion kinds. Absorbing diffusion feeds token ids (MASK where not yet known) and
reads the logits; embedding diffusion feeds noisy cell vectors and reads the per-cell hidden state as its
prediction of the clean embedding x0 (the logits then round it back to tokens).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from engine.model.aligned import aligned_plan, gather_aligned
from engine.model.attention import LongAxisEncoder, long_axis_mask
from engine.model.blocks import block_rank
from engine.model.config import ModelConfig
from engine.model.embedding import SAEmbedding
from engine.model.heads import ColumnHeads
from engine.model.pitch_classes import sounding_chord
from engine.model.rhythm import neighbour_onsets
from engine.representation.vocab import N_COLUMNS


class SAOutput(NamedTuple):
    hidden: torch.Tensor  # [B, R, 4, e] per-cell hidden (embedding diffusion: the x0 prediction)
    logits: list[torch.Tensor]  # per column [B, R, V_c], MASK = -inf


class RowStructure(NamedTuple):
    """What the network derives from the row layout alone (track_id, bar_index, valid). The layout is
    fixed while one request is sampled, so samplers build this once (``SAModel.structure``) instead of
    at every step: on a 256-row window the [B, R, R] masks and comparisons are ~15 % of a step."""

    mask: torch.Tensor  # float [B, H, R, R] long-axis attention mask, additive (0 = may attend, -inf = not)
    rank: torch.Tensor  # long [B, R] rank of each row in its (bar, track) block
    aligned: tuple[torch.Tensor, torch.Tensor] | None  # aligned.aligned_plan (copy_context models)


class SAModel(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embedding = SAEmbedding(cfg)
        self.encoder = LongAxisEncoder(cfg)
        self.to_cells = nn.Linear(cfg.d_model, N_COLUMNS * cfg.cell_embed_dim)
        self.heads = ColumnHeads(cfg)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        # BERT/nanoGPT-style N(0, 0.02) for projections and position-like tables. The token tables keep
        # PyTorch's N(0, 1): they are the embedding diffusion's x0, whose scale is set against unit noise.
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, SAEmbedding):
            for table in (m.row_pos, m.bar, m.given_pattern, m.tempo):
                nn.init.normal_(table.weight, std=0.02)
            if m.cfg.chord_context:  # heard from the start next to the N(0, 1)-scaled cells
                nn.init.normal_(m.chord.weight, std=1.0)
            if m.cfg.pitch_classes:  # on the token tables' N(0, 1) scale, or the pitch classes start unheard
                nn.init.normal_(m.pitch_class.weight, std=1.0)
            if m.cfg.rhythm_context:  # zero: adding it to a trained model changes nothing until trained
                nn.init.zeros_(m.rhythm.weight)
            if m.cfg.copy_context:
                nn.init.zeros_(m.aligned.weight)
            if m.cfg.density_condition:  # zero: a trained model goes on training with it unchanged
                nn.init.zeros_(m.density.weight)
        elif isinstance(m, ColumnHeads):
            if m.rhythm_context:
                nn.init.zeros_(m.rhythm_gate.weight)
            if m.copy_context:
                for gate in m.copy_gate:
                    nn.init.zeros_(gate.weight)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def prompt(self, tempo: torch.Tensor, instruments: torch.Tensor) -> torch.Tensor:
        return self.embedding.prompt(tempo, instruments)

    def logits(self, hidden: torch.Tensor, tempo: torch.Tensor, instruments: torch.Tensor) -> list[torch.Tensor]:
        """Round per-cell vectors [B, R, 4, e] to per-column logits without running the encoder."""
        return self.heads.logits_per_column(hidden, self.prompt(tempo, instruments))

    def structure(self, track_id: torch.Tensor, bar_index: torch.Tensor, valid: torch.Tensor) -> RowStructure:
        """The layout-only features of a batch, for ``forward(..., structure=...)``."""
        allowed = long_axis_mask(track_id, bar_index, valid, self.cfg)
        # Additive rather than boolean: CPU SDPA ran twice as fast with it (22.7 -> 11.2 ms for [16, 4, 250, 64]).
        additive = torch.zeros(allowed.shape, device=allowed.device).masked_fill_(~allowed, float("-inf"))
        return RowStructure(
            additive,
            block_rank(track_id, bar_index),
            aligned_plan(track_id, bar_index, valid) if self.cfg.copy_context else None,
        )

    def forward(
        self,
        cells: torch.Tensor,
        given: torch.Tensor,
        track_id: torch.Tensor,
        bar_index: torch.Tensor,
        valid: torch.Tensor,
        tempo: torch.Tensor,
        instruments: torch.Tensor,
        t: torch.Tensor,
        known: torch.Tensor | None = None,
        structure: RowStructure | None = None,
        density: torch.Tensor | None = None,
    ) -> SAOutput:
        """cells: token ids [B, R, 4] (long) or cell vectors [B, R, 4, e] (float); given [B, R, 4] bool;
        track_id, bar_index [B, R] long; valid [B, R] bool; tempo [B] long; instruments [B, 18] multi-hot
        (zero row = no prompt); t [B] float diffusion time on a 0-1000 scale; known [B, R, 4] the token ids
        of the cells known so far, MASK elsewhere (needed with ``chord_context`` when cells are vectors);
        ``structure``: ``self.structure(track_id, bar_index, valid)`` computed beforehand (None: here);
        ``density`` [B, R] long: each row's part density bucket (engine.model.density; None = unknown)."""
        if structure is None:
            structure = self.structure(track_id, bar_index, valid)
        chord = rhythm = aligned = None
        if self.cfg.chord_context or self.cfg.rhythm_context or self.cfg.copy_context:
            if known is None and cells.is_floating_point():
                raise ValueError("a chord, rhythm or copy context model fed cell vectors needs the known token ids")
            known = cells if known is None else known
        if self.cfg.chord_context:
            chord = sounding_chord(known, bar_index, valid, self.embedding.pc_table)
        if self.cfg.rhythm_context:
            rhythm = neighbour_onsets(known, track_id, bar_index, valid)
        if self.cfg.copy_context:
            aligned = gather_aligned(known, structure.aligned)  # type: ignore[arg-type]
        if not cells.is_floating_point():
            cells = self.embedding.embed_tokens(cells)
        B, R = cells.shape[:2]
        prompt = self.prompt(tempo, instruments)
        x = self.embedding(cells, given, track_id, bar_index, t, prompt, chord, rhythm, aligned, structure.rank, density)
        x = self.encoder(x, track_id, bar_index, valid, structure.mask)
        hidden = self.to_cells(x).view(B, R, N_COLUMNS, self.cfg.cell_embed_dim)
        return SAOutput(hidden, self.heads.logits_per_column(hidden, prompt, rhythm, aligned))
