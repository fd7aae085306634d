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
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import BertConfig
from transformers.models.bert.modeling_bert import BertEncoder, BertSelfAttention

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


class LongAxisSelfAttention(BertSelfAttention):
    """BERT's self-attention (same query/key/value parameters) with a per-head boolean mask and SDPA."""

    def forward(  # type: ignore[override]
        self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None, **kwargs: object
    ) -> tuple[torch.Tensor, None]:
        B, R, _ = hidden_states.shape
        q, k, v = (
            proj(hidden_states).view(B, R, self.num_attention_heads, self.attention_head_size).transpose(1, 2)
            for proj in (self.query, self.key, self.value)
        )
        p = self.dropout.p if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask, dropout_p=p)
        return y.transpose(1, 2).reshape(B, R, self.all_head_size), None


def bert_config(cfg: ModelConfig) -> BertConfig:
    return BertConfig(
        hidden_size=cfg.d_model,
        num_hidden_layers=cfg.n_layers,
        num_attention_heads=cfg.n_heads,
        intermediate_size=cfg.ffn,
        hidden_act="gelu",
        hidden_dropout_prob=cfg.dropout,
        attention_probs_dropout_prob=cfg.dropout,
        max_position_embeddings=cfg.max_rows,
        vocab_size=1,  # unused: our embedding is SAEmbedding
    )


class LongAxisEncoder(nn.Module):
    """A stack of transformers' ``BertLayer``s whose self-attention is the long-axis attention above."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        bc = bert_config(cfg)
        self.bert = BertEncoder(bc)
        for layer in self.bert.layer:
            layer.attention.self = LongAxisSelfAttention(bc)

    def forward(
        self, x: torch.Tensor, track_id: torch.Tensor, bar_index: torch.Tensor, valid: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x [B, R, d] -> [B, R, d]; ``mask``: ``long_axis_mask`` of the layout if computed beforehand."""
        mask = long_axis_mask(track_id, bar_index, valid, self.cfg) if mask is None else mask
        return self.bert(x, attention_mask=mask).last_hidden_state
