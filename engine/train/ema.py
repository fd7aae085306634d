"""Exponential moving average of the weights, kept as a second SAModel so it saves like any checkpoint."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Shadow weights w_ema = d w_ema + (1 - d) w, with d warmed up as min(decay, (1 + n) / (10 + n)) so
    the average is not dominated by the random initialisation early in a run."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for ema_t, t in zip(self.model.state_dict().values(), model.state_dict().values(), strict=True):
            if ema_t.is_floating_point():
                ema_t.mul_(d).add_(t.detach().to(ema_t.dtype), alpha=1 - d)
            else:
                ema_t.copy_(t)
        self.updates += 1
