"""Learning-rate schedule as a pure function of the step, so resuming needs no scheduler object."""

from __future__ import annotations

import math

from engine.train.config import TrainConfig


def lr_at(step: int, cfg: TrainConfig) -> float:
    """LR for optimizer step ``step`` (0-based): linear warmup to ``cfg.lr``, then cosine or linear decay
    to ``cfg.lr * cfg.min_lr_ratio`` at ``cfg.steps`` (the seed had no warmup and decayed linearly to 0)."""
    if cfg.warmup_steps > 0 and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant":
        return cfg.lr
    span = max(1, cfg.steps - cfg.warmup_steps)
    progress = min(1.0, max(0.0, (step - cfg.warmup_steps) / span))
    shape = 0.5 * (1.0 + math.cos(math.pi * progress)) if cfg.schedule == "cosine" else 1.0 - progress
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + (cfg.lr - floor) * shape
