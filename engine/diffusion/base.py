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
    """Training side of CFG: each example loses its whole prompt (tempo NULL, no instruments, densities
    unknown) with prob p."""
    if p <= 0:
        return batch
    drop = torch.rand(batch.size, generator=generator, device=batch.tempo.device) < p
    return replace(
        batch,
        tempo=torch.where(drop, torch.full_like(batch.tempo, TEMPO_NULL), batch.tempo),
        instruments=batch.instruments * (~drop)[:, None],
        density=None if batch.density is None else batch.density.masked_fill(drop[:, None], 0),
    )


class GuidedModel:
    """The model calls of one sampling run, with classifier-free guidance when ``guidance`` != 1.

    The conditional and unconditional halves share one batch. Everything but the cells and the time is
    fixed during a run, so the doubled batch and the layout's structure (``SAModel.structure``: attention
    masks, block ranks, aligned-row indices) are built once here instead of at every step."""

    def __init__(self, model: SAModel, batch: SABatch, guidance: float) -> None:
        self.model, self.guidance, self.size = model, guidance, batch.size
        self.double = guidance != 1.0
        u = batch.without_prompt()
        twice = (lambda a, b: torch.cat([a, b])) if self.double else (lambda a, _b: a)
        self.given = twice(batch.given, batch.given)
        self.track_id = twice(batch.track_id, batch.track_id)
        self.bar_index = twice(batch.bar_index, batch.bar_index)
        self.valid = twice(batch.valid, batch.valid)
        self.tempo = twice(batch.tempo, u.tempo)
        self.instruments = twice(batch.instruments, u.instruments)
        self.density = None if batch.density is None else twice(batch.density, u.density)
        self.structure = model.structure(self.track_id, self.bar_index, self.valid)

    def __call__(self, cells: torch.Tensor, t: torch.Tensor, known: torch.Tensor | None = None) -> SAOutput:
        """cells [B, R, 4] ids or [B, R, 4, e] vectors, t [B] -> the (guided) output for the B examples."""
        if self.double:
            cells, t = torch.cat([cells, cells]), torch.cat([t, t])
            known = None if known is None else torch.cat([known, known])
        out = self.model(cells, self.given, self.track_id, self.bar_index, self.valid, self.tempo,
                         self.instruments, t, known, self.structure, self.density)
        if not self.double:
            return out
        B = self.size
        hidden = guide(out.hidden[:B], out.hidden[B:], self.guidance)
        logits = [guide(lg[:B], lg[B:], self.guidance) for lg in out.logits]
        return SAOutput(hidden, logits)


def guided_forward(
    model: SAModel, cells: torch.Tensor, batch: SABatch, t: torch.Tensor, guidance: float,
    known: torch.Tensor | None = None,
) -> SAOutput:
    """One model call; with guidance != 1 the conditional and unconditional halves share one batch.
    ``known``: token ids of the known cells when ``cells`` are vectors (see SAModel.forward). Samplers
    making many calls on one batch use ``GuidedModel`` to build the fixed parts once."""
    return GuidedModel(model, batch, guidance)(cells, t, known)


class Diffusion:
    """Interface of a diffusion process over SA tables (see absorbing.py and embedding.py)."""

    kind: str = ""
    starts_from_seeds = False  # can sample part of the way from batch.seed (absorbing: yes; repeats.py)

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
        novelty: float = 1.0,
    ) -> torch.Tensor:
        """Tokens [B, R, 4]: given cells copied from batch.tokens, the others generated in `steps` model calls.
        ``novelty`` < 1: start from a share of ``batch.seed``'s rows, where ``starts_from_seeds``."""
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
