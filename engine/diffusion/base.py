"""What every diffusion process offers, and the pieces they share (guidance, prompt dropout, callbacks).

A process knows nothing of the network's insides: it calls ``model(cells, given, ...)`` and reads the
``SAOutput``. Swapping the kind is a config change (``ModelConfig.diffusion``), as in diffusers' schedulers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import torch

from engine.diffusion.batch import SABatch
from engine.model.config import ModelConfig
from engine.model.network import SAModel, SAOutput
from engine.representation.vocab import TEMPO_NULL

Progress = Callable[[int, int], None]  # (steps done, total steps)
Cancel = Callable[[], bool]  # True = stop as soon as possible


class SamplingCancelled(Exception):
    """The caller's cancel() returned True; nothing was produced. Not an error: the user asked for it."""


def guide(cond: torch.Tensor, uncond: torch.Tensor, w: float) -> torch.Tensor:
    """Classifier-free guidance uncond + w (cond - uncond); -inf logits (MASK) stay -inf instead of NaN."""
    mixed = uncond + w * (cond - uncond)
    return torch.where(torch.isinf(cond), cond, mixed)


def drop_prompt(batch: SABatch, p: float, generator: torch.Generator | None = None) -> SABatch:
    """Training side of CFG: each example loses its whole prompt (tempo NULL, no instruments) with prob p."""
    if p <= 0:
        return batch
    drop = torch.rand(batch.size, generator=generator, device=batch.tempo.device) < p
    return replace(
        batch,
        tempo=torch.where(drop, torch.full_like(batch.tempo, TEMPO_NULL), batch.tempo),
        instruments=batch.instruments * (~drop)[:, None],
    )


def guided_forward(
    model: SAModel, cells: torch.Tensor, batch: SABatch, t: torch.Tensor, guidance: float,
    known: torch.Tensor | None = None,
) -> SAOutput:
    """One model call; with guidance != 1 the conditional and unconditional halves share one batch.
    ``known``: token ids of the known cells when ``cells`` are vectors (see SAModel.forward)."""
    if guidance == 1.0:
        return model(cells, batch.given, batch.track_id, batch.bar_index, batch.valid,
                     batch.tempo, batch.instruments, t, known)
    u = batch.without_prompt()
    out = model(
        torch.cat([cells, cells]),
        torch.cat([batch.given, batch.given]),
        torch.cat([batch.track_id, batch.track_id]),
        torch.cat([batch.bar_index, batch.bar_index]),
        torch.cat([batch.valid, batch.valid]),
        torch.cat([batch.tempo, u.tempo]),
        torch.cat([batch.instruments, u.instruments]),
        torch.cat([t, t]),
        None if known is None else torch.cat([known, known]),
    )
    B = batch.size
    hidden = guide(out.hidden[:B], out.hidden[B:], guidance)
    logits = [guide(lg[:B], lg[B:], guidance) for lg in out.logits]
    return SAOutput(hidden, logits)


class Diffusion:
    """Interface of a diffusion process over SA tables (see absorbing.py and embedding.py)."""

    kind: str = ""

    def __init__(self, cfg: ModelConfig) -> None:
        self.cfg = cfg

    def loss(
        self, model: SAModel, batch: SABatch, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Training loss on one batch (prompt dropout included) and float metrics for logging."""
        raise NotImplementedError

    def sample(
        self,
        model: SAModel,
        batch: SABatch,
        steps: int = 10,
        guidance: float = 1.0,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        progress: Progress | None = None,
        cancel: Cancel | None = None,
    ) -> torch.Tensor:
        """Tokens [B, R, 4]: given cells copied from batch.tokens, the others generated in `steps` model calls."""
        raise NotImplementedError


def check_cancel(cancel: Cancel | None) -> None:
    if cancel is not None and cancel():
        raise SamplingCancelled("sampling was cancelled")



@contextmanager
def inference(model: SAModel) -> Iterator[None]:
    """Eval mode + no grad while sampling; the model's training flag is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)
