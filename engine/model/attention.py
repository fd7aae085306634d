"""Long-axis self-attention over the row layout, as a drop-in for BERT's self-attention.

The seed split BERT's 12 heads into 6 full heads and 6 heads restricted to one column (positions mod 4 of
a flat sequence). With an explicit row layout the useful restrictions are musical instead:

* ``full``  heads attend over every valid row of the window;
* ``track`` heads attend only among rows of the same track (track_id; 0 = the chord/bar rows), so a bass
  line reads its own notes and the chord rows read the progression;
* ``bar``   heads attend only among rows of the same or an adjacent bar (|bar_q - bar_k| <= 1).

All heads share one projection (BERT's query/key/value) and one SDPA call: the groups differ only in the
boolean mask of their heads. Every row may attend to itself, so no row is fully masked (no NaNs); valid
rows never attend to padded ones, and padded rows attend only to themselves.

The layers are BERT's post-LayerNorm layers (Devlin et al. 2019; the layout and parameter names of
``transformers``' BertLayer, so checkpoints written when the encoder was built from transformers load
unchanged) written out in plain torch: importing transformers' BERT pulled in about a thousand modules
(2.4 s) and held the GIL for up to 200 ms at a time while the editor loaded the model in the background.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.model.config import ModelConfig


def long_axis_mask(
    track_id: torch.Tensor, bar_index: torch.Tensor, valid: torch.Tensor, cfg: ModelConfig
) -> torch.Tensor:
    """Boolean attention mask [B, H, R, R] (True = may attend), heads ordered full, track, bar."""
    R = valid.shape[1]
    eye = torch.eye(R, dtype=torch.bool, device=valid.device)[None]
    both = valid[:, :, None] & valid[:, None, :]  # [B, R, R]: valid rows read valid rows; padding only itself
    full = both | eye
    track = (both & (track_id[:, :, None] == track_id[:, None, :])) | eye
    bar = (both & ((bar_index[:, :, None] - bar_index[:, None, :]).abs() <= 1)) | eye
    groups = [(full, cfg.n_full_heads), (track, cfg.n_track_heads), (bar, cfg.n_bar_heads)]
    return torch.cat([m[:, None].expand(-1, n, -1, -1) for m, n in groups if n], dim=1)


LAYER_NORM_EPS = 1e-12  # BERT's


class LongAxisSelfAttention(nn.Module):
    """BERT's self-attention (query/key/value projections) with a per-head boolean mask and SDPA."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.num_attention_heads = cfg.n_heads
        self.attention_head_size = d // cfg.n_heads
        self.all_head_size = d
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """[B, R, d] and a mask [B, H, R, R], bool (True = may attend) or additive float -> [B, R, d]."""
        B, R, _ = hidden_states.shape
        q, k, v = (
            proj(hidden_states).view(B, R, self.num_attention_heads, self.attention_head_size).transpose(1, 2)
            for proj in (self.query, self.key, self.value)
        )
        p = self.dropout.p if self.training else 0.0
        if attention_mask is not None and attention_mask.is_floating_point() and attention_mask.dtype != q.dtype:
            attention_mask = attention_mask.to(q.dtype)  # fp16 autocast on CUDA
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask, dropout_p=p)
        return y.transpose(1, 2).reshape(B, R, self.all_head_size)


class _Residual(nn.Module):
    """dense -> dropout -> LayerNorm(x + residual): BERT's BertSelfOutput / BertOutput."""

    def __init__(self, d_in: int, d_out: int, dropout: float) -> None:
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)
        self.LayerNorm = nn.LayerNorm(d_out, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class _Attention(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.self = LongAxisSelfAttention(cfg)
        self.output = _Residual(cfg.d_model, cfg.d_model, cfg.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(x, mask), x)


class _Intermediate(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.d_model, cfg.ffn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))  # BERT's "gelu": the exact erf form


class EncoderLayer(nn.Module):
    """One BERT layer: long-axis self-attention, then the feed-forward block, each with residual + LayerNorm."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.attention = _Attention(cfg)
        self.intermediate = _Intermediate(cfg)
        self.output = _Residual(cfg.ffn, cfg.d_model, cfg.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.attention(x, mask)
        return self.output(self.intermediate(h), h)


class _Stack(nn.Module):
    """Holds the layers as ``layer.<i>`` (transformers' BertEncoder names, so old checkpoints load)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([EncoderLayer(cfg) for _ in range(cfg.n_layers)])


class LongAxisEncoder(nn.Module):
    """A stack of BERT layers whose self-attention is the long-axis attention above."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.bert = _Stack(cfg)

    def forward(
        self, x: torch.Tensor, track_id: torch.Tensor, bar_index: torch.Tensor, valid: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x [B, R, d] -> [B, R, d]; ``mask``: ``long_axis_mask`` of the layout if computed beforehand."""
        mask = long_axis_mask(track_id, bar_index, valid, self.cfg) if mask is None else mask
        for layer in self.bert.layer:
            x = layer(x, mask)
        return x
