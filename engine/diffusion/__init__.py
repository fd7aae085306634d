"""Diffusion processes over SA tables, independent of the network (selected by ModelConfig.diffusion)."""

from engine.diffusion.absorbing import AbsorbingDiffusion
from engine.diffusion.base import Diffusion, SamplingCancelled
from engine.diffusion.batch import SABatch, collate, split_tokens
from engine.diffusion.embedding import EmbeddingDiffusion
from engine.model.config import ModelConfig


def make_diffusion(cfg: ModelConfig) -> Diffusion:
    """The process a model was configured (and trained) for."""
    return AbsorbingDiffusion(cfg) if cfg.diffusion == "absorbing" else EmbeddingDiffusion(cfg)


__all__ = [
    "AbsorbingDiffusion", "Diffusion", "EmbeddingDiffusion", "SABatch", "SamplingCancelled",
    "collate", "make_diffusion", "split_tokens",
]
