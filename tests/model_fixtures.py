"""Tiny untrained models for tests that need the engine end to end without trained weights."""

from __future__ import annotations

import torch

from engine.diffusion import make_diffusion
from engine.infill import InfillModel
from engine.model.config import ModelConfig
from engine.model.network import SAModel
from engine.representation.vocab import FIRST_DURATION, FIRST_PITCH, FIRST_POS


def tiny_model(kind: str = "absorbing", seed: int = 0) -> InfillModel:
    torch.manual_seed(seed)
    cfg = ModelConfig.tiny(diffusion=kind)
    return InfillModel(SAModel(cfg).eval(), cfg, make_diffusion(cfg))


def plausible_model(seed: int = 0) -> InfillModel:
    """An untrained tiny model whose heads favour note-shaped rows (pos 0-31, a mid-range pitch, a short
    duration), so its random samples decode to notes and results can be told apart."""
    m = tiny_model(seed=seed)
    with torch.no_grad():
        for head, lo, hi in ((1, FIRST_POS, FIRST_POS + 32), (2, FIRST_PITCH + 30, FIRST_PITCH + 60), (3, FIRST_DURATION, FIRST_DURATION + 6)):
            m.model.heads.proj[head].bias[lo:hi] += 8.0
    return m
